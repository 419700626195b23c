"""Network builders and the Model subclasses that train them."""

from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.dense import build_dense_autoencoder, build_mlp, make_initializers
from keras_ae.models.denoising import DenoisingAutoencoder

__all__ = ["Autoencoder", "DenoisingAutoencoder", "build_dense_autoencoder", "build_mlp", "make_initializers"]
