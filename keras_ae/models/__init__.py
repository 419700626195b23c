"""Network builders and the Model subclasses that train them."""

from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.dense import build_dense_autoencoder, build_mlp, make_initializers

__all__ = ["Autoencoder", "build_dense_autoencoder", "build_mlp", "make_initializers"]
