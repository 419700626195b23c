"""keras_ae: classic autoencoder assignments in Keras 3 / TensorFlow.

Importing the package is cheap; TensorFlow is imported by the sub-modules that need it.
"""

__version__ = "0.1.0"

from keras_ae.errors import DataError, KerasAEError, ModelLoadError, TrainingDivergedError

__all__ = ["DataError", "KerasAEError", "ModelLoadError", "TrainingDivergedError", "__version__"]
