"""A classifier on top of an (optionally pretrained) encoder: question I's fine-tuned network."""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

from keras_ae.errors import ConfigError
from keras_ae.models.dense import build_mlp
from keras_ae.models.fused import FusedSteps


def copy_model(model: keras.Model, name: str | None = None) -> keras.Model:
    """A functional model's twin with its own variables holding the same values.

    Fine-tuning the copy leaves the original (the pretrained autoencoder's encoder) untouched.
    """
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    if name is not None:
        twin.name = name
    return twin


@keras.saving.register_keras_serializable(package="keras_ae")
class EncoderClassifier(FusedSteps, keras.Model):
    """``head(encoder(x))``: class probabilities from a functional encoder and a softmax head.

    Trained with ``compile(loss="sparse_categorical_crossentropy")`` / ``fit``. The SavedModel
    has ``classify`` (x -> class probabilities), ``predict_class`` (x -> int32 class) and
    ``encode`` (x -> the encoder's code). ``minibatch_size`` fuses several optimizer steps into
    one compiled call (:mod:`keras_ae.models.fused`).
    """

    def __init__(self, encoder: keras.Model, head: keras.Model, minibatch_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self._init_fused_steps(minibatch_size)
        self.encoder = encoder
        self.head = head
        self.build()  # both parts are built functional models: so is the whole, before any call

    def call(self, inputs, training=False):
        return self.head(self.encoder(inputs, training=training), training=training)

    def build(self, input_shape=None):
        self.built = True

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.encoder.inputs[0].shape[1:])

    def export_endpoints(self) -> dict:
        x_spec = [tf.TensorSpec((None, *self.sample_shape), tf.float32, name="x")]
        return {
            "classify": (lambda x: {"probabilities": self(x, training=False)}, x_spec),
            "predict_class": (lambda x: {"classes": tf.argmax(self(x, training=False), axis=-1, output_type=tf.int32)},
                              x_spec),
            "encode": (lambda x: {"codes": self.encoder(x, training=False)}, x_spec),
        }

    def get_config(self):
        config = super().get_config()
        config.update(encoder=keras.saving.serialize_keras_object(self.encoder),
                      head=keras.saving.serialize_keras_object(self.head), **self._fused_config())
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"), custom_objects=custom_objects)
        head = keras.saving.deserialize_keras_object(config.pop("head"), custom_objects=custom_objects)
        return cls(encoder=encoder, head=head, **config)


HEAD_INITIALIZERS = ("glorot", "zeros")


def build_encoder_classifier(encoder: keras.Model, num_classes: int = 10, hidden_units: Sequence[int] = (),
                             freeze_encoder: bool = False, copy: bool = True, seed: int | None = None,
                             head_init: str = "glorot", name: str = "classifier",
                             minibatch_size: int | None = None) -> EncoderClassifier:
    """A classifier: an encoder under a new softmax head (question I).

    The encoder (copied by default, so the given one is never changed) under a head of
    ``hidden_units`` ReLU layers and a ``num_classes`` softmax layer. ``freeze_encoder`` keeps
    the encoder's weights fixed in training (a probe of the code). ``head_init``: Glorot-uniform
    kernels, or ``"zeros"`` (every class equally likely at the start, and no gradient reaches
    the encoder before the head has learned something)."""
    if head_init not in HEAD_INITIALIZERS:
        raise ConfigError(f"unknown head initialiser {head_init!r}; choose one of {', '.join(HEAD_INITIALIZERS)}")
    if copy:
        encoder = copy_model(encoder)
    encoder.trainable = not freeze_encoder
    code_dim = int(encoder.outputs[0].shape[-1])
    kernel = keras.initializers.GlorotUniform(seed=seed) if head_init == "glorot" else keras.initializers.Zeros()
    head = build_mlp(code_dim, [*hidden_units, num_classes], ["relu"] * len(hidden_units) + ["softmax"],
                     name="head", kernel_initializer=kernel, input_name="code")
    return EncoderClassifier(encoder, head, name=name, minibatch_size=minibatch_size)
