"""keras_ae: classic autoencoder assignments in Keras 3 / TensorFlow.

Importing the package is cheap; TensorFlow is imported by the sub-modules that need it, quietly
(keras_ae/_quiet.py: no TensorFlow/absl/CUDA start-up lines unless ``KERAS_AE_VERBOSE=1`` or a
``TF_CPP_MIN_LOG_LEVEL`` of your own asks for them).
"""

from keras_ae import _quiet

_quiet.install()  # before any sub-module imports TensorFlow

__version__ = "0.1.0"

from keras_ae.errors import DataError, KerasAEError, ModelLoadError, TrainingDivergedError  # noqa: E402

__all__ = ["DataError", "KerasAEError", "ModelLoadError", "TrainingDivergedError", "__version__"]
