"""Network builders and the Model subclasses that train them."""

from keras_ae.models.adversarial import AdversarialAutoencoder, build_adversarial_autoencoder
from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.classifier import EncoderClassifier, build_encoder_classifier, copy_model
from keras_ae.models.conv import build_conv_autoencoder, build_conv_decoder, build_conv_encoder
from keras_ae.models.dense import build_dense_autoencoder, build_mlp, make_initializers
from keras_ae.models.denoising import DenoisingAutoencoder
from keras_ae.models.gan import GAN, build_discriminator, build_generator
from keras_ae.models.patch import PatchAutoencoder, build_patch_autoencoder
from keras_ae.models.rbm import RBM, build_rbm_stack, compile_rbm, hidden_probabilities, rbm_callbacks, unroll_rbm_stack
from keras_ae.models.variational import VariationalAutoencoder, build_vae

__all__ = [
    "GAN", "RBM", "AdversarialAutoencoder", "Autoencoder", "DenoisingAutoencoder", "EncoderClassifier", "PatchAutoencoder",
    "VariationalAutoencoder", "build_vae",
    "build_adversarial_autoencoder", "build_conv_autoencoder", "build_conv_decoder", "build_conv_encoder",
    "build_dense_autoencoder", "build_discriminator", "build_encoder_classifier", "build_generator", "build_mlp",
    "build_patch_autoencoder", "build_rbm_stack", "compile_rbm", "copy_model", "hidden_probabilities",
    "make_initializers", "rbm_callbacks", "unroll_rbm_stack",
]
