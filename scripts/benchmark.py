"""Training throughput of keras_ae against a plain PyTorch loop of the identical network and step,
and against the machine's FLOP peak, for every question's main network (A, B, D, E, F, H, J).

Prints per network: images/s of keras_ae's training path and of the PyTorch loop, and the lines
  images/s <net> keras_ae <rate>
  images/s <net> torch <rate>
  ratio <net> <keras_ae images/s / PyTorch images/s>
  flops <net> <GFLOP/s of keras_ae> <percent of the measured peak>
then whether issue 14's targets are met. Run it alone on the machine (anything else on the cores
changes the numbers). Needs: pip install -e ".[bench]" for the PyTorch loop (else --no-torch).

Examples:
  python scripts/benchmark.py --json benchmark.json        # everything, 3 timed epochs per side
  python scripts/benchmark.py --networks H --configs "tf.data + XLA" "numpy fit"
  python scripts/benchmark.py --quick                       # a functional check in a minute or two
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

QUICK = {"epochs": 1, "train_limit": 512, "peak_size": 1024, "peak_repeats": 1}


def main(argv=None) -> int:
    from keras_ae.benchmark import KERAS_CONFIGS, NETWORKS, run_benchmark

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS),
                        help="default: all")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs after one warm-up epoch (default: 3)")
    parser.add_argument("--configs", nargs="+", default=[], choices=list(KERAS_CONFIGS),
                        help="also time these Keras configurations, one change at a time (the training path "
                             "is always timed)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch loop (and so the ratio lines)")
    parser.add_argument("--no-matmuls", action="store_true",
                        help="skip timing the step's matrix products alone (A, B, H)")
    parser.add_argument("--no-peak", action="store_true", help="skip measuring the matmul peak")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--quick", action="store_true",
                        help="a functional check, no meaningful numbers: 1 timed epoch of 512 images, a small "
                             "peak matmul, no matrix-product timing (explicit --epochs/--train-limit win)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    quick = QUICK if args.quick else {}
    epochs = args.epochs if args.epochs is not None else quick.get("epochs", 3)
    train_limit = args.train_limit if args.train_limit is not None else quick.get("train_limit")
    results = run_benchmark(args.networks, epochs, args.configs, torch_baseline=not args.no_torch,
                            train_limit=train_limit, data_dir=args.data_dir, peak=not args.no_peak,
                            peak_size=quick.get("peak_size", 4096), peak_repeats=quick.get("peak_repeats", 5),
                            matmuls=not (args.no_matmuls or args.quick), seed=args.seed)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    from keras_ae._quiet import quiet_tensorflow

    with quiet_tensorflow():  # a command: TensorFlow's start-up lines hidden, as keras-ae's
        raise SystemExit(main())
