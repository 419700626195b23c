"""The assignments' reconstruction losses, as Keras losses and as numpy metrics.

- ``mse``: mean over pixels of (x - z)^2 (the "average mean squared error" of sheet 000/003).
- ``squared_error``: ||x - z||^2 summed over the pixels of an image (L_SE of the sheets; the
  per-image error that Hinton & Salakhutdinov report).
- ``cross_entropy``: -sum_k [x_k log z_k + (1 - x_k) log(1 - z_k)] summed over the pixels of an
  image (L_H of sheet 003; sheet 000 drops the minus sign, which would be maximised).

Keras losses average the per-image value over the batch.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_ae.errors import ConfigError

__all__ = ["BernoulliCrossEntropy", "SquaredError", "cross_entropy_per_image", "get_loss", "mse_per_pixel",
           "squared_error_per_image"]

EPSILON = 1e-7


def _per_example_sum(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


def sigmoid_logits(y_pred):
    """The logits behind ``y_pred`` if it is the output of Keras' sigmoid activation, else None.

    ``keras.activations.sigmoid`` (a ``Dense(..., activation="sigmoid")`` layer, an
    ``Activation("sigmoid")`` layer) records its input on the output tensor as
    ``_keras_logits``; the record survives functional sub-models, ``tf.function`` and XLA, and is
    what Keras' own ``binary_crossentropy`` reads.
    """
    return getattr(y_pred, "_keras_logits", None)


@keras.saving.register_keras_serializable(package="keras_ae")
class BernoulliCrossEntropy(keras.losses.Loss):
    """Cross-entropy of the sheet, summed over features, averaged over the batch.

    The value is the sheets' ``-sum[x log z + (1 - x) log(1 - z)]`` with ``z = sigmoid(l)``, but it
    is computed from the output layer's logits ``l`` in the log-sigmoid form
    ``sum[softplus(l) - x l]``, whose gradient with respect to ``l`` is ``z - x`` everywhere: a
    saturated output unit that is wrong (``l = -30``, ``x = 1``) gets the full gradient -1, where
    clipping ``z`` before the log would give it none.

    ``y_pred`` is a model's sigmoid output (its logits are read from it, see
    :func:`sigmoid_logits`), or logits themselves with ``from_logits=True``. Probabilities that
    carry no logits (a numpy array of predictions, Keras' shape-inference placeholders) are
    turned into logits after clipping to ``[epsilon, 1 - epsilon]``: right as a value, but without
    the gradient of saturated units, so train only models whose output is a sigmoid activation
    (every keras_ae model trained with this loss is; the tests check the gradient through them).
    """

    def __init__(self, epsilon: float = EPSILON, from_logits: bool = False, name: str = "cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = epsilon
        self.from_logits = bool(from_logits)

    def logits(self, y_pred):
        if self.from_logits:
            return y_pred
        logits = sigmoid_logits(y_pred)
        if logits is not None:
            return logits
        z = ops.clip(y_pred, self.epsilon, 1.0 - self.epsilon)
        return ops.log(z) - ops.log1p(-z)

    def call(self, y_true, y_pred):
        logits = self.logits(y_pred)
        y_true = ops.cast(y_true, logits.dtype)
        return _per_example_sum(ops.softplus(logits) - y_true * logits)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="keras_ae")
class SquaredError(keras.losses.Loss):
    """||x - z||^2 summed over features, averaged over the batch."""

    def __init__(self, name: str = "squared_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return _per_example_sum(ops.square(ops.cast(y_true, y_pred.dtype) - y_pred))


def get_loss(name: str) -> keras.losses.Loss:
    """A loss by its name in this package: mse, squared_error or cross_entropy."""
    losses = {
        "mse": lambda: keras.losses.MeanSquaredError(name="mse"),
        "squared_error": SquaredError,
        "cross_entropy": BernoulliCrossEntropy,
    }
    if name not in losses:
        raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(losses)}")
    return losses[name]()


# numpy versions, for reports and hand checks (inputs (N, ...) in the model's value range)

def mse_per_pixel(x, z) -> float:
    """Mean over images and pixels of (x - z)^2."""
    return float(np.mean((np.asarray(x, np.float64) - np.asarray(z, np.float64)) ** 2))


def squared_error_per_image(x, z) -> float:
    """Mean over images of the sum over pixels of (x - z)^2."""
    d = np.asarray(x, np.float64) - np.asarray(z, np.float64)
    return float(np.mean(np.sum(d.reshape(len(d), -1) ** 2, axis=1)))


def cross_entropy_per_image(x, z, epsilon: float = EPSILON) -> float:
    """Mean over images of -sum_k [x log z + (1 - x) log(1 - z)]."""
    x = np.asarray(x, np.float64)
    z = np.clip(np.asarray(z, np.float64), epsilon, 1.0 - epsilon)
    ce = -(x * np.log(z) + (1.0 - x) * np.log(1.0 - z))
    return float(np.mean(np.sum(ce.reshape(len(ce), -1), axis=1)))
