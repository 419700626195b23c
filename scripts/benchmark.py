"""Training throughput of keras_ae against a plain PyTorch loop, per question's main network: the
command line of the top-level ``benchmarks`` package (``python scripts/benchmark.py --help``; the
same as ``python -m benchmarks``). The code is in benchmarks/, outside the installed package."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root

from benchmarks.runner import main  # noqa: E402

if __name__ == "__main__":
    from keras_ae._quiet import quiet_tensorflow

    with quiet_tensorflow():  # a command: TensorFlow's start-up lines hidden, as keras-ae's
        raise SystemExit(main())
