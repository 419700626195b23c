"""keras_ae: classic autoencoder assignments in Keras 3 / TensorFlow.

Importing the package is cheap and changes nothing else: TensorFlow is imported by the
sub-modules that need it, with its own logging. The commands (``keras-ae``, the question scripts)
are quiet: keras_ae/_quiet.py hides TensorFlow/absl/CUDA start-up lines from them unless
``KERAS_AE_VERBOSE=1`` or a ``TF_CPP_MIN_LOG_LEVEL`` of your own asks for them.
"""

__version__ = "0.1.0"

from keras_ae.errors import DataError, KerasAEError, ModelLoadError, TrainingDivergedError  # noqa: E402

__all__ = ["DataError", "KerasAEError", "ModelLoadError", "TrainingDivergedError", "__version__"]
