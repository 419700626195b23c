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

EPSILON = 1e-7


def _per_example_sum(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="keras_ae")
class BernoulliCrossEntropy(keras.losses.Loss):
    """Cross-entropy of the sheet, summed over features, averaged over the batch."""

    def __init__(self, epsilon: float = EPSILON, name: str = "cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = epsilon

    def call(self, y_true, y_pred):
        z = ops.clip(y_pred, self.epsilon, 1.0 - self.epsilon)
        y_true = ops.cast(y_true, z.dtype)
        return _per_example_sum(-(y_true * ops.log(z) + (1.0 - y_true) * ops.log(1.0 - z)))

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


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
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(losses)}")
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
