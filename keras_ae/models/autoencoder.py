"""The Autoencoder model: a functional encoder and decoder joined, serialisable, exportable."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_ae.errors import ConfigError


@keras.saving.register_keras_serializable(package="keras_ae")
class Autoencoder(keras.Model):
    """``decoder(encoder(x))`` trained on plain reconstruction with ``compile(loss=...)``/``fit``.

    ``encoder`` and ``decoder`` are functional ``keras.Model``s; they stay reachable as
    attributes, are saved with the model and give the SavedModel endpoints ``encode``,
    ``decode`` and ``reconstruct``. Subclasses override ``train_step`` where training is not
    plain reconstruction.

    ``minibatch_size`` (optional) fuses several optimizer steps into one call of ``train_step``:
    each batch that ``fit`` hands over is cut into consecutive minibatches of that size (the last
    one may be smaller) and the optimizer makes one update per minibatch, all inside one compiled
    (XLA, with ``jit_compile=True``) program. Fed batches of ``k * minibatch_size`` from
    :func:`keras_ae.data.make_dataset`, training sees the very same minibatches, in the same order,
    with the same updates as plain ``fit`` on batches of ``minibatch_size``; only Keras' per-step
    overhead (one dispatch, one iterator call, one metrics read per minibatch) is paid once per
    ``k`` steps. Batch-level callbacks then fire once per ``k`` steps.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, minibatch_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        if minibatch_size is not None:
            if int(minibatch_size) < 1:
                raise ConfigError(f"minibatch_size must be at least 1, got {minibatch_size}")
            if type(self).train_step is not Autoencoder.train_step:
                raise ConfigError(f"{type(self).__name__} has its own train_step; minibatch_size works only with "
                                  "Autoencoder's plain reconstruction step")
            minibatch_size = int(minibatch_size)
        self.minibatch_size = minibatch_size
        # Functional sub-models are built already; a custom train_step may never call self().
        self.built = True

    def call(self, inputs, training=False):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:  # a dataset of inputs alone: the input is the target
            y = x
        if not self.minibatch_size:
            return super().train_step((x, y, sample_weight))
        if self.distribute_strategy.num_replicas_in_sync > 1:
            raise ConfigError("minibatch_size (fused steps) runs on one device; build the model with "
                              "minibatch_size=None under a multi-device strategy")
        return self._fused_train_step(x, y, sample_weight)

    def _fused_train_step(self, x, y, sample_weight):
        """One optimizer update per minibatch of ``self.minibatch_size`` consecutive rows.

        The whole minibatches run in a ``tf.while_loop``; the rows left over (fewer than one
        minibatch, at the end of an epoch) make one more, smaller step, exactly as the last
        batch of plain ``fit`` does. Under XLA the batch's shape is known when it compiles, so
        every minibatch has a static shape.
        """
        size = self.minibatch_size
        n = tf.shape(x)[0]
        full = n // size
        variables = self.trainable_weights

        def minibatches(t):
            # (full, size, ...); at least one minibatch of zeros when the batch is shorter than one, so
            # that XLA can compile the loop body (it then runs zero times)
            t = tf.convert_to_tensor(t)
            blocks = tf.maximum(full, 1)
            t = tf.pad(t[: full * size], [[0, (blocks - full) * size]] + [[0, 0]] * (t.shape.rank - 1))
            return tf.reshape(t, tf.concat([[blocks, size], tf.shape(t)[1:]], axis=0))

        def update(xb, yb, wb):
            with tf.GradientTape() as tape:
                y_pred = self(xb, training=True)
                loss = self.compute_loss(x=xb, y=yb, y_pred=y_pred, sample_weight=wb, training=True)
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(xb)[0])
            grads = tape.gradient(self.optimizer.scale_loss(loss), variables)
            self.optimizer.apply(grads, variables)
            self.compute_metrics(xb, yb, y_pred, sample_weight=wb)

        xs, ys = minibatches(x), minibatches(y)
        ws = None if sample_weight is None else minibatches(sample_weight)

        def step(i):
            update(xs[i], ys[i], None if ws is None else ws[i])
            return (i + 1,)

        tf.while_loop(lambda i: i < full, step, (tf.constant(0),))

        def rest():
            tail = full * size
            update(x[tail:], y[tail:], None if sample_weight is None else sample_weight[tail:])
            return tf.constant(0)

        tf.cond(full * size < n, rest, lambda: tf.constant(0))
        return self.get_metrics_result()

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
            minibatch_size=self.minibatch_size,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"), custom_objects=custom_objects)
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"), custom_objects=custom_objects)
        return cls(encoder=encoder, decoder=decoder, **config)
