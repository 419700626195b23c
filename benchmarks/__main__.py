"""``python -m benchmarks``: the benchmark's command line (:func:`benchmarks.runner.main`)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.runner import main  # noqa: E402  (after the log level, before TensorFlow loads)

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m benchmarks"))
