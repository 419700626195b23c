"""``python -m benchmarks``: the benchmark's command line (:func:`benchmarks.runner.main`)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.runner import main  # noqa: E402  (after the log level, before TensorFlow loads)

if __name__ == "__main__":
    from keras_ae._quiet import quiet_tensorflow

    with quiet_tensorflow():  # a command: TensorFlow's start-up lines hidden, as keras-ae's
        raise SystemExit(main(prog="python -m benchmarks"))
