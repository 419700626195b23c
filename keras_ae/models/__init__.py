"""Network builders and the Model subclasses that train them."""

from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.dense import build_dense_autoencoder, build_mlp, make_initializers
from keras_ae.models.gan import GAN, build_discriminator, build_generator

__all__ = ["Autoencoder", "GAN", "build_dense_autoencoder", "build_discriminator", "build_generator", "build_mlp",
           "make_initializers"]
