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
  python -m benchmarks --quick                              # the same, from the repository root
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.networks import NETWORKS, epoch_images, load_images, network_facts
from benchmarks.timing import (KERAS_CONFIGS, TRAINING_PATH, cpu_cores, describe, keras_epoch_seconds,
                               matmul_peak_gflops, matmul_rates, median_rate, step_matmuls, torch_epoch_seconds,
                               training_path)

# The targets of issue 14: keras_ae at least this many times the PyTorch loop's images/s on every
# network, and at least this fraction of the measured peak on the networks named.
TARGET_RATIO = 1.5
TARGET_PEAK_FRACTION = {"H": 0.5}

QUICK = {"epochs": 1, "train_limit": 512, "peak_size": 1024, "peak_repeats": 1}


def _fmt_epochs(secs) -> str:
    return ", ".join(f"{s:.2f}" for s in secs)


def run_benchmark(networks=tuple(NETWORKS), epochs: int = 3, configs=(), torch_baseline: bool = True,
                  train_limit: int | None = None, data_dir=None, peak: bool = True, peak_size: int = 4096,
                  peak_repeats: int = 5, matmuls: bool = True, seed: int = 0, log=print) -> dict:
    """Measure everything; return a dict of results (also printed line by line through ``log``).

    For each network: keras_ae's training path, the extra ``configs`` (names of
    :data:`KERAS_CONFIGS`), the PyTorch loop, and the lines ``images/s <net> keras_ae|torch <rate>``,
    ``ratio <net> <keras_ae / torch>`` and ``flops <net> <GFLOP/s> <percent of peak>``."""
    results = {"peak_gflops": None, "cores": cpu_cores(), "epochs": epochs, "train_limit": train_limit,
               "networks": {}}
    if peak:
        results["peak_gflops"] = matmul_peak_gflops(peak_size, peak_repeats)
        log(f"attainable float32 peak ({peak_size}x{peak_size} matmul): {results['peak_gflops']:.1f} GFLOP/s")
    for name in networks:
        results["networks"][name] = measure_network(name, epochs, configs, torch_baseline, train_limit, data_dir,
                                                    results["peak_gflops"], matmuls, seed, log)
    results["targets"] = check_targets(results)
    for line in results["targets"]["lines"]:
        log(line)
    return results


def measure_network(name: str, epochs: int, configs, torch_baseline: bool, train_limit: int | None, data_dir,
                    peak_gflops: float | None, matmuls: bool, seed: int, log) -> dict:
    """One network's row of :func:`run_benchmark`'s results, its lines printed through ``log``."""
    spec = NETWORKS[name]
    args = spec.defaults()
    x = load_images(spec, args, data_dir, train_limit)
    images = epoch_images(spec, args, len(x))
    row = network_facts(spec, args)
    row.update(images_per_epoch=images, keras={}, torch=None)
    log(f"network {name}: {spec.title}; {images} images per epoch, {row['rows_per_step']} per step, "
        f"{row['flops_per_image'] / 1e6:.2f} MFLOP per image, {row['keras_parameters']:,} parameters")
    widths = row.pop("dense_widths")
    if matmuls and widths:
        row["matmul_gflops"] = matmul_rates(widths, row["rows_per_step"])
        log(f"network {name}: the step's {len(step_matmuls(widths, 1))} matrix products alone: "
            + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in row["matmul_gflops"].items()))
    runs = {TRAINING_PATH: training_path(spec)}
    runs.update((c, KERAS_CONFIGS[c]) for c in configs)
    for config, options in runs.items():
        secs = keras_epoch_seconds(spec, args, x, epochs, seed=seed, **options)
        rate = row["keras"][config] = median_rate(secs, images)
        label = f"{config}: {describe(options)}" if config == TRAINING_PATH else config
        log(f"network {name}: keras_ae [{label}]: {rate:,.0f} images/s "
            f"({row['flops_per_image'] * rate / 1e9:.1f} GFLOP/s; epochs {_fmt_epochs(secs)} s)")
    row["training_path"] = describe(runs[TRAINING_PATH])
    row["keras_rate"] = row["keras"][TRAINING_PATH]
    if torch_baseline:
        secs = torch_epoch_seconds(spec, args, x, epochs, seed=seed)
        row["torch"] = median_rate(secs, images)
        log(f"network {name}: PyTorch loop ({cpu_cores()} threads): {row['torch']:,.0f} images/s "
            f"({row['flops_per_image'] * row['torch'] / 1e9:.1f} GFLOP/s; epochs {_fmt_epochs(secs)} s)")
    _log_rate_lines(name, row, peak_gflops, log)
    return row


def _log_rate_lines(name: str, row: dict, peak_gflops: float | None, log) -> None:
    """The machine-readable lines of a network (images/s, ratio, flops), their numbers added to ``row``."""
    rate = row["keras_rate"]
    row["gflops"] = row["flops_per_image"] * rate / 1e9
    log(f"images/s {name} keras_ae {rate:.1f}")
    if row["torch"]:
        row["ratio_vs_torch"] = rate / row["torch"]
        log(f"images/s {name} torch {row['torch']:.1f}")
        log(f"ratio {name} {row['ratio_vs_torch']:.2f}")
    percent = "n/a"
    if peak_gflops:
        row["fraction_of_peak"] = row["gflops"] / peak_gflops
        percent = f"{100 * row['fraction_of_peak']:.1f}%"
    log(f"flops {name} {row['gflops']:.2f} {percent}")


def check_targets(results: dict) -> dict:
    """Issue 14's targets against the results: ratio >= TARGET_RATIO on every network measured
    against PyTorch, and the fractions of peak of TARGET_PEAK_FRACTION."""
    rows = results["networks"]
    ratios = {n: r["ratio_vs_torch"] for n, r in rows.items() if r.get("ratio_vs_torch") is not None}
    met = sorted(n for n, v in ratios.items() if v >= TARGET_RATIO)
    missed = sorted(n for n, v in ratios.items() if v < TARGET_RATIO)
    lines = []
    if ratios:
        lines.append(f"target ratio >= {TARGET_RATIO}: met by {' '.join(met) or 'none'}; "
                     f"missed by {' '.join(missed) or 'none'}")
    peaks = {}
    for name, fraction in TARGET_PEAK_FRACTION.items():
        if name in rows and rows[name].get("fraction_of_peak") is not None:
            peaks[name] = rows[name]["fraction_of_peak"] >= fraction
            lines.append(f"target {name} >= {100 * fraction:.0f}% of peak: "
                         f"{'met' if peaks[name] else 'missed'} ({100 * rows[name]['fraction_of_peak']:.1f}%)")
    return {"ratio_met": met, "ratio_missed": missed, "peak_met": peaks, "lines": lines}


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return parser


def main(argv=None, prog: str | None = None) -> int:
    """The command line (``python scripts/benchmark.py``, ``python -m benchmarks``)."""
    args = build_parser(prog).parse_args(argv)
    if not args.no_torch:
        from benchmarks.torch_networks import require_torch

        try:
            require_torch()
        except RuntimeError as exc:  # one line and exit code 2 before anything is timed
            print(f"{prog or 'benchmark'}: {exc}; or --no-torch to time keras_ae alone", file=sys.stderr)
            return 2
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

