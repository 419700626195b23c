"""Question A: sigmoid MLP autoencoder on MNIST (sheet 000 tasks 1-4, sheet 003 problem 3 tasks 1-6).

Encoder 784-256-128 and decoder 128-256-784, sigmoid everywhere; normal (task 2) or Glorot
(task 5) weights; mean squared error (task 3) or cross-entropy (task 4) loss; "going deeper"
(task 6) adds a 64-unit layer. Adam, learning rate 0.001, 20 epochs ("20 training iterations").
Writes one figure with test digits and every variant's reconstructions side by side, a table of
test losses, per-variant logs, and a SavedModel per variant.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from keras_ae.questions.common import (data_options, QuestionParser, Timer, add_common_arguments, add_speed_arguments,
                                      distribution_strategy, fused_minibatch_size, jit_compile,
                                      positive_float, positive_int, seed_everything, verbosity)
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick
from keras_ae.verdicts import difference


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    loss: str
    init: str
    encoder_units: tuple[int, ...] = (256, 128)

    @property
    def decoder_units(self) -> tuple[int, ...]:
        return tuple(reversed(self.encoder_units[:-1]))


VARIANTS = {
    v.name: v
    for v in (
        Variant("mse_normal", "MSE / normal", "mse", "normal"),
        Variant("ce_normal", "CE / normal", "cross_entropy", "normal"),
        Variant("ce_glorot", "CE / Xavier", "cross_entropy", "glorot"),
        Variant("ce_glorot_deep", "CE / Xavier / +64", "cross_entropy", "glorot", (256, 128, 64)),
        Variant("mse_glorot", "MSE / Xavier", "mse", "glorot"),
    )
}
DEFAULT_VARIANTS = ("mse_normal", "ce_normal", "ce_glorot", "ce_glorot_deep")

CAPTIONS = {
    "reconstructions.png": "MNIST test digits (left column) and their reconstructions by each variant after "
                           "training: MSE with N(0, 1) weights, cross-entropy with N(0, 1) weights, "
                           "cross-entropy with Xavier weights, and the deeper network (extra 64-unit layer), "
                           "as in sheet 003's figure.",
    "test_mse.png": "Test mean squared error per pixel after every epoch, for every variant (log scale).",
}
REFERENCE_NOTE = ("Sheet 003 shows reconstructions only (no numbers): MSE/normal poor, CE/normal blurry, "
             "CE/Xavier close to the input; the reconstruction figure is to be held against it.")


def build_model(variant: Variant, normal_stddev: float = 1.0, minibatch_size: int | None = None):
    from keras_ae.models import build_dense_autoencoder

    return build_dense_autoencoder(
        input_dim=784, encoder_units=variant.encoder_units, decoder_units=variant.decoder_units,
        activation="sigmoid", output_activation="sigmoid", init=variant.init,
        normal_stddev=normal_stddev, name=f"question_a_{variant.name}", minibatch_size=minibatch_size,
    )


def compile_model(model, variant: Variant, learning_rate: float, jit_compile: bool = False):
    import keras

    from keras_ae.losses import get_loss

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=get_loss(variant.loss),
                  metrics=[keras.metrics.MeanSquaredError(name="mse")], jit_compile=jit_compile)
    return model


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run A", description=__doc__)
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), choices=sorted(VARIANTS),
                        help="variants to train (default: the sheets' four)")
    parser.add_argument("--normal-stddev", type=positive_float, default=1.0,
                        help="standard deviation of the 'normal' initialiser (tf.random_normal's 1.0)")
    parser.add_argument("--num-images", type=positive_int, default=8, help="test digits in the figure")
    add_speed_arguments(parser)
    return add_common_arguments(parser, "question_a", epochs=20, batch_size=128, learning_rate=1e-3)


def run(args: argparse.Namespace) -> RunResult:
    from keras_ae.callbacks import ReconstructionFigure, standard_callbacks
    from keras_ae.data import flatten, load_dataset, make_dataset, to_unit
    from keras_ae.export import export_model
    from keras_ae.losses import cross_entropy_per_image, mse_per_pixel
    from keras_ae.plots import plot_curves, plot_image_grid
    from keras_ae.reporting import write_table

    out = args.output_dir
    os.makedirs(out, exist_ok=True)
    train = load_dataset("mnist", "train", args.data_dir)
    test = load_dataset("mnist", "test", args.data_dir)
    x_train = flatten(to_unit(train.images[: args.train_limit]))
    x_test = flatten(to_unit(test.images[: args.test_limit]))
    sample = x_test[: args.num_images]

    rows, recons, curves, exports = [], {}, {}, {}
    for i, name in enumerate(args.variants):
        variant = VARIANTS[name]
        print(f"[question A] variant {i + 1}/{len(args.variants)}: {variant.label} "
              f"({variant.loss}, {variant.init} init, encoder 784-{'-'.join(map(str, variant.encoder_units))})",
              flush=True)
        seed_everything(args.seed)
        with distribution_strategy(args.strategy).scope():
            model = compile_model(build_model(variant, args.normal_stddev, fused_minibatch_size(args)), variant,
                                  args.learning_rate, jit_compile(args))
        run_dir = os.path.join(out, name)
        callbacks = standard_callbacks(run_dir, tensorboard=args.tensorboard) + [
            ReconstructionFigure(sample, os.path.join(run_dir, "reconstructions_epoch{epoch:03d}.png"),
                                 f"Question A, {variant.label}: test digits over reconstructions"),
        ]
        with Timer() as timer:
            history = model.fit(make_dataset(x_train, batch_size=args.batch_size, **data_options(args)),
                                epochs=args.epochs, validation_data=(x_test, x_test), validation_batch_size=1024,
                                callbacks=callbacks, shuffle=False, verbose=verbosity(args))
        z_test = model.predict(x_test, batch_size=1024, verbose=0)
        recons[variant.label] = z_test[: args.num_images]
        epochs = list(range(1, len(history.history["val_mse"]) + 1))
        curves[variant.label] = (epochs, history.history["val_mse"])
        rows.append({
            "variant": name, "label": variant.label, "loss": variant.loss, "init": variant.init,
            "layers": "784-" + "-".join(map(str, variant.encoder_units)), "epochs": args.epochs,
            "final_train_loss": float(history.history["loss"][-1]),
            "test_mse": mse_per_pixel(x_test, z_test),
            "test_mse_std_error": mse_std_error(x_test, z_test),
            "test_cross_entropy": cross_entropy_per_image(x_test, z_test),
            "train_seconds": round(timer.seconds, 1),
        })
        if not args.no_export:
            exports[name] = str(export_model(model, os.path.join(args.saved_models_dir, f"question_a_{name}"), metadata={
                "question": "A", "variant": name, "loss": variant.loss, "init": variant.init,
                "value_range": "unit", "input": "MNIST digit flattened to 784 values in [0, 1]",
                "epochs": args.epochs, "seed": args.seed,
            }))
        print(f"[question A] {variant.label}: test MSE {rows[-1]['test_mse']:.5f}, "
              f"test cross-entropy {rows[-1]['test_cross_entropy']:.2f} nats/image, "
              f"{timer.seconds:.1f} s", flush=True)

    figure = plot_image_grid([("input", sample), *recons.items()], os.path.join(out, "reconstructions.png"),
                             f"Question A: MNIST test digits and reconstructions after {args.epochs} epochs",
                             orientation="columns")
    curve_fig = plot_curves(curves, os.path.join(out, "test_mse.png"),
                            "Question A: test MSE per epoch (all variants)", ylabel="test MSE per pixel", logy=True)
    table = write_table(rows, os.path.join(out, "test_losses"), caption=(
        f"Question A: test losses on {len(x_test)} MNIST test images after {args.epochs} epochs. "
        "test_mse: mean over pixels of (x - z)^2; test_mse_std_error: its standard error over the test images "
        "(standard deviation of the images' MSE / sqrt(N)); test_cross_entropy: -sum over the 784 pixels of "
        "[x log z + (1 - x) log(1 - z)], averaged over images (nats)."))
    print(f"[question A] figure {figure}, table {table[0]}", flush=True)
    return RunResult.of(QUESTION, figures=[figure, curve_fig], tables=table, models=exports, details={"rows": rows})


def mse_std_error(x, z) -> float:
    """The standard error of the test MSE over images: std of the per-image MSE / sqrt(N)."""
    import numpy as np

    per_image = np.mean((np.asarray(x, np.float64) - np.asarray(z, np.float64)) ** 2, axis=1)
    return float(per_image.std(ddof=1) / np.sqrt(len(per_image))) if len(per_image) > 1 else 0.0


def _variants(tables) -> dict:
    """``{variant: (label, test MSE, its standard error)}`` of the run's test-loss table."""
    out = {}
    for row in tables.get("test_losses", []):
        mse, se = number(row.get("test_mse")), number(row.get("test_mse_std_error"))
        if mse is not None and se is not None:
            out[row["variant"]] = (row.get("label") or row["variant"], mse, se)
    return out


def _compare(tables, a: str, b: str, what: str) -> Answer | None:
    """Does variant ``a`` reconstruct better than ``b`` (test MSE, 95 % interval of the difference)?"""
    variants = _variants(tables)
    if a not in variants or b not in variants:
        return None
    (la, ma, sa), (lb, mb, sb) = variants[a], variants[b]
    d = difference(ma, sa, mb, sb)
    verdict = {"lower": f"Yes: {what} lowers the test MSE", "higher": f"No: {what} raises the test MSE",
               "tie": f"Not shown: with {what} the test MSE differs by less than its uncertainty"}[d.verdict]
    return Answer(f"{verdict} ({la} against {lb}).",
                  f"test MSE {ma:.4g} +- {sa:.2g} against {mb:.4g} +- {sb:.2g} (standard errors over the test "
                  f"images); {d.text('.3g')}, conservative for the same images.")


def _ranking(tables) -> Answer | None:
    variants = _variants(tables)
    if len(variants) < 2:
        return None
    order = sorted(variants, key=lambda v: variants[v][1])
    steps = []
    for better, worse in zip(order, order[1:]):
        d = difference(variants[better][1], variants[better][2], variants[worse][1], variants[worse][2])
        steps.append(f"{variants[better][0]} {'<' if d.verdict == 'lower' else '~'} {variants[worse][0]}")
    best = variants[order[0]]
    tied = [variants[v][0] for v in order[1:] if difference(best[1], best[2], variants[v][1], variants[v][2]).verdict == "tie"]
    return Answer(f"{best[0]} reconstructs the test digits best"
                  + (f", though not beyond the uncertainty from {', '.join(tied)}." if tied else
                     ", beyond the uncertainty from every other variant."),
                  "ranking by test MSE ('<': the 95 % interval of the difference excludes 0, '~': it does not): "
                  + "; ".join(steps) + ". Test MSE: "
                  + ", ".join(f"{variants[v][0]} {variants[v][1]:.4g} +- {variants[v][2]:.2g}" for v in order) + ".")


ASKS = (
    Ask("000 tasks 3-4; 003 task 5", "Which variant reconstructs the test digits best?", _ranking),
    Ask("000 task 4", "Does the cross-entropy loss reconstruct better than the mean squared error (normal init)?",
        lambda t: _compare(t, "ce_normal", "mse_normal", "the cross-entropy loss")),
    Ask("003 task 5", "Does Xavier (Glorot) initialisation help over N(0, 1) weights (cross-entropy)?",
        lambda t: _compare(t, "ce_glorot", "ce_normal", "Xavier initialisation")),
    Ask("003 task 6", "Does going deeper (one more hidden layer of 64) help?",
        lambda t: _compare(t, "ce_glorot_deep", "ce_glorot", "the extra 64-unit layer")),
)


def headline(tables) -> dict:
    """``<variant>_test_mse`` (per pixel) and ``<variant>_test_cross_entropy`` (nats per image)."""
    out = {}
    for row in tables.get("test_losses", []):
        out.update(pick(row, {f"{row['variant']}_test_mse": "test_mse",
                              f"{row['variant']}_test_cross_entropy": "test_cross_entropy"}))
    return out


QUESTION = Question(
    id="A", title="sigmoid MLP autoencoder on MNIST: normal vs Glorot, MSE vs cross-entropy",
    sheet="000 tasks 1-4; 003 problem 3 tasks 1-6", build_parser=build_parser, run=run,
    quick_args=("--epochs", "2", "--train-limit", "4000", "--test-limit", "1000"),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0], reference_note=REFERENCE_NOTE, headline=headline,
    readme_metrics=("ce_glorot_test_mse", "mse_normal_test_mse"), asks=ASKS,
    metric_labels={**{f"{v.name}_test_mse": f"{v.label}: test MSE per pixel" for v in VARIANTS.values()},
                   **{f"{v.name}_test_cross_entropy": f"{v.label}: test cross-entropy (nats per image)"
                      for v in VARIANTS.values()}},
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
