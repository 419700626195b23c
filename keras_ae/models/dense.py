"""Fully-connected (MLP) networks built with the functional API."""

from __future__ import annotations

from typing import Sequence

import keras

from keras_ae.models.autoencoder import Autoencoder

INITIALIZERS = ("normal", "glorot", "keras")


def make_initializers(init: str, normal_stddev: float = 1.0, seed: int | None = None):
    """Kernel and bias initialisers for the sheets' two schemes.

    ``normal`` (sheet 000/003 task 2): weights *and* biases ~ N(0, normal_stddev^2); the sheets'
    ``tf.random_normal()`` has standard deviation 1. ``glorot`` (sheet 003 task 5): Xavier/Glorot
    uniform weights; the task only replaces the weight matrices, so biases stay N(0, stddev^2).
    ``keras``: Keras' Dense defaults, Glorot-uniform weights and zero biases (for sheets that
    name no initialisation, such as the Fashion-MNIST autoencoder of sheet 001).
    """
    if init not in INITIALIZERS:
        raise ValueError(f"unknown initialiser {init!r}; choose one of {', '.join(INITIALIZERS)}")
    if init == "keras":
        return keras.initializers.GlorotUniform(seed=seed), keras.initializers.Zeros()
    bias = keras.initializers.RandomNormal(0.0, normal_stddev, seed=seed)
    if init == "normal":
        kernel = keras.initializers.RandomNormal(0.0, normal_stddev, seed=seed)
    else:
        kernel = keras.initializers.GlorotUniform(seed=seed)
    return kernel, bias


def build_mlp(input_dim: int, units: Sequence[int], activations: Sequence[str | None], name: str,
              kernel_initializer="glorot_uniform", bias_initializer="zeros",
              input_name: str = "x") -> keras.Model:
    """A functional stack of Dense layers, one activation per layer."""
    if len(units) != len(activations):
        raise ValueError(f"{len(units)} layer sizes but {len(activations)} activations")
    inputs = keras.Input(shape=(input_dim,), name=input_name)
    h = inputs
    for i, (n, act) in enumerate(zip(units, activations)):
        h = keras.layers.Dense(n, activation=act, kernel_initializer=kernel_initializer,
                               bias_initializer=bias_initializer, name=f"{name}_dense_{i}")(h)
    return keras.Model(inputs, h, name=name)


def build_dense_autoencoder(
    input_dim: int = 784,
    encoder_units: Sequence[int] = (256, 128),
    decoder_units: Sequence[int] = (256,),
    activation: str = "sigmoid",
    code_activation: str | None = "same",
    output_activation: str = "sigmoid",
    init: str = "glorot",
    normal_stddev: float = 1.0,
    seed: int | None = None,
    bias_initializer=None,
    name: str = "autoencoder",
    model_class: type[Autoencoder] = Autoencoder,
    **model_kwargs,
) -> Autoencoder:
    """An MLP autoencoder: ``encoder_units`` ending in the code, then ``decoder_units`` hidden
    layers and an output layer of ``input_dim`` units.

    ``code_activation="same"`` uses ``activation`` on the code layer too; ``None`` makes it
    linear. ``init`` is ``"normal"``, ``"glorot"`` or ``"keras"`` (see :func:`make_initializers`);
    ``bias_initializer`` (e.g. ``"zeros"``) replaces that scheme's biases.
    """
    kernel, bias = make_initializers(init, normal_stddev, seed)
    if bias_initializer is not None:
        bias = bias_initializer
    code_act = activation if code_activation == "same" else code_activation
    encoder = build_mlp(input_dim, encoder_units,
                        [activation] * (len(encoder_units) - 1) + [code_act],
                        name="encoder", kernel_initializer=kernel, bias_initializer=bias)
    decoder = build_mlp(encoder_units[-1], [*decoder_units, input_dim],
                        [activation] * len(decoder_units) + [output_activation],
                        name="decoder", kernel_initializer=kernel, bias_initializer=bias,
                        input_name="z")
    return model_class(encoder, decoder, name=name, **model_kwargs)
