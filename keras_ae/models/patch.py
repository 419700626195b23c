"""The patch autoencoder of question G: an MLP on flattened size x size frames of an image,
exported with whole-image ``compress_image`` / ``decompress_image`` endpoints."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_ae.errors import ConfigError
from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.dense import build_mlp


@keras.saving.register_keras_serializable(package="keras_ae")
class PatchAutoencoder(Autoencoder):
    """An autoencoder of ``patch_size**2`` values that also knows the image it cuts into frames.

    Besides ``encode`` / ``decode`` / ``reconstruct`` on flattened frames, the SavedModel has
    (``F`` frames of an ``H x W`` image, ``U`` code units; values in [-1, 1]):

    - ``compress_image(images (N, H, W)) -> {"codes": (N, F, U)}``, frames row-major;
    - ``decompress_image(codes (N, F, U)) -> {"images": (N, H, W)}``;
    - ``quantize(codes (N, F, U), bits ()) -> {"indices": int32 0 .. 2**bits - 1}`` and
      ``dequantize(indices, bits) -> {"codes": levels}``, the uniform quantiser of
      :mod:`keras_ae.compression` (2**bits levels, bin centres over [-1, 1]).
    """

    def __init__(self, encoder, decoder, image_shape=(256, 256), patch_size: int = 8, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.patch_size = int(patch_size)
        if any(s % self.patch_size for s in self.image_shape):
            raise ConfigError(f"image shape {self.image_shape} does not split into {patch_size}x{patch_size} frames")
        if self.sample_shape != (self.patch_size ** 2,):
            raise ConfigError(f"the encoder takes {self.sample_shape}, but {patch_size}x{patch_size} frames "
                             f"have {self.patch_size ** 2} values")

    @property
    def frames(self) -> int:
        return (self.image_shape[0] // self.patch_size) * (self.image_shape[1] // self.patch_size)

    def compress_images(self, images):
        from keras_ae.compression import tf_image_to_patches

        patches = tf_image_to_patches(tf.cast(images, tf.float32), self.patch_size)
        n = tf.shape(patches)[0]
        codes = self.encoder(tf.reshape(patches, (-1, self.patch_size ** 2)), training=False)
        return tf.reshape(codes, tf.stack([n, self.frames, self.code_shape[0]]))

    def decompress_images(self, codes):
        from keras_ae.compression import tf_patches_to_image

        n = tf.shape(codes)[0]
        patches = self.decoder(tf.reshape(tf.cast(codes, tf.float32), (-1, self.code_shape[0])), training=False)
        patches = tf.reshape(patches, tf.stack([n, self.frames, self.patch_size ** 2]))
        return tf_patches_to_image(patches, self.image_shape, self.patch_size)

    def export_endpoints(self) -> dict:
        from keras_ae.compression import tf_dequantize, tf_quantize

        endpoints = super().export_endpoints()
        image_spec = tf.TensorSpec((None, *self.image_shape), tf.float32, name="images")
        codes_spec = tf.TensorSpec((None, self.frames, self.code_shape[0]), tf.float32, name="codes")
        index_spec = tf.TensorSpec((None, self.frames, self.code_shape[0]), tf.int32, name="indices")
        bits_spec = tf.TensorSpec((), tf.int32, name="bits")
        endpoints.update(
            compress_image=(lambda images: {"codes": self.compress_images(images)}, [image_spec]),
            decompress_image=(lambda codes: {"images": self.decompress_images(codes)}, [codes_spec]),
            quantize=(lambda codes, bits: {"indices": tf_quantize(codes, bits)}, [codes_spec, bits_spec]),
            dequantize=(lambda indices, bits: {"codes": tf_dequantize(indices, bits)}, [index_spec, bits_spec]),
        )
        return endpoints

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape), "patch_size": self.patch_size}


def build_patch_autoencoder(patch_size: int = 8, code_units: int = 16, image_shape=(256, 256),
                            activation: str = "tanh", output_activation: str | None = "same", hidden_units=(),
                            seed: int | None = None, name: str = "patch_autoencoder") -> PatchAutoencoder:
    """An MLP autoencoder of an image's square patches (question G).

    MLP ``p*p - [hidden] - code_units - [hidden reversed] - p*p``, ``activation`` on every layer
    (tanh: codes and outputs in [-1, 1]) except the output layer when ``output_activation`` is
    not ``"same"`` (``"linear"`` or ``None``: a linear output); Glorot-uniform weights, zero biases."""
    dim = patch_size ** 2
    kernel = keras.initializers.GlorotUniform(seed=seed)
    hidden = tuple(hidden_units)
    out_act = activation if output_activation == "same" else output_activation
    encoder = build_mlp(dim, [*hidden, code_units], [activation] * (len(hidden) + 1), name="encoder",
                        kernel_initializer=kernel)
    decoder = build_mlp(code_units, [*reversed(hidden), dim], [activation] * len(hidden) + [out_act],
                        name="decoder", kernel_initializer=kernel, input_name="z")
    return PatchAutoencoder(encoder, decoder, image_shape=image_shape, patch_size=patch_size, name=name)
