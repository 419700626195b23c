"""Convolutional networks built with the functional API: a Conv2D encoder, a Conv2DTranspose
decoder, and the autoencoder that joins them (question D, MNIST-M)."""

from __future__ import annotations

from typing import Sequence

import keras

from keras_ae.errors import ConfigError
from keras_ae.models.autoencoder import Autoencoder


def build_conv_encoder(input_shape: Sequence[int] = (28, 28, 3), filters: Sequence[int] = (32, 64),
                       code_channels: int = 16, kernel_size: int = 3, activation: str = "relu",
                       name: str = "encoder") -> keras.Model:
    """A convolutional encoder: images to a code of feature maps.

    ``Conv2D`` layers of stride 2 (each halves height and width; "same" padding), then a
    stride-1 ``Conv2D`` to ``code_channels`` feature maps with a linear activation: the code.

    28x28x3 with ``filters=(32, 64)`` and 16 code channels gives a 7x7x16 code (784 values, a
    third of the 2,352 inputs).
    """
    h, w = input_shape[0], input_shape[1]
    factor = 2 ** len(filters)
    if h % factor or w % factor:
        raise ConfigError(f"input {h}x{w} is not divisible by 2^{len(filters)} = {factor} "
                          f"({len(filters)} stride-2 layers); use fewer filters entries")
    inputs = keras.Input(shape=tuple(input_shape), name="x")
    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, kernel_size, strides=2, padding="same", activation=activation,
                                name=f"{name}_conv_{i}")(x)
    code = keras.layers.Conv2D(code_channels, kernel_size, strides=1, padding="same", activation=None,
                               name=f"{name}_code")(x)
    return keras.Model(inputs, code, name=name)


def build_conv_decoder(code_shape: Sequence[int], output_channels: int = 3, filters: Sequence[int] = (64, 32),
                       kernel_size: int = 3, activation: str = "relu", output_activation: str = "sigmoid",
                       name: str = "decoder") -> keras.Model:
    """A convolutional decoder: a code of feature maps back to images.

    ``Conv2DTranspose`` layers of stride 2 (each doubles height and width), then a stride-1
    ``Conv2DTranspose`` to ``output_channels`` with ``output_activation`` (sigmoid for [0, 1]
    images). The mirror image of :func:`build_conv_encoder`."""
    inputs = keras.Input(shape=tuple(code_shape), name="z")
    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2DTranspose(f, kernel_size, strides=2, padding="same", activation=activation,
                                         name=f"{name}_deconv_{i}")(x)
    outputs = keras.layers.Conv2DTranspose(output_channels, kernel_size, strides=1, padding="same",
                                           activation=output_activation, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_conv_autoencoder(input_shape: Sequence[int] = (28, 28, 3), filters: Sequence[int] = (32, 64),
                           code_channels: int = 16, kernel_size: int = 3, activation: str = "relu",
                           output_activation: str = "sigmoid", name: str = "conv_autoencoder",
                           model_class: type[Autoencoder] = Autoencoder, **model_kwargs) -> Autoencoder:
    """Conv encoder + transposed-conv decoder whose output has the input's shape."""
    encoder = build_conv_encoder(input_shape, filters, code_channels, kernel_size, activation)
    decoder = build_conv_decoder(tuple(encoder.outputs[0].shape[1:]), input_shape[-1], tuple(reversed(filters)),
                                 kernel_size, activation, output_activation)
    return model_class(encoder, decoder, name=name, **model_kwargs)
