"""Question D: convolutional autoencoder on MNIST-M (sheet 002, problem 1).

Encoder: Conv2D layers of stride 2 (28x28x3 -> 14x14x32 -> 7x7x64) and a linear 3x3 Conv2D to
the code (7x7x16 by default); decoder: the mirror image in Conv2DTranspose layers ending in a
sigmoid 28x28x3 image. Least-squares loss: ||x - r||^2 summed over the 2,352 values of an
image, averaged over the batch. Adam, learning rate 0.001, batch 128, 20 epochs on the 55,000
MNIST-M training images, validated on the 5,000 validation images every epoch.

Writes the train and validation loss curves in one figure, 10 random test images over their
reconstructions, a table of test losses, and a SavedModel (encode / decode / reconstruct).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_ae.questions.common import (data_options, EVALUATION_BATCH_SIZE, QuestionParser, Timer, add_backup_argument,
                                      add_common_arguments, add_speed_arguments, distribution_strategy,
                                      fused_minibatch_size, jit_compile, positive_int, seed_everything,
                                      seed_int, verbosity)
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick
from keras_ae.verdicts import difference

LOSSES = ("squared_error", "mse")


QUICK_ARGS = ["--epochs", "2", "--train-limit", "3000", "--test-limit", "500"]
CAPTIONS = {
    "loss_curves.png": "Least-squares reconstruction loss of the convolutional autoencoder on the MNIST-M "
                       "training and validation splits, per epoch.",
    "reconstructions.png": "Ten random MNIST-M test images (top) and their reconstructions (bottom).",
}
REFERENCE_NOTE = "Sheet 002 shows a loss curve and reconstructions only; no reference numbers."


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run D", description=__doc__)
    parser.add_argument("--filters", type=positive_int, nargs="+", default=[32, 64],
                        help="filters of the stride-2 Conv2D layers; the decoder mirrors them (default: 32 64)")
    parser.add_argument("--code-channels", type=positive_int, default=16,
                        help="feature maps of the code layer (7x7xC with two stride-2 layers; default: %(default)s)")
    parser.add_argument("--kernel-size", type=positive_int, default=3, help="default: %(default)s")
    parser.add_argument("--loss", choices=LOSSES, default="squared_error",
                        help="least squares summed over an image's pixels (squared_error) or averaged (mse)")
    parser.add_argument("--num-images", type=positive_int, default=10, help="random test images in the figure")
    parser.add_argument("--mnist-m-seed", type=seed_int, default=0,
                        help="seed of the MNIST-M build (default: %(default)s)")
    # XLA's CPU convolutions are far slower than TensorFlow's oneDNN kernels for this network (compare
    # with scripts/benchmark.py --networks D --configs "tf.data + XLA + 16 fused steps"): no XLA by default.
    add_speed_arguments(parser, xla=False)
    add_backup_argument(parser)
    return add_common_arguments(parser, "question_d", epochs=20, batch_size=128, learning_rate=1e-3)


def load_data(args: argparse.Namespace) -> dict:
    """The three MNIST-M splits as float32 (N, 28, 28, 3) in [0, 1] (limits applied)."""
    from keras_ae.data import load_mnist_m, to_unit

    limits = {"train": args.train_limit, "validation": args.test_limit, "test": args.test_limit}
    return {split: to_unit(load_mnist_m(split, args.data_dir, seed=args.mnist_m_seed).images[:limit])
            for split, limit in limits.items()}


def build_model(args: argparse.Namespace, minibatch_size: int | None = None):
    from keras_ae.models import build_conv_autoencoder

    return build_conv_autoencoder((28, 28, 3), filters=args.filters, code_channels=args.code_channels,
                                  kernel_size=args.kernel_size, name="question_d_conv_autoencoder",
                                  minibatch_size=minibatch_size)


def compile_model(model, args: argparse.Namespace):
    import keras

    from keras_ae.losses import get_loss

    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=get_loss(args.loss),
                  metrics=[keras.metrics.MeanSquaredError(name="mse")], jit_compile=jit_compile(args))
    return model


@dataclass
class Trained:
    """What the train stage gives: the model, Keras' per-epoch logs and the wall time of ``fit``."""

    model: Any
    history: dict
    seconds: float


def new_model(args: argparse.Namespace):
    """Seed, then build and compile the autoencoder under the run's distribution strategy."""
    seed_everything(args.seed)
    with distribution_strategy(args.strategy).scope():  # first: the builder refuses --filters that do not fit
        return compile_model(build_model(args, fused_minibatch_size(args)), args)


def train(args: argparse.Namespace, model, data: dict) -> Trained:
    """Fit on the training images, validated on the validation images after every epoch."""
    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    x_train, x_val = data["train"], data["validation"]
    print(f"[question D] training: encoder {model.sample_shape} -> code {model.code_shape}, "
          f"{parameter_count(model)} parameters, {args.epochs} epochs", flush=True)
    callbacks = standard_callbacks(args.output_dir, tensorboard=args.tensorboard, backup=args)
    start = resume_from(callbacks, model, args.epochs)
    with Timer(callbacks) as timer:
        history = model.fit(make_dataset(x_train, batch_size=args.batch_size, **data_options(args, start)),
                            validation_data=(x_val, x_val), validation_batch_size=EVALUATION_BATCH_SIZE,
                            initial_epoch=start, epochs=args.epochs, shuffle=False, callbacks=callbacks,
                            verbose=verbosity(args))
    return Trained(model, history.history, timer.seconds)


def parameter_count(model) -> int:
    return model.encoder.count_params() + model.decoder.count_params()


def reconstruct(model, x: np.ndarray) -> np.ndarray:
    return model.predict(x, batch_size=512, verbose=0)


def loss_row(x_train: np.ndarray, x_test: np.ndarray, recon_test: np.ndarray, history: dict) -> dict:
    """The losses of the table (a function of arrays): the last epoch's training and validation
    loss, the test reconstructions' squared error per image and MSE per value, and the MSE of
    always answering the mean training image."""
    from keras_ae.losses import mse_per_pixel, squared_error_per_image

    mean_image = x_train.mean(axis=0, keepdims=True)
    return {
        "final_train_loss": float(history["loss"][-1]), "final_val_loss": float(history["val_loss"][-1]),
        "test_squared_error": squared_error_per_image(x_test, recon_test),
        "test_mse": mse_per_pixel(x_test, recon_test),
        "mean_image_test_mse": mse_per_pixel(x_test, np.broadcast_to(mean_image, x_test.shape)),
    }


def image_squared_errors(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Per image, ||x - r||^2 summed over its values (float64)."""
    d = np.asarray(x, np.float64) - np.asarray(r, np.float64)
    return np.sum(d.reshape(len(d), -1) ** 2, axis=1)


def split_errors(model, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """:func:`image_squared_errors` of the model's reconstructions of ``x``, a chunk at a time."""
    return np.concatenate([image_squared_errors(x[i : i + chunk], reconstruct(model, x[i : i + chunk]))
                           for i in range(0, len(x), chunk)])


def uncertainty_row(x_train: np.ndarray, x_test: np.ndarray, recon_test: np.ndarray, history: dict, loss: str,
                    train_errors: np.ndarray, val_errors: np.ndarray) -> dict:
    """The numbers the answers need beside :func:`loss_row` (a function of arrays): standard errors
    over the images (sample standard deviation / sqrt(N)); the loss of the final weights on the
    training images (``train_errors``, per image) and the standard error of the last validation
    loss (``val_errors``), both in the units of ``loss`` like ``final_train_loss``; the lowest
    validation loss of the curve and its epoch (1-based)."""
    from keras_ae.verdicts import mean_std_error

    values = int(np.prod(x_test.shape[1:]))
    units = 1.0 if loss == "squared_error" else float(values)  # the training loss's units: per image or per value
    test, mean_image = image_squared_errors(x_test, recon_test), image_squared_errors(
        x_test, np.broadcast_to(x_train.mean(axis=0, keepdims=True), x_test.shape))
    train, train_se = mean_std_error(np.asarray(train_errors) / units)
    val_curve = [float(v) for v in history["val_loss"]]
    best = int(np.argmin(val_curve))
    return {"loss": loss, "test_squared_error_std_error": mean_std_error(test)[1],
            "test_mse_std_error": mean_std_error(test / values)[1],
            "mean_image_test_mse_std_error": mean_std_error(mean_image / values)[1],
            "train_loss_final_weights": train, "train_loss_final_weights_std_error": train_se,
            "final_val_loss_std_error": mean_std_error(np.asarray(val_errors) / units)[1],
            "best_val_loss": val_curve[best], "best_val_epoch": best + 1}


def write_outputs(args: argparse.Namespace, data: dict, trained: Trained, recon_test: np.ndarray,
                  losses: dict, uncertainty: dict) -> RunResult:
    """The loss curves, the reconstruction figure, the table and the SavedModel."""
    from keras_ae.plots import plot_curves, plot_image_grid
    from keras_ae.reporting import write_table

    out, hist, model, x_test = args.output_dir, trained.history, trained.model, data["test"]
    epochs = list(range(1, len(hist["loss"]) + 1))
    loss_label = "squared error per image" if args.loss == "squared_error" else "MSE per value"
    curves = plot_curves({"train (mean over the epoch's batches)": (epochs, hist["loss"]),
                          "validation (end of epoch)": (epochs, hist["val_loss"])},
                         os.path.join(out, "loss_curves.png"),
                         "Question D: conv autoencoder on MNIST-M, reconstruction loss",
                         ylabel=f"least-squares loss ({loss_label})")
    rng = np.random.default_rng(args.seed)
    shown = np.sort(rng.choice(len(x_test), size=min(args.num_images, len(x_test)), replace=False))
    figure = plot_image_grid([("original", x_test[shown]), ("reconstruction", recon_test[shown])],
                             os.path.join(out, "reconstructions.png"),
                             f"Question D: {len(shown)} random MNIST-M test images over their reconstructions",
                             image_shape=None, sample_titles=[f"#{i}" for i in shown])
    row = {"epochs": args.epochs, "code": "x".join(map(str, model.code_shape)), "parameters": parameter_count(model),
           **losses, "train_minutes": round(trained.seconds / 60.0, 2), **uncertainty}
    table = write_table([row], os.path.join(out, "test_losses"), caption=(
        f"Question D: conv autoencoder on MNIST-M after {args.epochs} epochs. test_squared_error: "
        "||x - r||^2 summed over the 28x28x3 values, averaged over the test images; test_mse: mean "
        "over values; mean_image_test_mse: the MSE of always answering the mean training image. "
        "final_train_loss, final_val_loss, best_val_loss (the lowest of the validation curve, at "
        "best_val_epoch) and train_loss_final_weights (the final weights on the training images) are in "
        "the units of the training loss (column loss: squared_error per image or mse per value); "
        "*_std_error: standard error over the images (standard deviation / sqrt(N))."))
    exported = export(model, args)
    print(f"[question D] test squared error {row['test_squared_error']:.3f} per image, test MSE "
          f"{row['test_mse']:.5f} (mean-image baseline {row['mean_image_test_mse']:.5f}), "
          f"{trained.seconds / 60:.1f} min; figures {curves}, {figure}", flush=True)
    return RunResult.of(QUESTION, figures=[curves, figure], tables=table,
                        models={"conv_autoencoder": exported} if exported else {},
                        details={"row": row, "history": hist, "model": model})


def export(model, args: argparse.Namespace) -> str | None:
    """The SavedModel in ``--saved-models-dir`` (None with ``--no-export``)."""
    from keras_ae.export import export_model

    if args.no_export:
        return None
    return str(export_model(model, os.path.join(args.saved_models_dir, "question_d_conv_autoencoder"),
                            metadata={"question": "D", "value_range": "unit",
                                      "input": "MNIST-M image (28, 28, 3) in [0, 1]",
                                      "loss": args.loss, "filters": args.filters,
                                      "code_channels": args.code_channels, "epochs": args.epochs,
                                      "seed": args.seed}))


def run(args: argparse.Namespace) -> RunResult:
    """Load data -> train -> evaluate -> write outputs."""
    model = new_model(args)
    print("[question D] loading MNIST-M (built from MNIST + BSDS500 on first use)", flush=True)
    data = load_data(args)
    print(f"[question D] {len(data['train'])} train, {len(data['validation'])} validation, {len(data['test'])} "
          f"test images, shape {data['train'].shape[1:]}", flush=True)
    os.makedirs(args.output_dir, exist_ok=True)
    trained = train(args, model, data)
    recon_test = reconstruct(trained.model, data["test"])
    errors = {split: split_errors(trained.model, data[split]) for split in ("train", "validation")}
    return write_outputs(args, data, trained, recon_test,
                         loss_row(data["train"], data["test"], recon_test, trained.history),
                         uncertainty_row(data["train"], data["test"], recon_test, trained.history, args.loss,
                                         errors["train"], errors["validation"]))


def _numbers(row, *columns) -> list | None:
    """The cells ``columns`` of ``row`` as floats, or None where one is not a number."""
    values = [number(row.get(c)) for c in columns]
    return None if any(v is None for v in values) else values


def _last_row(tables) -> dict:
    rows = tables.get("test_losses", [])
    return rows[-1] if rows else {}


def _overfits(tables) -> Answer | None:
    """Does the model overfit? The validation curve's last point against its lowest (the curve
    turning up), and the test loss against the training loss of the same final weights."""
    row = _last_row(tables)
    loss = row.get("loss")
    test_column = {"squared_error": "test_squared_error", "mse": "test_mse"}.get(loss)
    found = test_column and _numbers(row, "epochs", "final_train_loss", "final_val_loss", "final_val_loss_std_error",
                                     "best_val_loss", "best_val_epoch", "train_loss_final_weights",
                                     "train_loss_final_weights_std_error", test_column, test_column + "_std_error")
    if not found:
        return None
    epochs, running, val, val_se, best, best_epoch, train, train_se, test, test_se = found
    epochs, best_epoch = int(epochs), int(best_epoch)
    rise = difference(val, val_se, best, val_se)  # conservative: the same validation images
    gap = difference(test, test_se, train, train_se)
    if epochs < 2:
        verdict = "Cannot tell from one epoch: the validation curve has a single point."
    elif rise.verdict == "higher":
        verdict = (f"Yes, it overfits: the validation loss turned up after epoch {best_epoch} and is "
                   f"{100 * (val / best - 1):.1f}% above its lowest at epoch {epochs}, beyond its uncertainty; "
                   f"stopping at epoch {best_epoch} would have kept the lower validation loss.")
    elif best_epoch < epochs and val > best:
        verdict = (f"Cannot tell: the validation loss is lowest at epoch {best_epoch} of {epochs}, and its rise "
                   f"since ({100 * (val / best - 1):.1f}%) lies within its uncertainty.")
    else:
        verdict = (f"No sign of overfitting: the validation loss is at its lowest at the last epoch ({epochs}), "
                   "so more epochs could still lower it.")
    held_out = {"higher": f"lies {100 * (test / train - 1):.1f}% above the training loss of the same weights, "
                          "a generalisation gap beyond the uncertainty",
                "lower": f"lies {100 * (1 - test / train):.1f}% below the training loss of the same weights",
                "tie": "is within the uncertainty of the training loss of the same weights"}[gap.verdict]
    units = "squared error per image" if loss == "squared_error" else "MSE per value"
    return Answer(f"{verdict} The test loss {held_out}.",
                  f"least-squares loss ({units}): training images {train:.4g} +- {train_se:.2g} with the final "
                  f"weights (the last epoch's running mean over its batches {running:.4g}); validation {val:.4g} "
                  f"+- {val_se:.2g} at epoch {epochs}, lowest {best:.4g} at epoch {best_epoch} (last minus lowest: "
                  f"{rise.text('.3g')}, conservative for the same images); test {test:.4g} +- {test_se:.2g} "
                  f"(test minus training: {gap.text('.3g')}). Standard errors over the images.")


def _reconstruction_quality(tables) -> Answer | None:
    """How good are the reconstructions? The test MSE against the trivial answer, the mean training image."""
    row = _last_row(tables)
    found = _numbers(row, "test_mse", "test_mse_std_error", "mean_image_test_mse", "mean_image_test_mse_std_error")
    if not found:
        return None
    mse, se, base, base_se = found
    d = difference(mse, se, base, base_se)
    if d.verdict == "lower":
        answer = (f"Better than the trivial answer: the test MSE is {base / mse:.3g} times lower than that of always "
                  f"answering the mean training image; the reconstructions remove {100 * (1 - mse / base):.1f}% of "
                  "its squared error.")
    elif d.verdict == "higher":
        answer = (f"Worse than the trivial answer: the test MSE is {100 * (mse / base - 1):.1f}% higher than that of "
                  "always answering the mean training image; the model has not learnt to reconstruct yet.")
    else:
        answer = ("Not measurably better than the trivial answer: the test MSE is within the uncertainty of that of "
                  "always answering the mean training image.")
    per_image = number(row.get("test_squared_error"))
    return Answer(answer, f"test MSE per value {mse:.4g} +- {se:.2g}"
                  + (f" ({per_image:.4g} squared error per image)" if per_image is not None else "")
                  + f" against {base:.4g} +- {base_se:.2g} for the mean training image, on the same test images; "
                  f"{d.text('.3g')}, conservative for the same images. Standard errors over the test images.")


ASKS = (
    Ask("002 problem 1 (a)", "Does the convolutional autoencoder overfit (training against validation and test loss)?",
        _overfits),
    Ask("002 problem 1 (b)", "How good are the reconstructions of the test images?", _reconstruction_quality),
)


def headline(tables) -> dict:
    """``test_mse`` (per pixel), ``test_squared_error`` (per image), ``mean_image_test_mse``."""
    rows = tables.get("test_losses", [])
    return pick(rows[-1] if rows else {}, {"test_mse": "test_mse", "test_squared_error": "test_squared_error",
                                           "mean_image_test_mse": "mean_image_test_mse"})


QUESTION = Question(
    id="D", title="convolutional autoencoder on MNIST-M, least-squares loss", sheet="002 problem 1",
    build_parser=build_parser, run=run, quick_args=tuple(QUICK_ARGS), captions=CAPTIONS,
    summary=__doc__.strip().split("\n\n")[0], reference_note=REFERENCE_NOTE, headline=headline,
    readme_metrics=("test_mse",), asks=ASKS, doc_figures=("loss_curves.png", "reconstructions.png"),
    metric_labels={"test_mse": "test MSE per pixel", "test_squared_error": "test squared error per image",
                   "mean_image_test_mse": "mean training image as reconstruction: test MSE per pixel"},
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
