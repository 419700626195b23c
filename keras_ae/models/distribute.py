"""What a custom ``train_step`` needs to be right under ``tf.distribute`` (``--strategy mirrored``).

Under a ``MirroredStrategy`` every replica runs ``train_step`` on its share of the global batch,
and Keras' TensorFlow optimizer *sums* the replicas' gradients (``_all_reduce_sum_gradients`` in
``keras/src/backend/tensorflow/optimizer.py``). A loss that is a mean over the replica's examples
must therefore be divided by the number of replicas before ``tape.gradient``, or every step is
as large as ``num_replicas`` steps on one device. Keras does this itself for losses computed by a
``keras.losses.Loss`` with a mean reduction (``scale_loss_for_distribution`` in
``keras/src/losses/loss.py``, hence for ``compile(loss=...)`` and ``compute_loss``), and its own
``train_step`` logs ``unscale_loss_for_distribution(loss)``. :func:`scale_loss_for_replicas` and
:func:`unscale_loss_for_replicas` are the same two operations for this package's custom steps.
With one device (no strategy, or one replica) both return their argument unchanged.

Random draws from a ``keras.random.SeedGenerator`` are the same on every replica (its state is
a mirrored variable), so the replicas' halves of a batch would get identical noise.
:class:`ReplicaSeedGenerator` folds the replica's id into the seed when there are several.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def num_replicas() -> int:
    """Replicas that run this step together: 1 without a strategy (or outside its scope)."""
    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def scale_loss_for_replicas(loss):
    """``loss / num_replicas``: what to differentiate when ``loss`` is this replica's mean."""
    n = num_replicas()
    return loss if n == 1 else loss * keras.ops.cast(1.0 / n, loss.dtype)


def unscale_loss_for_replicas(loss):
    """``loss * num_replicas``: undoes the scaling a ``keras.losses.Loss`` applies, for logging."""
    n = num_replicas()
    return loss if n == 1 else loss * keras.ops.cast(n, loss.dtype)


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A ``SeedGenerator`` whose draws differ between the replicas of a distributed step.

    With one replica it is exactly ``keras.random.SeedGenerator`` (same state, same draws);
    with several, the replica's id is folded into every seed it hands out.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        # the name keras.random.SeedGenerator would give (not "replica_seed_generator")
        super().__init__(seed, name=name or "seed_generator", **kwargs)

    def next(self, ordered=True):
        seed = super().next(ordered=ordered)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return seed
        return tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)
