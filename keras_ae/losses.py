"""The assignments' reconstruction losses, as Keras losses and as numpy metrics.

- ``mse``: mean over pixels of (x - z)^2 (the "average mean squared error" of sheet 000/003).
- ``squared_error``: ||x - z||^2 summed over the pixels of an image (L_SE of the sheets; the
  per-image error that Hinton & Salakhutdinov report).
- ``cross_entropy``: -sum_k [x_k log z_k + (1 - x_k) log(1 - z_k)] summed over the pixels of an
  image (L_H of sheet 003; sheet 000 drops the minus sign, which would be maximised).
- ``cross_entropy_mean``: the same cross-entropy averaged over the pixels instead of summed
  (``keras.losses.BinaryCrossentropy``; PyTorch's and Paddle's default ``binary_cross_entropy``).

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


@keras.saving.register_keras_serializable(package="keras_ae")
class BernoulliCrossEntropy(keras.losses.Loss):
    """Cross-entropy of the sheet, summed over features, averaged over the batch.

    The value is the sheets' ``-sum[x log z + (1 - x) log(1 - z)]`` with ``z = sigmoid(l)``,
    computed per pixel by ``keras.ops.binary_crossentropy``. Given the output of Keras' sigmoid
    activation (a ``Dense(..., activation="sigmoid")`` or ``Activation("sigmoid")`` layer, in
    eager, ``tf.function`` or XLA code), Keras computes it from the logits ``l`` behind that output
    (``sigmoid_cross_entropy_with_logits``), whose gradient with respect to ``l`` is ``z - x``
    everywhere: a saturated output unit that is wrong (``l = -30``, ``x = 1``) gets the full
    gradient -1, where clipping ``z`` before the log would give it none. With ``from_logits=True``
    ``y_pred`` are the logits themselves.

    Probabilities that come from no sigmoid activation (a numpy array of predictions) are clipped
    by Keras to ``[epsilon, 1 - epsilon]`` (``keras.config.epsilon()``, 1e-7): right as a value,
    but without the gradient of saturated units, so train only models whose output is a sigmoid
    activation (every keras_ae model trained with this loss is; the tests check the gradient
    through them).
    """

    def __init__(self, *, from_logits: bool = False, name: str = "cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        return _per_example_sum(ops.binary_crossentropy(y_true, y_pred, from_logits=self.from_logits))

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("epsilon", None)  # saved before this loss used Keras' clipping bound (both 1e-7)
        return super().from_config(config)


@keras.saving.register_keras_serializable(package="keras_ae")
class SquaredError(keras.losses.Loss):
    """||x - z||^2 summed over features, averaged over the batch."""

    def __init__(self, name: str = "squared_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return _per_example_sum(ops.square(ops.cast(y_true, y_pred.dtype) - y_pred))


def get_loss(name: str) -> keras.losses.Loss:
    """A loss by its name in this package: mse, squared_error, cross_entropy or cross_entropy_mean."""
    losses = {
        "mse": lambda: keras.losses.MeanSquaredError(name="mse"),
        "squared_error": SquaredError,
        "cross_entropy": BernoulliCrossEntropy,
        "cross_entropy_mean": lambda: keras.losses.BinaryCrossentropy(name="cross_entropy_mean"),
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
