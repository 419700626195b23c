"""Several optimizer steps per compiled call, for every keras_ae model (``minibatch_size``).

On a CPU, Keras' ``fit`` pays a fixed cost per step (one dispatch of the compiled step, one
``tf.data`` iterator call, one read of the metrics, the callbacks); for the small networks of the
course that cost is as large as the step itself. :class:`FusedSteps` removes it without changing
what training does: ``fit`` hands the model batches of ``k * minibatch_size`` rows, and one
compiled call cuts each into consecutive minibatches of ``minibatch_size`` rows and runs the
model's own ``train_step`` once per minibatch, in order, inside a ``tf.while_loop`` (the last
minibatch of an epoch may be smaller, exactly as plain ``fit``'s last batch is). The model's
``train_step`` is untouched: plain reconstruction, the denoising step, the adversarial
autoencoder's three phases, the GAN's ``k + 1`` updates and the VAE's step all fuse the same way,
with the same minibatches, random draws, updates and metrics as one ``train_step`` per call.

Feed it with :func:`keras_ae.data.make_dataset` ``(batch_size=minibatch_size, steps_per_batch=k)``:
its batches of ``k`` minibatches hold exactly the minibatches, in the order, of plain batches of
``minibatch_size`` rows (also with ``drop_remainder``). Batch-level callbacks then fire once per
``k`` steps; ``optimizer.iterations`` still counts minibatches.
"""

from __future__ import annotations

import tensorflow as tf

from keras_ae.errors import ConfigError


class FusedSteps:
    """Mixin for a ``keras.Model`` subclass (listed before ``keras.Model`` in its bases).

    Call :meth:`_init_fused_steps` in ``__init__`` and add ``minibatch_size`` to ``get_config``
    (:meth:`_fused_config`). ``minibatch_size=None`` is Keras' plain step per call. Under a
    multi-replica ``tf.distribute`` strategy the fused step is refused (each replica would need
    its own cut of the batch); build the model with ``minibatch_size=None`` there.
    """

    def _init_fused_steps(self, minibatch_size: int | None) -> None:
        if minibatch_size is not None:
            if int(minibatch_size) < 1:
                raise ConfigError(f"minibatch_size must be at least 1, got {minibatch_size}")
            minibatch_size = int(minibatch_size)
        self.minibatch_size = minibatch_size

    def _fused_config(self) -> dict:
        return {"minibatch_size": self.minibatch_size}

    def make_train_function(self, force=False):
        """Keras' train function, with :meth:`fused_train_step` in the place of ``train_step``.

        Built from public API as Keras 3's TensorFlow trainer builds its own: the step compiled
        by one ``tf.function`` (``jit_compile`` as the model's; none when ``run_eagerly``) and run
        by ``distribute_strategy.run``; up to ``steps_per_execution`` steps per call, the logs of
        the last one; the end of the data raises ``StopIteration`` (``OutOfRangeError`` from the
        ``tf.data`` iterator ``fit`` passes, which ``fit`` takes for the same)."""
        if not self.minibatch_size:
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        if self.distribute_strategy.num_replicas_in_sync > 1:
            raise ConfigError("minibatch_size (fused steps) runs on one device; build the model with "
                              "minibatch_size=None under a multi-device strategy")
        self.train_function = _train_function(self, self.fused_train_step)
        return self.train_function

    def fused_train_step(self, data):
        """``train_step`` once per consecutive minibatch of ``data``; returns the last step's logs.

        All minibatches but the last run in a ``tf.while_loop``; the last one (whole, or the rows
        left over at the end of an epoch) runs after it and gives the logs, so whatever the
        model's ``train_step`` returns is what ``fit`` sees. Under XLA the batch's row count is
        static and so is every minibatch's shape.
        """
        size = self.minibatch_size
        first = next(t for t in tf.nest.flatten(data) if t is not None)
        n = first.shape[0] if first.shape[0] is not None else tf.shape(first)[0]
        before_last = (n - 1) // size  # whole minibatches before the last one

        def stack(t):
            # (blocks, size, ...): at least one block (zeros) when there is none, so that the loop body
            # compiles under XLA (it then runs zero times)
            if t is None:
                return None
            t = tf.convert_to_tensor(t)
            blocks = tf.maximum(before_last, 1)
            t = tf.pad(t[: before_last * size], [[0, (blocks - before_last) * size]] + [[0, 0]] * (t.shape.rank - 1))
            return tf.reshape(t, tf.concat([[blocks, size], tf.shape(t)[1:]], axis=0))

        stacked = tf.nest.map_structure(stack, data)

        def body(i):
            self.train_step(tf.nest.map_structure(lambda t: None if t is None else t[i], stacked))
            return (i + 1,)

        tf.while_loop(lambda i: i < before_last, body, (tf.constant(0),))
        return self.train_step(tf.nest.map_structure(lambda t: None if t is None else t[before_last * size:], data))


def _train_function(model, step):
    """``fit``'s ``train_function(iterator) -> logs`` around ``step(data) -> logs`` for ``model``
    (one replica): ``iterator`` is the ``tf.data`` iterator of ``fit`` or a Python iterator
    (``train_on_batch``); each call runs ``step`` on up to ``model.steps_per_execution`` of its
    elements (fewer at the end of the data) and returns the last step's logs."""
    strategy = model.distribute_strategy

    @tf.autograph.experimental.do_not_convert  # as Keras: train steps are traced as they are written
    def compiled_step(data):
        logs = strategy.run(step, args=(data,))
        return tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], logs)

    if not model.run_eagerly:
        compiled_step = tf.function(compiled_step, reduce_retracing=True, jit_compile=model.jit_compile)

    def one_step(data):
        # Keras' data adapters pass an absent element (no y, no sample weight) as an empty Optional;
        # the step gets None (outside the compiled function: XLA takes no Optional)
        return compiled_step(tf.nest.map_structure(
            lambda t: None if isinstance(t, tf.experimental.Optional) else t, data))

    @tf.autograph.experimental.do_not_convert
    def steps_on_iterator(iterator):
        # the first step raises OutOfRangeError when the data has ended; the others stop at its end
        logs = one_step(iterator.get_next())
        if model.steps_per_execution == 1:
            return logs

        def cond(i, ended, logs):
            return tf.logical_and(i < model.steps_per_execution, tf.logical_not(ended))

        def body(i, ended, logs):
            element = iterator.get_next_as_optional()
            logs = tf.cond(element.has_value(), lambda: one_step(element.get_value()), lambda: logs)
            return i + 1, tf.logical_not(element.has_value()), logs

        return tf.while_loop(cond, body, (tf.constant(1), tf.constant(False), logs))[2]

    if not model.run_eagerly:
        steps_on_iterator = tf.function(steps_on_iterator, reduce_retracing=True)

    def train_function(iterator):
        if isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
            return steps_on_iterator(iterator)
        logs = None
        for _, data in zip(range(model.steps_per_execution), iterator):
            logs = one_step(data)
        if logs is None:
            raise StopIteration
        return logs

    return train_function
