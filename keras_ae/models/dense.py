"""Fully-connected (MLP) networks built with the functional API."""

from __future__ import annotations

import zlib
from typing import Sequence

import keras

from keras_ae.errors import ConfigError
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
        raise ConfigError(f"unknown initialiser {init!r}; choose one of {', '.join(INITIALIZERS)}")
    if init == "keras":
        return keras.initializers.GlorotUniform(seed=seed), keras.initializers.Zeros()
    bias = keras.initializers.RandomNormal(0.0, normal_stddev, seed=seed)
    if init == "normal":
        kernel = keras.initializers.RandomNormal(0.0, normal_stddev, seed=seed)
    else:
        kernel = keras.initializers.GlorotUniform(seed=seed)
    return kernel, bias


def layer_seed(seed: int, key: str) -> int:
    """A seed for the layer named ``key`` derived from the run's ``seed``: stable across runs and
    processes, different for every layer name."""
    return zlib.crc32(f"{int(seed)}/{key}".encode()) & 0x7FFFFFFF


def layer_initializer(initializer, key: str):
    """An initializer of its own for the layer named ``key``.

    A Keras random initializer draws statelessly from its seed, so one object called by several
    layers gives every layer of the same shape the *same* values (and an unseeded one picks its
    seed once, when it is made). Every layer therefore gets a copy: a seeded initializer's copy
    gets the seed :func:`layer_seed` derives from its own and ``key``; an unseeded one's copy
    draws a fresh seed (from Python's random state, which ``keras.utils.set_random_seed`` seeds).
    Names (``"zeros"``) and non-random initializers pass through.
    """
    if not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    config = initializer.get_config()
    if "seed" not in config:  # Zeros, Constant, ...: nothing random
        return initializer
    if isinstance(config["seed"], int):
        config["seed"] = layer_seed(config["seed"], key)
    return type(initializer).from_config(config)


def build_mlp(input_dim: int, units: Sequence[int], activations: Sequence[str | None], name: str,
              kernel_initializer="glorot_uniform", bias_initializer="zeros",
              input_name: str = "x") -> keras.Model:
    """A functional stack of Dense layers, one activation per layer.

    Every layer's kernel and bias get initializers of their own (:func:`layer_initializer`), so
    a seeded initializer passed here starts no two layers as copies."""
    if len(units) != len(activations):
        raise ConfigError(f"{len(units)} layer sizes but {len(activations)} activations")
    inputs = keras.Input(shape=(input_dim,), name=input_name)
    h = inputs
    for i, (n, act) in enumerate(zip(units, activations)):
        layer = f"{name}_dense_{i}"
        h = keras.layers.Dense(n, activation=act, kernel_initializer=layer_initializer(kernel_initializer, f"{layer}/kernel"),
                               bias_initializer=layer_initializer(bias_initializer, f"{layer}/bias"), name=layer)(h)
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
    """A fully-connected (MLP) :class:`Autoencoder`.

    An MLP autoencoder: ``encoder_units`` ending in the code, then ``decoder_units`` hidden
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
