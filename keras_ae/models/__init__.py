"""Network builders and the Model subclasses that train them."""

from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.classifier import EncoderClassifier, build_encoder_classifier, copy_model
from keras_ae.models.dense import build_dense_autoencoder, build_mlp, make_initializers
from keras_ae.models.patch import PatchAutoencoder, build_patch_autoencoder

__all__ = ["Autoencoder", "EncoderClassifier", "PatchAutoencoder", "build_dense_autoencoder",
           "build_encoder_classifier", "build_mlp", "build_patch_autoencoder", "copy_model", "make_initializers"]
