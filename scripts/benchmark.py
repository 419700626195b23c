"""Training throughput of keras_ae against a plain PyTorch loop, and against the FLOP peak.

Usage: python scripts/benchmark.py [--networks A B] [--epochs 3] [--configs ...] [--no-torch] [--no-matmuls]
Needs: pip install -e ".[bench]" for the PyTorch baseline.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    from keras_ae.benchmark import KERAS_CONFIGS, NETWORKS, run_benchmark

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--configs", nargs="+", default=list(KERAS_CONFIGS), choices=list(KERAS_CONFIGS))
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch baseline")
    parser.add_argument("--no-matmuls", action="store_true", help="skip timing the step's matrix products alone")
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    results = run_benchmark(args.networks, args.epochs, args.batch_size, args.configs, not args.no_torch,
                            args.train_limit, args.data_dir, matmuls=not args.no_matmuls)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
