"""The Autoencoder model: a functional encoder and decoder joined, serialisable, exportable."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_ae.models.fused import FusedSteps


@keras.saving.register_keras_serializable(package="keras_ae")
class Autoencoder(FusedSteps, keras.Model):
    """``decoder(encoder(x))`` trained on plain reconstruction with ``compile(loss=...)``/``fit``.

    ``encoder`` and ``decoder`` are functional ``keras.Model``s; they stay reachable as
    attributes, are saved with the model and give the SavedModel endpoints ``encode``,
    ``decode`` and ``reconstruct``. Subclasses override ``train_step`` where training is not
    plain reconstruction.

    ``minibatch_size`` (optional) fuses several optimizer steps into one compiled call
    (:mod:`keras_ae.models.fused`): each batch that ``fit`` hands over is cut into consecutive
    minibatches of that size and ``train_step`` (this class's or a subclass's) runs once per
    minibatch. Fed by :func:`keras_ae.data.make_dataset` with ``steps_per_batch=k``, training
    sees the very same minibatches, in the same order, with the same updates as plain ``fit`` on
    batches of ``minibatch_size``.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, minibatch_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self._init_fused_steps(minibatch_size)
        # Functional sub-models are built already; a custom train_step may never call self().
        self.built = True

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:  # a dataset of inputs alone: the input is the target
            y = x
        return super().train_step((x, y, sample_weight))

    @property
    def sample_shape(self) -> tuple:
        """Shape of one input (and one reconstruction), without the batch axis."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def code_shape(self) -> tuple:
        return tuple(self.encoder.outputs[0].shape[1:])

    def export_endpoints(self) -> dict:
        """name -> (function, input signature) for :func:`keras_ae.export.export_model`.

        Every function returns a dict ``{output name: tensor}``, so the SavedModel's signatures
        (and TFLite's) name their outputs: ``encode`` -> ``codes``, ``decode`` and
        ``reconstruct`` -> ``reconstruction``."""
        x_spec = [tf.TensorSpec((None, *self.sample_shape), tf.float32, name="x")]
        z_spec = [tf.TensorSpec((None, *self.code_shape), tf.float32, name="z")]
        return {
            "encode": (lambda x: {"codes": self.encoder(x, training=False)}, x_spec),
            "decode": (lambda z: {"reconstruction": self.decoder(z, training=False)}, z_spec),
            "reconstruct": (lambda x: {"reconstruction": self(x, training=False)}, x_spec),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            **self._fused_config(),
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"), custom_objects=custom_objects)
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"), custom_objects=custom_objects)
        return cls(encoder=encoder, decoder=decoder, **config)
