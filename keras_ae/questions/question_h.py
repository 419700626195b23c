"""Question H: PCA vs a deep autoencoder with 30-dimensional codes (004 slides; Hinton & Salakhutdinov 2006).

Deep autoencoder 784-1000-500-250-30 (encoder) and 30-250-500-1000-784 (decoder): logistic
(sigmoid) units everywhere except the 30-unit code, which is linear, as in the paper. It is trained
on the 60,000 MNIST training images with the paper's cross-entropy
-sum_i [p_i ln p^_i + (1 - p_i) ln(1 - p^_i)]. The paper pretrained each layer as an RBM and then
fine-tuned with conjugate gradients; here the whole network is trained end-to-end from Glorot
weights and zero biases by Adam (lr 1e-3, batch 128); ``--hidden-activation relu`` is a modern
variant. The baseline is PCA with 30 components (scikit-learn) fitted on the same images.

Writes: rows original / deep autoencoder / PCA for test digits; the average squared
reconstruction error per test image (sum over the 784 pixels in [0, 1], mean over the test
images) of both, beside the paper's 3.00 and 13.87; the autoencoder's test error per epoch;
SavedModels of both (PCA as a linear autoencoder, so both have encode/decode/reconstruct).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from keras_ae.questions.common import (EVALUATION_BATCH_SIZE, QuestionParser, Timer, add_backup_argument,
                                      add_common_arguments, add_speed_arguments, distribution_strategy,
                                      fused_minibatch_size, jit_compile, positive_int, question_main, seed_everything,
                                      steps_per_call, verbosity)

PAPER_ERRORS = {"deep autoencoder": 3.00, "PCA": 13.87}  # Hinton & Salakhutdinov (2006), MNIST test set


def average_squared_error(x, reconstruction) -> float:
    """The paper's error: sum over pixels of (x - x^)^2, averaged over images (pixels in [0, 1])."""
    from keras_ae.losses import squared_error_per_image

    x = np.asarray(x)
    reconstruction = np.asarray(reconstruction)
    if x.shape != reconstruction.shape:
        raise ValueError(f"inputs {x.shape} and reconstructions {reconstruction.shape} differ in shape")
    return squared_error_per_image(x, reconstruction)


def squared_error_metric():
    """Keras metric: per-image sum of squared errors, averaged (the paper's number, per epoch)."""
    import keras

    from keras_ae.losses import SquaredError

    # reduction=None: one value per image, so the metric is a mean over images, not over batches
    return keras.metrics.MeanMetricWrapper(SquaredError(reduction=None), name="squared_error")


def build_model(units=(1000, 500, 250), code_dim: int = 30, hidden_activation: str = "sigmoid",
                minibatch_size: int | None = None):
    from keras_ae.models import build_dense_autoencoder

    return build_dense_autoencoder(
        input_dim=784, encoder_units=(*units, code_dim), decoder_units=tuple(reversed(units)),
        activation=hidden_activation, code_activation=None, output_activation="sigmoid", init="glorot",
        bias_initializer="zeros", name="question_h_deep_autoencoder", minibatch_size=minibatch_size,
    )


def compile_model(model, learning_rate: float, jit_compile: bool = False):
    import keras

    from keras_ae.losses import get_loss

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=get_loss("cross_entropy"),
                  metrics=[squared_error_metric()], jit_compile=jit_compile)
    return model


def one_per_class(labels: np.ndarray, per_class: int = 1) -> np.ndarray:
    """Indices of the first ``per_class`` test images of each digit 0..9, in digit order."""
    labels = np.asarray(labels)
    idx = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    return np.concatenate(idx) if per_class == 1 else np.stack(idx, axis=1).reshape(-1)


QUICK_ARGS = ["--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--units", "256", "128", "64"]
CAPTIONS = {
    "reconstructions.png": "Test digits: original (top), deep autoencoder with a 30-D code (middle), "
                           "PCA with 30 components (bottom), as in Hinton & Salakhutdinov (2006), Fig. 2.",
    "error_per_epoch.png": "Average squared reconstruction error per test image of the deep autoencoder per epoch, "
                           "with PCA's value for reference.",
}
PUBLISHED = ("Hinton & Salakhutdinov (2006): average squared reconstruction error per MNIST test image "
             "3.00 for the deep autoencoder, 13.87 for 30-component PCA.")


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run H", description=__doc__)
    parser.add_argument("--code-dim", type=positive_int, default=30, help="code size of both methods (paper: 30)")
    parser.add_argument("--units", type=positive_int, nargs="+", default=[1000, 500, 250],
                        help="encoder hidden layers (decoder mirrors them); paper: 1000 500 250")
    parser.add_argument("--hidden-activation", default="sigmoid", choices=("sigmoid", "relu", "elu"),
                        help="sigmoid: logistic units as in the paper; relu/elu: a modern variant")
    parser.add_argument("--per-class", type=positive_int, default=2, help="test digits of each class in the figure")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    return add_common_arguments(parser, "question_h", epochs=50, batch_size=128, learning_rate=1e-3)


def run(args: argparse.Namespace) -> dict:
    from keras_ae.baselines import fit_pca, pca_as_autoencoder, pca_reconstruct
    from keras_ae.callbacks import standard_callbacks
    from keras_ae.data import flatten, load_dataset, make_dataset, to_unit
    from keras_ae.errors import ConfigError
    from keras_ae.export import export_model
    from keras_ae.losses import cross_entropy_per_image
    from keras_ae.plots import plot_curves, plot_image_grid
    from keras_ae.reporting import write_table

    out = args.output_dir
    train = load_dataset("mnist", "train", args.data_dir)
    test = load_dataset("mnist", "test", args.data_dir)
    x_train = flatten(to_unit(train.images[: args.train_limit]))
    x_test, y_test = flatten(to_unit(test.images[: args.test_limit])), test.labels[: args.test_limit]
    if args.code_dim > min(x_train.shape):
        raise ConfigError(f"--code-dim {args.code_dim}: PCA of {len(x_train)} training images of 784 pixels has at "
                          f"most {min(x_train.shape)} components")
    os.makedirs(out, exist_ok=True)

    print(f"[question H] PCA with {args.code_dim} components on {len(x_train)} training images", flush=True)
    with Timer() as pca_timer:
        pca = fit_pca(x_train, args.code_dim, seed=args.seed)
        pca_test = pca_reconstruct(pca, x_test)
        pca_train_error = average_squared_error(x_train, pca_reconstruct(pca, x_train))
    pca_error = average_squared_error(x_test, pca_test)
    print(f"[question H] PCA: test error {pca_error:.2f} per image ({pca_timer.seconds:.1f} s)", flush=True)

    layers = "784-" + "-".join(map(str, (*args.units, args.code_dim)))
    print(f"[question H] deep autoencoder {layers} ({args.hidden_activation}, linear code), cross-entropy, "
          f"Adam lr {args.learning_rate}, batch {args.batch_size}, {args.epochs} epochs", flush=True)
    seed_everything(args.seed)
    with distribution_strategy(args.strategy).scope():
        model = compile_model(build_model(args.units, args.code_dim, args.hidden_activation, fused_minibatch_size(args)),
                              args.learning_rate, jit_compile(args))
    with Timer() as timer:
        history = model.fit(make_dataset(x_train, batch_size=args.batch_size, seed=args.seed,
                                         steps_per_batch=steps_per_call(args)), epochs=args.epochs,
                            validation_data=(x_test, x_test), validation_batch_size=EVALUATION_BATCH_SIZE,
                            callbacks=standard_callbacks(out, args.tensorboard, backup=args),
                            shuffle=False, verbose=verbosity(args))
    ae_test = model.predict(x_test, batch_size=1000, verbose=0)
    ae_error = average_squared_error(x_test, ae_test)
    ae_train_error = average_squared_error(x_train, model.predict(x_train, batch_size=1000, verbose=0))
    minutes = timer.seconds / 60.0
    print(f"[question H] deep autoencoder: test error {ae_error:.2f} per image after {args.epochs} epochs "
          f"({minutes:.1f} min, {timer.seconds / args.epochs:.1f} s per epoch)", flush=True)

    rows = [
        {"method": f"deep autoencoder {layers}", "code_dim": args.code_dim, "test_error": ae_error,
         "train_error": ae_train_error, "paper_test_error": PAPER_ERRORS["deep autoencoder"],
         "test_cross_entropy": cross_entropy_per_image(x_test, ae_test), "epochs": args.epochs,
         "minutes": round(minutes, 1)},
        {"method": "PCA", "code_dim": args.code_dim, "test_error": pca_error, "train_error": pca_train_error,
         "paper_test_error": PAPER_ERRORS["PCA"], "test_cross_entropy": cross_entropy_per_image(x_test, pca_test),
         "epochs": "", "minutes": round(pca_timer.seconds / 60.0, 2)},
    ]
    table = write_table(rows, os.path.join(out, "reconstruction_errors"), caption=(
        f"Question H: average squared reconstruction error per image (sum over the 784 pixels in [0, 1] of "
        f"(x - x^)^2, mean over {len(x_test)} MNIST test images; train_error the same on the {len(x_train)} "
        f"training images) with {args.code_dim}-dimensional codes. paper_test_error: Hinton & Salakhutdinov "
        "(2006), RBM-pretrained autoencoder and PCA. The autoencoder here is trained end-to-end by Adam "
        f"({args.hidden_activation} units) without pretraining; minutes: wall time of its training."))

    enough = np.bincount(y_test, minlength=10).min() >= args.per_class
    idx = one_per_class(y_test, args.per_class) if enough else np.arange(min(10, len(x_test)))
    figure = plot_image_grid(
        [("original", x_test[idx]), (f"deep AE ({ae_error:.2f})", ae_test[idx]),
         (f"PCA ({pca_error:.2f})", pca_test[idx])],
        os.path.join(out, "reconstructions.png"),
        f"Question H: MNIST test digits and their reconstructions from {args.code_dim}-d codes "
        "(average squared error per image in brackets)")
    ep = list(range(1, args.epochs + 1))
    curves = plot_curves({
        "deep autoencoder, test": (ep, history.history["val_squared_error"]),
        "deep autoencoder, train (running mean)": (ep, history.history["squared_error"]),
        f"PCA ({args.code_dim} components), test: {pca_error:.2f}": (ep, [pca_error] * len(ep)),
        "paper: deep autoencoder 3.00": (ep, [PAPER_ERRORS["deep autoencoder"]] * len(ep)),
        "paper: PCA 13.87": (ep, [PAPER_ERRORS["PCA"]] * len(ep)),
    }, os.path.join(out, "error_per_epoch.png"), "Question H: average squared error per image over training\n"
        "(flat lines: PCA and the paper's numbers)",
        ylabel="squared error per image", logy=True)

    exports = {}
    if not args.no_export:
        meta = {"question": "H", "value_range": "unit", "input": "MNIST digit flattened to 784 values in [0, 1]",
                "code_dim": args.code_dim, "seed": args.seed}
        exports["deep_autoencoder"] = str(export_model(model, os.path.join(args.saved_models_dir,
                                                                           "question_h_deep_autoencoder"), metadata={
            **meta, "layers": layers, "hidden_activation": args.hidden_activation, "epochs": args.epochs,
            "test_error": ae_error}))
        exports["pca"] = str(export_model(pca_as_autoencoder(pca, name="question_h_pca"),
                                          os.path.join(args.saved_models_dir, "question_h_pca"),
                                          metadata={**meta, "method": "PCA (scikit-learn)", "test_error": pca_error}))
    print(f"[question H] figure {figure}, table {table[0]}", flush=True)
    return {"rows": rows, "figures": [figure, curves], "tables": list(table), "saved_models": exports,
            "history": history.history}


def main(argv=None) -> int:
    return question_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
