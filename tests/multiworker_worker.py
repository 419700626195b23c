"""One process of tests/test_multiworker.py: question A's training, written to a ``.npz``.

``python -m tests.multiworker_worker OUT.npz [question A options]`` parses the options with
question A's own parser and trains one variant the way :func:`keras_ae.questions.question_a.run`
does (seed, build and compile in the strategy's scope, ``fit`` on ``make_dataset``), without
evaluation, figures or export. ``OUT.npz`` gets the final weights (``w0``, ``w1``, ...), the
initial ones (``initial0``, ...), the epoch losses (``loss``) and the number of replicas. Under
``--strategy multiworker`` the cluster is the one in ``$TF_CONFIG``; every worker writes its own
file.
"""

from __future__ import annotations

import sys


def train(argv: list[str]) -> dict:
    import numpy as np

    from keras_ae.data import flatten, load_dataset, make_dataset, to_unit
    from keras_ae.questions.common import (data_options, distribution_strategy, fused_minibatch_size, jit_compile,
                                           seed_everything)
    from keras_ae.questions.question_a import VARIANTS, build_model, build_parser, compile_model

    args = build_parser().parse_args(argv)
    (name,) = args.variants
    variant = VARIANTS[name]
    x_train = flatten(to_unit(load_dataset("mnist", "train", args.data_dir).images[: args.train_limit]))
    seed_everything(args.seed)
    strategy = distribution_strategy(args.strategy)
    with strategy.scope():
        model = compile_model(build_model(variant, args.normal_stddev, fused_minibatch_size(args)), variant,
                              args.learning_rate, jit_compile(args))
    initial = model.get_weights()
    # make_dataset's pipeline as question A feeds it: its global batches are args.batch_size rows.
    # It reads no files, so under MultiWorkerMirroredStrategy tf.data's default AUTO shard policy
    # falls back to DATA: each global batch is cut into per-replica halves, worker i keeps half i.
    # Every worker builds the same (seeded) order, so the halves of one step are the two halves of
    # the single process's batch, and the summed gradients are that batch's gradient. data_options
    # gives probe_pass under a strategy: fit draws one batch of a first pass before it trains (to
    # build the metrics), and that pass must not count, so epoch 0 keeps epoch 0's order.
    history = model.fit(make_dataset(x_train, batch_size=args.batch_size, **data_options(args)),
                        epochs=args.epochs, shuffle=False, verbose=0)
    return {"replicas": strategy.num_replicas_in_sync, "loss": np.asarray(history.history["loss"]),
            **{f"w{i}": w for i, w in enumerate(model.get_weights())},
            **{f"initial{i}": w for i, w in enumerate(initial)}}


def main(argv: list[str]) -> int:
    import numpy as np
    import tensorflow as tf

    # one thread per worker: two workers share the test machine's cores
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    out, *options = argv
    np.savez(out, **train(options))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
