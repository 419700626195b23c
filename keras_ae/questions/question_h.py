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
images) of both, beside the paper's numbers; the autoencoder's test error per epoch;
SavedModels of both (PCA as a linear autoencoder, so both have encode/decode/reconstruct).

``--preset hinton2006`` (or ``--pretrain-epochs N``) runs the paper's method instead: a stack of
RBMs 784-1000, 1000-500, 500-250 (logistic hidden units) and 250-30 (linear hidden units with
Gaussian noise) pretrained layer by layer with CD-1 as in Hinton & Salakhutdinov's published code
(keras_ae.models.rbm), unrolled into the same deep autoencoder and fine-tuned with the
cross-entropy, by Adam on batches of 1,000 where the paper used conjugate gradients. The network
without pretraining is trained beside it as the plain question trains it, and the figure has the
rows original / pretrained / no pretraining / PCA. Outputs in results/question_h_hinton2006 (a
folder per fit: rbm_1 ... rbm_4, fine_tuning, no_pretraining) and
saved_models/question_h_hinton2006_autoencoder, ..._rbm_1 ... _rbm_4 (docs/question_h.md, "Preset
hinton2006").
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_ae.questions.common import (data_options, EVALUATION_BATCH_SIZE, QuestionParser, Timer, add_backup_argument,
                                      add_common_arguments, add_preset_argument, add_speed_arguments,
                                      distribution_strategy, fused_minibatch_size, jit_compile, nonnegative_int,
                                      positive_int, seed_everything, verbosity)
from keras_ae.questions.spec import (Answer, Ask, Provenance, Question, RunResult, number, pick, preset_help,
                                     row_where)
from keras_ae.references import HINTON2006_DEEP_AUTOENCODER, HINTON2006_PCA
from keras_ae.verdicts import Difference, against_reference

PAPER_ERRORS = {"deep autoencoder": HINTON2006_DEEP_AUTOENCODER.value, "PCA": HINTON2006_PCA.value}
DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE = 50, 128, 1e-3  # the network without pretraining

# --preset hinton2006: Hinton & Salakhutdinov (2006) and their Matlab code (mnistdeepauto.m, rbm.m,
# rbmhidlinear.m, backprop.m). Pretraining: 50 epochs of CD-1 per RBM (the paper's number; the demo
# script uses 10), the RBMs' other settings are those of keras_ae.models.rbm. Fine-tuning: the paper
# ran 200 epochs of conjugate gradients (3 line searches per batch of 1,000 images); here Adam on
# the same batches of 1,000 (see docs/question_h.md for the choice of its learning rate and epochs).
SAVED_MODEL_PREFIX = "question_h_hinton2006"
HINTON2006 = {"output_dir": os.path.join("results", "question_h_hinton2006"), "pretrain_epochs": 50,
              "epochs": 200, "batch_size": 1000, "learning_rate": 1e-3, "baseline_epochs": DEFAULT_EPOCHS}
PRESETS = {"hinton2006": HINTON2006}


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
REFERENCE_NOTE = ("Hinton & Salakhutdinov (2006): average squared reconstruction error per MNIST test image "
                  f"{HINTON2006_DEEP_AUTOENCODER.value:.2f} for the deep autoencoder, {HINTON2006_PCA.value:.2f} "
                  "for 30-component PCA.")


PRESET_CAPTIONS = {"hinton2006": {
    "reconstructions.png": "Test digits: original (top), the RBM-pretrained and fine-tuned deep autoencoder with a "
                           "30-D code, the same network trained without pretraining, PCA with 30 components (bottom), "
                           "as in Hinton & Salakhutdinov (2006), Fig. 2.",
    "error_per_epoch.png": "Average squared reconstruction error per test image during fine-tuning of the "
                           "RBM-pretrained autoencoder (epoch 0: the unrolled RBM stack) and during training of the "
                           "network without pretraining, with PCA's value and the paper's numbers for reference.",
    "rbm_pretraining.png": "Reconstruction error of each RBM of the stack per epoch of CD-1 pretraining (training "
                           "rows, from the sampled hidden states, as the paper's code prints it).",
}}




# what each --preset is, in one line (its --preset help, its heading in the report and results.md)
PRESET_TITLES = {
    "hinton2006": "Hinton & Salakhutdinov 2006's method, RBM pretraining then fine-tuning (Adam on the paper's "
                  f"batches of 1,000 instead of conjugate gradients; published "
                  f"{HINTON2006_DEEP_AUTOENCODER.value:.2f} per test image), {SAVED_MODEL_PREFIX}_* SavedModels"}


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run H", description=__doc__)
    parser.add_argument("--code-dim", type=positive_int, default=30, help="code size of both methods (paper: 30)")
    parser.add_argument("--units", type=positive_int, nargs="+", default=[1000, 500, 250],
                        help="encoder hidden layers (decoder mirrors them); paper: 1000 500 250")
    parser.add_argument("--hidden-activation", default="sigmoid", choices=("sigmoid", "relu", "elu"),
                        help="sigmoid: logistic units as in the paper; relu/elu: a modern variant")
    parser.add_argument("--per-class", type=positive_int, default=2, help="test digits of each class in the figure")
    g = parser.add_argument_group("RBM pretraining (Hinton & Salakhutdinov 2006; --preset hinton2006)")
    g.add_argument("--pretrain-epochs", type=nonnegative_int, default=0,
                   help="epochs of CD-1 for each RBM of the stack 784-units-code (logistic hidden units, linear "
                        "Gaussian code units; SGD lr 0.1, 0.001 for the code layer, momentum 0.5 then 0.9 after 5 "
                        "epochs, weight cost 0.0002, batches of 100, as the paper's code). Above 0 the stack is "
                        "unrolled into the deep autoencoder, which is then fine-tuned with --epochs, --batch-size and "
                        "--learning-rate (Adam, cross-entropy), and the network without pretraining is trained "
                        "beside it for comparison; 0: no pretraining, the plain question (default: %(default)s)")
    g.add_argument("--baseline-epochs", type=positive_int, default=DEFAULT_EPOCHS,
                   help="with --pretrain-epochs: epochs of the comparison network without pretraining, trained as "
                        f"the plain question trains it (Adam lr {DEFAULT_LEARNING_RATE}, batch {DEFAULT_BATCH_SIZE}) "
                        "(default: %(default)s)")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    add_common_arguments(parser, "question_h", epochs=DEFAULT_EPOCHS, batch_size=DEFAULT_BATCH_SIZE,
                         learning_rate=DEFAULT_LEARNING_RATE)
    return add_preset_argument(parser, PRESETS, help=preset_help(PRESETS, PRESET_TITLES))


def train_without_pretraining(args, x_train, x_test, run_dir: str, epochs: int, batch_size: int,
                              learning_rate: float, backup, keep_finished: bool = False):
    """The deep autoencoder from Glorot weights, trained by Adam with the cross-entropy (the plain
    question's network); returns ``(model, history, seconds)``. The run's seed is set first, so
    the same options give the same network wherever it is trained."""
    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    seed_everything(args.seed)
    minibatch = batch_size if fused_minibatch_size(args) else None
    with distribution_strategy(args.strategy).scope():
        model = compile_model(build_model(args.units, args.code_dim, args.hidden_activation, minibatch),
                              learning_rate, jit_compile(args))
    callbacks = standard_callbacks(run_dir, args.tensorboard, backup=backup, keep_finished=keep_finished)
    start = resume_from(callbacks, model, epochs)
    with Timer(callbacks) as timer:
        history = model.fit(make_dataset(x_train, batch_size=batch_size, **data_options(args, start)),
                            initial_epoch=start, epochs=epochs,
                            validation_data=(x_test, x_test), validation_batch_size=EVALUATION_BATCH_SIZE,
                            callbacks=callbacks, shuffle=False, verbose=verbosity(args))
    return model, history, timer.seconds


def layers_of(args: argparse.Namespace) -> str:
    """``784-1000-500-250-30``: the encoder's sizes."""
    return "784-" + "-".join(map(str, (*args.units, args.code_dim)))


# ---- stage 1: load the data


@dataclass(frozen=True)
class Data:
    """The run's MNIST images, flattened to 784 values in [0, 1]."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_data(args: argparse.Namespace) -> Data:
    """The ``--train-limit`` / ``--test-limit`` slices of MNIST; options the data or an RBM cannot
    take are refused (ConfigError) before the output folder is made."""
    from keras_ae.data import flatten, load_dataset, to_unit
    from keras_ae.errors import ConfigError

    train = load_dataset("mnist", "train", args.data_dir)
    test = load_dataset("mnist", "test", args.data_dir)
    x_train = flatten(to_unit(train.images[: args.train_limit]))
    x_test, y_test = flatten(to_unit(test.images[: args.test_limit])), test.labels[: args.test_limit]
    if args.code_dim > min(x_train.shape):
        raise ConfigError(f"--code-dim {args.code_dim}: PCA of {len(x_train)} training images of 784 pixels has at "
                          f"most {min(x_train.shape)} components")
    if args.pretrain_epochs and args.hidden_activation != "sigmoid":
        raise ConfigError(f"--pretrain-epochs {args.pretrain_epochs} pretrains RBMs, whose hidden units are logistic: "
                          f"--hidden-activation {args.hidden_activation} has no RBM counterpart (use sigmoid)")
    os.makedirs(args.output_dir, exist_ok=True)
    return Data(x_train, x_test, y_test)


# ---- stage 2: train (PCA, then the network of the plain question or the paper's method)


@dataclass(frozen=True)
class PcaFit:
    """PCA fitted on the training images: its reconstructions of the test images, its error on the
    training images and the seconds of the fit (with both reconstructions)."""

    pca: Any
    test: np.ndarray
    train_error: float
    seconds: float


@dataclass(frozen=True)
class Network:
    """A trained network: the Keras model, its fit's per-epoch history and the seconds of the fit."""

    model: Any
    history: dict
    seconds: float


def fit_pca_baseline(args: argparse.Namespace, data: Data) -> PcaFit:
    from keras_ae.baselines import fit_pca, pca_reconstruct

    print(f"[question H] PCA with {args.code_dim} components on {len(data.x_train)} training images", flush=True)
    with Timer() as timer:
        pca = fit_pca(data.x_train, args.code_dim, seed=args.seed)
        test = pca_reconstruct(pca, data.x_test)
        train_error = average_squared_error(data.x_train, pca_reconstruct(pca, data.x_train))
    print(f"[question H] PCA: test error {average_squared_error(data.x_test, test):.2f} per image "
          f"({timer.seconds:.1f} s)", flush=True)
    return PcaFit(pca, test, train_error, timer.seconds)


def train_plain(args: argparse.Namespace, data: Data) -> Network:
    """The plain question's network: the deep autoencoder from Glorot weights, ``--epochs`` of Adam."""
    print(f"[question H] deep autoencoder {layers_of(args)} ({args.hidden_activation}, linear code), cross-entropy, "
          f"Adam lr {args.learning_rate}, batch {args.batch_size}, {args.epochs} epochs", flush=True)
    model, history, seconds = train_without_pretraining(args, data.x_train, data.x_test, args.output_dir, args.epochs,
                                                        args.batch_size, args.learning_rate, backup=args)
    return Network(model, history.history, seconds)


def pretrain_rbm_stack(args, x_train, out: str) -> tuple[list, list[dict], float]:
    """The RBM stack 784-units-code trained layer by layer with CD-1, each RBM on the hidden
    probabilities of the one below for the training rows, each fit with its own per-epoch backup
    in ``out/rbm_<k>``; returns the RBMs, a summary of each and the seconds that interrupted attempts
    spent before a resume (already in the summaries' ``seconds``)."""
    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset
    from keras_ae.models.rbm import (BATCH_SIZE, LEARNING_RATES, build_rbm_stack, compile_rbm, hidden_probabilities,
                                     rbm_callbacks)

    seed_everything(args.seed)
    strategy = distribution_strategy(args.strategy)
    with strategy.scope():
        rbms = build_rbm_stack(784, args.units, args.code_dim, seed=args.seed, name=f"{SAVED_MODEL_PREFIX}_rbm",
                               minibatch_size=BATCH_SIZE if fused_minibatch_size(args) else None)
    data, summaries, resumed = x_train, [], 0.0
    for k, rbm in enumerate(rbms, start=1):
        kind = "linear hidden units with Gaussian noise" if rbm.hidden_type == "gaussian" else "logistic hidden units"
        rate = LEARNING_RATES[rbm.hidden_type]
        print(f"[question H] RBM {k}/{len(rbms)} {rbm.visible_units}-{rbm.hidden_units} ({kind}): CD-1 on {len(data)} "
              f"rows, SGD lr {rate}, momentum 0.5 then 0.9, weight cost {rbm.weight_cost}, batch {BATCH_SIZE}, "
              f"{args.pretrain_epochs} epochs", flush=True)
        with strategy.scope():
            compile_rbm(rbm, jit_compile=jit_compile(args))
        # a finished RBM is kept (keep_finished): a run killed in a later stage does not train it again
        callbacks = standard_callbacks(os.path.join(out, f"rbm_{k}"), args.tensorboard,
                                       backup={**vars(args), "stage": f"rbm_{k}"}, keep_finished=True) + rbm_callbacks()
        start = resume_from(callbacks, rbm, args.pretrain_epochs)
        with Timer(callbacks) as timer:
            history = rbm.fit(make_dataset(data, batch_size=BATCH_SIZE, **data_options(args, start)),
                              initial_epoch=start, epochs=args.pretrain_epochs,
                              callbacks=callbacks, shuffle=False, verbose=verbosity(args))
        error, energy = history.history["reconstruction_error"][-1], history.history["free_energy"][-1]
        print(f"[question H] RBM {k}: reconstruction error {error:.2f} per row, free energy {energy:.1f} in the last "
              f"epoch ({timer.seconds:.1f} s)", flush=True)
        summaries.append({"rbm": k, "layers": f"{rbm.visible_units}-{rbm.hidden_units}",
                          "hidden_units": rbm.hidden_type, "learning_rate": rate, "epochs": args.pretrain_epochs,
                          "reconstruction_error": float(error), "free_energy": float(energy),
                          "seconds": round(timer.seconds, 1), "history": history.history})
        resumed += timer.resumed
        if k < len(rbms):
            data = hidden_probabilities(rbm, data)
    return rbms, summaries, resumed


def fine_tune(args: argparse.Namespace, model, data: Data) -> Network:
    """``--epochs`` of Adam with the cross-entropy on the unrolled stack ``model`` (in place), with
    its per-epoch backup in ``fine_tuning`` kept until the run completes."""
    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    callbacks = standard_callbacks(os.path.join(args.output_dir, "fine_tuning"), args.tensorboard,
                                   backup={**vars(args), "stage": "fine_tuning"}, keep_finished=True)
    start = resume_from(callbacks, model, args.epochs)
    with Timer(callbacks) as timer:
        history = model.fit(make_dataset(data.x_train, batch_size=args.batch_size, **data_options(args, start)),
                            initial_epoch=start, epochs=args.epochs,
                            validation_data=(data.x_test, data.x_test), validation_batch_size=EVALUATION_BATCH_SIZE,
                            callbacks=callbacks, shuffle=False, verbose=verbosity(args))
    return Network(model, history.history, timer.seconds)


@dataclass(frozen=True)
class Hinton2006:
    """What the paper's method trained: the RBMs and their summaries, the seconds of pretraining,
    the unrolled stack's test reconstructions and training error before fine-tuning, the
    fine-tuned network and the comparison network without pretraining."""

    rbms: list
    summaries: list
    pretraining_seconds: float
    unrolled_test: np.ndarray
    unrolled_train_error: float
    tuned: Network
    baseline: Network


def train_hinton2006(args: argparse.Namespace, data: Data) -> Hinton2006:
    """RBM pretraining, unrolling, fine-tuning; then the network without pretraining, trained as the
    plain question trains it. Each stage's fit keeps its finished backup until the end, so a run
    killed in a later stage resumes there without training the finished stages again."""
    from keras_ae.models.rbm import unroll_rbm_stack

    layers = layers_of(args)
    print(f"[question H] Hinton & Salakhutdinov (2006): RBM pretraining of the deep autoencoder {layers}, "
          f"{len(args.units) + 1} RBMs of {args.pretrain_epochs} epochs each, then fine-tuning", flush=True)
    with Timer() as pretraining:
        rbms, summaries, resumed = pretrain_rbm_stack(args, data.x_train, args.output_dir)
    pretraining.seconds += resumed  # the RBM interrupted by a kill: its epochs before the resume
    with distribution_strategy(args.strategy).scope():
        model = compile_model(unroll_rbm_stack(rbms, name=f"{SAVED_MODEL_PREFIX}_autoencoder",
                                               minibatch_size=fused_minibatch_size(args)),
                              args.learning_rate, jit_compile(args))
    unrolled_test, unrolled_train_error = reconstruct(model, data)  # before fine-tuning changes the model
    print(f"[question H] unrolled RBM stack, before fine-tuning: test error "
          f"{average_squared_error(data.x_test, unrolled_test):.2f} per image; fine-tuning with the cross-entropy, "
          f"Adam lr {args.learning_rate}, batch {args.batch_size}, {args.epochs} epochs", flush=True)
    tuned = fine_tune(args, model, data)
    print(f"[question H] RBM-pretrained deep autoencoder: {args.epochs} epochs of fine-tuning "
          f"({pretraining.seconds / 60.0:.1f} min pretraining, {tuned.seconds / 60.0:.1f} min fine-tuning)", flush=True)
    print(f"[question H] comparison: the deep autoencoder {layers} without pretraining, trained as the plain question "
          f"trains it (Glorot weights, Adam lr {DEFAULT_LEARNING_RATE}, batch {DEFAULT_BATCH_SIZE}, "
          f"{args.baseline_epochs} epochs)", flush=True)
    model, history, seconds = train_without_pretraining(
        args, data.x_train, data.x_test, os.path.join(args.output_dir, "no_pretraining"), args.baseline_epochs,
        DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE, backup={**vars(args), "stage": "no_pretraining"},
        keep_finished=True)
    return Hinton2006(rbms, summaries, pretraining.seconds, unrolled_test, unrolled_train_error, tuned,
                      Network(model, history.history, seconds))


# ---- stage 3: evaluate (the rows of reconstruction_errors: pure functions of arrays)


def reconstruct(model, data: Data) -> tuple[np.ndarray, float]:
    """The model's reconstructions of the test images and its error on the training images."""
    test = model.predict(data.x_test, batch_size=EVALUATION_BATCH_SIZE, verbose=0)
    train = model.predict(data.x_train, batch_size=EVALUATION_BATCH_SIZE, verbose=0)
    return test, average_squared_error(data.x_train, train)


def squared_errors(x, reconstruction) -> np.ndarray:
    """Per image, the sum over pixels of (x - x^)^2 (float64): the values whose mean is
    :func:`average_squared_error`."""
    d = np.asarray(x, np.float64) - np.asarray(reconstruction, np.float64)
    return np.sum(d.reshape(len(d), -1) ** 2, axis=1)


def error_row(method: str, code_dim: int, x_test, test, train_error: float, paper, pca_test=None,
              **training) -> dict:
    """A row of reconstruction_errors: a method's ``test_error`` (the paper's error of its test
    reconstructions ``test``), its ``train_error``, the paper's number (``""``: none), its
    cross-entropy per test image, then ``training`` (epochs, minutes, ...) in the given order; then
    the standard error of ``test_error`` over the test images and, given PCA's reconstructions of
    the same images ``pca_test``, the paired difference: the mean over the test images of the
    method's error minus PCA's on the same image, with its standard error (``""`` without)."""
    from keras_ae.losses import cross_entropy_per_image
    from keras_ae.verdicts import mean_std_error

    errors = squared_errors(x_test, test)
    paired = mean_std_error(errors - squared_errors(x_test, pca_test)) if pca_test is not None else ("", "")
    return {"method": method, "code_dim": code_dim, "test_error": average_squared_error(x_test, test),
            "train_error": train_error, "paper_test_error": paper,
            "test_cross_entropy": cross_entropy_per_image(x_test, test), **training,
            "test_error_std_error": mean_std_error(errors)[1], "test_error_minus_pca": paired[0],
            "test_error_minus_pca_std_error": paired[1], "test_images": len(errors)}


def pca_row(code_dim: int, x_test, pca: PcaFit, pretrain_epochs: bool = False) -> dict:
    """PCA's row (with an empty ``pretrain_epochs`` where the table has that column)."""
    extra = {"pretrain_epochs": ""} if pretrain_epochs else {}
    return error_row("PCA", code_dim, x_test, pca.test, pca.train_error, PAPER_ERRORS["PCA"], **extra, epochs="",
                     minutes=round(pca.seconds / 60.0, 2))


def evaluate_plain(args: argparse.Namespace, data: Data, pca: PcaFit, network: Network) -> tuple[list[dict], dict]:
    """The rows deep autoencoder / PCA and the test reconstructions of both (method -> array)."""
    test, train_error = reconstruct(network.model, data)
    rows = [error_row(f"deep autoencoder {layers_of(args)}", args.code_dim, data.x_test, test, train_error,
                      PAPER_ERRORS["deep autoencoder"], pca.test, epochs=args.epochs,
                      minutes=round(network.seconds / 60.0, 1)),
            pca_row(args.code_dim, data.x_test, pca)]
    print(f"[question H] deep autoencoder: test error {rows[0]['test_error']:.2f} per image after {args.epochs} "
          f"epochs ({network.seconds / 60.0:.1f} min, {network.seconds / args.epochs:.1f} s per epoch)", flush=True)
    return rows, {"deep autoencoder": test, "PCA": pca.test}


def evaluate_hinton2006(args: argparse.Namespace, data: Data, pca: PcaFit,
                        trained: Hinton2006) -> tuple[list[dict], dict]:
    """The rows pretrained and fine-tuned / unrolled stack / without pretraining / PCA and the test
    reconstructions of the three shown in the figure (method -> array)."""
    layers = layers_of(args)
    tuned_test, tuned_train_error = reconstruct(trained.tuned.model, data)
    baseline_test, baseline_train_error = reconstruct(trained.baseline.model, data)
    minutes = (trained.pretraining_seconds + trained.tuned.seconds) / 60.0
    rows = [
        error_row(f"deep autoencoder {layers}, RBM-pretrained and fine-tuned", args.code_dim, data.x_test, tuned_test,
                  tuned_train_error, PAPER_ERRORS["deep autoencoder"], pca.test,
                  pretrain_epochs=args.pretrain_epochs, epochs=args.epochs, minutes=round(minutes, 1)),
        error_row(f"RBM stack {layers} unrolled, before fine-tuning", args.code_dim, data.x_test,
                  trained.unrolled_test, trained.unrolled_train_error, "", pca.test,
                  pretrain_epochs=args.pretrain_epochs,
                  epochs=0, minutes=round(trained.pretraining_seconds / 60.0, 1)),
        error_row(f"deep autoencoder {layers} without pretraining", args.code_dim, data.x_test, baseline_test,
                  baseline_train_error, "", pca.test, pretrain_epochs="", epochs=args.baseline_epochs,
                  minutes=round(trained.baseline.seconds / 60.0, 1)),
        pca_row(args.code_dim, data.x_test, pca, pretrain_epochs=True),
    ]
    print(f"[question H] RBM-pretrained deep autoencoder: test error {rows[0]['test_error']:.2f} per image; without "
          f"pretraining: {rows[2]['test_error']:.2f} ({trained.baseline.seconds / 60.0:.1f} min)", flush=True)
    return rows, {"pretrained": tuned_test, "no pretraining": baseline_test, "PCA": pca.test}


# ---- stage 4: write the table, figures and SavedModels


UNCERTAINTY_COLUMNS = (
    "test_error_std_error: the standard error of test_error over the test_images test images; test_error_minus_pca: "
    "the mean over the same test images of the method's error minus PCA's on that image (a paired difference), "
    "with its standard error test_error_minus_pca_std_error.")


def figure_digits(y_test, per_class: int) -> np.ndarray:
    """The test images the reconstruction figure shows: the first ``per_class`` of each digit, or
    the first ten where some digit has fewer (a small ``--test-limit``)."""
    enough = np.bincount(y_test, minlength=10).min() >= per_class
    return one_per_class(y_test, per_class) if enough else np.arange(min(10, len(y_test)))


def reference_curves(epochs: list, pca_error: float, code_dim: int) -> dict:
    """The flat lines of the per-epoch figure: PCA's test error and the paper's two numbers."""
    return {f"PCA ({code_dim} components), test: {pca_error:.2f}": (epochs, [pca_error] * len(epochs)),
            **{f"paper: {method} {value:.2f}": (epochs, [value] * len(epochs))
               for method, value in PAPER_ERRORS.items()}}


def write_plain(args: argparse.Namespace, data: Data, pca: PcaFit, network: Network, rows: list[dict],
                tests: dict) -> RunResult:
    from keras_ae.baselines import pca_as_autoencoder
    from keras_ae.export import export_model
    from keras_ae.plots import plot_curves, plot_image_grid
    from keras_ae.reporting import write_table

    out, ae_error, pca_error = args.output_dir, rows[0]["test_error"], rows[1]["test_error"]
    table = write_table(rows, os.path.join(out, "reconstruction_errors"), caption=(
        f"Question H: average squared reconstruction error per image (sum over the 784 pixels in [0, 1] of "
        f"(x - x^)^2, mean over {len(data.x_test)} MNIST test images; train_error the same on the "
        f"{len(data.x_train)} training images) with {args.code_dim}-dimensional codes. paper_test_error: Hinton & "
        "Salakhutdinov (2006), RBM-pretrained autoencoder and PCA. The autoencoder here is trained end-to-end by Adam "
        f"({args.hidden_activation} units) without pretraining; minutes: wall time of its training. "
        + UNCERTAINTY_COLUMNS))
    idx = figure_digits(data.y_test, args.per_class)
    figure = plot_image_grid(
        [("original", data.x_test[idx]), (f"deep AE ({ae_error:.2f})", tests["deep autoencoder"][idx]),
         (f"PCA ({pca_error:.2f})", tests["PCA"][idx])],
        os.path.join(out, "reconstructions.png"),
        f"Question H: MNIST test digits and their reconstructions from {args.code_dim}-d codes "
        "(average squared error per image in brackets)")
    ep = list(range(1, args.epochs + 1))
    curves = plot_curves({
        "deep autoencoder, test": (ep, network.history["val_squared_error"]),
        "deep autoencoder, train (running mean)": (ep, network.history["squared_error"]),
        **reference_curves(ep, pca_error, args.code_dim),
    }, os.path.join(out, "error_per_epoch.png"), "Question H: average squared error per image over training\n"
        "(flat lines: PCA and the paper's numbers)",
        ylabel="squared error per image", logy=True)

    exports = {}
    if not args.no_export:
        meta = {"question": "H", "value_range": "unit", "input": "MNIST digit flattened to 784 values in [0, 1]",
                "code_dim": args.code_dim, "seed": args.seed}
        exports["deep_autoencoder"] = str(export_model(network.model, os.path.join(
            args.saved_models_dir, "question_h_deep_autoencoder"), metadata={
            **meta, "layers": layers_of(args), "hidden_activation": args.hidden_activation, "epochs": args.epochs,
            "test_error": ae_error}))
        exports["pca"] = str(export_model(pca_as_autoencoder(pca.pca, name="question_h_pca"),
                                          os.path.join(args.saved_models_dir, "question_h_pca"),
                                          metadata={**meta, "method": "PCA (scikit-learn)", "test_error": pca_error}))
    print(f"[question H] figure {figure}, table {table[0]}", flush=True)
    return RunResult.of(QUESTION, figures=[figure, curves], tables=table, models=exports,
                        details={"rows": rows, "history": network.history})


def write_hinton2006_figures(args: argparse.Namespace, data: Data, trained: Hinton2006, rows: list[dict],
                             tests: dict) -> list[str]:
    """reconstructions.png (original / pretrained / no pretraining / PCA), error_per_epoch.png and
    rbm_pretraining.png."""
    from keras_ae.plots import plot_curves, plot_image_grid

    out = args.output_dir
    errors = {"pretrained": rows[0]["test_error"], "no pretraining": rows[2]["test_error"],
              "PCA": rows[3]["test_error"]}
    idx = figure_digits(data.y_test, args.per_class)
    figure = plot_image_grid(
        [("original", data.x_test[idx]), (f"pretrained\n({errors['pretrained']:.2f})", tests["pretrained"][idx]),
         (f"no pretraining\n({errors['no pretraining']:.2f})", tests["no pretraining"][idx]),
         (f"PCA ({errors['PCA']:.2f})", tests["PCA"][idx])],
        os.path.join(out, "reconstructions.png"),
        f"Question H, Hinton & Salakhutdinov (2006): MNIST test digits and their reconstructions from "
        f"{args.code_dim}-d codes by the RBM-pretrained deep autoencoder, the same network without pretraining "
        "and PCA\n(average squared error per image in brackets)")
    tuned = list(range(0, args.epochs + 1))
    plain = list(range(1, args.baseline_epochs + 1))
    span = list(range(0, max(args.epochs, args.baseline_epochs) + 1))
    curves = plot_curves({
        "RBM-pretrained, fine-tuning, test (epoch 0: unrolled stack)": (
            tuned, [rows[1]["test_error"], *trained.tuned.history["val_squared_error"]]),
        "RBM-pretrained, fine-tuning, train (running mean)": (tuned[1:], trained.tuned.history["squared_error"]),
        "no pretraining, test": (plain, trained.baseline.history["val_squared_error"]),
        **reference_curves(span, errors["PCA"], args.code_dim),
    }, os.path.join(out, "error_per_epoch.png"), "Question H, Hinton & Salakhutdinov (2006): average squared error "
        "per image\n(flat lines: PCA and the paper's numbers)", ylabel="squared error per image", logy=True)
    pretraining_curves = plot_curves(
        {f"RBM {s['rbm']} {s['layers']} ({s['hidden_units']})":
         (list(range(1, len(s["history"]["reconstruction_error"]) + 1)), s["history"]["reconstruction_error"])
         for s in trained.summaries},
        os.path.join(out, "rbm_pretraining.png"), "Question H: CD-1 pretraining of the RBM stack\n"
        "(reconstruction error from sampled hidden states, training rows)",
        ylabel="squared error per row", logy=True)
    return [figure, curves, pretraining_curves]


def export_hinton2006(args: argparse.Namespace, trained: Hinton2006, rows: list[dict]) -> dict:
    """SavedModels of the fine-tuned autoencoder and of each RBM (name -> folder)."""
    from keras_ae.export import export_model

    meta = {"question": "H", "preset": args.preset, "value_range": "unit", "seed": args.seed,
            "method": "Hinton & Salakhutdinov (2006): RBM pretraining, unrolling, fine-tuning"}
    exports = {"autoencoder": str(export_model(trained.tuned.model, os.path.join(
        args.saved_models_dir, f"{SAVED_MODEL_PREFIX}_autoencoder"), metadata={
        **meta, "input": "MNIST digit flattened to 784 values in [0, 1]", "code_dim": args.code_dim,
        "layers": layers_of(args), "pretrain_epochs": args.pretrain_epochs, "epochs": args.epochs,
        "batch_size": args.batch_size, "learning_rate": args.learning_rate, "optimizer": "Adam",
        "test_error": rows[0]["test_error"], "test_error_before_fine_tuning": rows[1]["test_error"]}))}
    for rbm, summary in zip(trained.rbms, trained.summaries):
        k = summary["rbm"]
        below = ("MNIST digit flattened to 784 values in [0, 1]" if k == 1 else
                 f"the hidden probabilities (encode) of {SAVED_MODEL_PREFIX}_rbm_{k - 1}, {rbm.visible_units} "
                 "values in [0, 1]")
        exports[f"rbm_{k}"] = str(export_model(rbm, os.path.join(args.saved_models_dir,
                                                                 f"{SAVED_MODEL_PREFIX}_rbm_{k}"), metadata={
            **meta, "input": below, "code_dim": rbm.hidden_units, "layer": k, "layers": summary["layers"],
            "hidden_units": rbm.hidden_type, "epochs": args.pretrain_epochs,
            "learning_rate": summary["learning_rate"], "weight_cost": rbm.weight_cost,
            "train_reconstruction_error": summary["reconstruction_error"]}))
    return exports


def write_hinton2006(args: argparse.Namespace, data: Data, trained: Hinton2006, rows: list[dict],
                     tests: dict) -> RunResult:
    from keras_ae.callbacks import discard_backups
    from keras_ae.reporting import write_table

    out = args.output_dir
    table = write_table(rows, os.path.join(out, "reconstruction_errors"), caption=(
        f"Question H, Hinton & Salakhutdinov (2006)'s method: average squared reconstruction error per image (sum "
        f"over the 784 pixels in [0, 1] of (x - x^)^2, mean over {len(data.x_test)} MNIST test images; train_error "
        f"the same on the {len(data.x_train)} training images) with {args.code_dim}-dimensional codes. The RBM stack "
        f"is pretrained with CD-1 for pretrain_epochs epochs per RBM, unrolled, and fine-tuned with the cross-entropy "
        f"by Adam (lr {args.learning_rate}, batches of {args.batch_size}) for epochs epochs; the paper fine-tuned by "
        "conjugate gradients for 200 epochs. The network without pretraining starts from Glorot weights (Adam lr "
        f"{DEFAULT_LEARNING_RATE}, batch {DEFAULT_BATCH_SIZE}). paper_test_error: Hinton & Salakhutdinov (2006). "
        "minutes: wall time of pretraining plus fine-tuning, of pretraining alone, of the training without "
        "pretraining, of PCA. " + UNCERTAINTY_COLUMNS))
    figures = write_hinton2006_figures(args, data, trained, rows, tests)
    exports = {} if args.no_export else export_hinton2006(args, trained, rows)
    # every stage's output is written: their finished backups are no longer needed
    discard_backups(*[os.path.join(out, f"rbm_{k}") for k in range(1, len(trained.rbms) + 1)],
                    os.path.join(out, "fine_tuning"), os.path.join(out, "no_pretraining"))
    print(f"[question H] figure {figures[0]}, table {table[0]}", flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=table, models=exports,
                        details={"rows": rows, "history": trained.tuned.history,
                                 "baseline_history": trained.baseline.history,
                                 "pretraining": [{k: v for k, v in s.items() if k != "history"}
                                                 for s in trained.summaries]})


def run(args: argparse.Namespace) -> RunResult:
    """PCA and the deep autoencoder (``--pretrain-epochs`` above 0: the paper's method, beside the
    network without pretraining): load -> train -> evaluate -> write."""
    data = load_data(args)
    pca = fit_pca_baseline(args, data)
    if args.pretrain_epochs:
        return run_hinton2006(args, data, pca)
    network = train_plain(args, data)
    rows, tests = evaluate_plain(args, data, pca, network)
    return write_plain(args, data, pca, network, rows, tests)


def run_hinton2006(args: argparse.Namespace, data: Data, pca: PcaFit) -> RunResult:
    """Hinton & Salakhutdinov (2006): RBM pretraining, unrolling, fine-tuning, with the network
    without pretraining and PCA beside it."""
    trained = train_hinton2006(args, data)
    rows, tests = evaluate_hinton2006(args, data, pca, trained)
    return write_hinton2006(args, data, trained, rows, tests)


def _networks_and_pca(tables) -> tuple[list[dict], dict]:
    """The deep autoencoder rows of reconstruction_errors that carry the paired difference from PCA
    (the headline network first), and PCA's row."""
    rows = tables.get("reconstruction_errors", [])
    networks = [r for r in rows if str(r.get("method", "")).startswith("deep autoencoder")
                and number(r.get("test_error_minus_pca")) is not None
                and number(r.get("test_error_minus_pca_std_error")) is not None]
    return networks, row_where(rows, "method", "PCA")


def _better_than_pca(tables) -> Answer | None:
    """Each deep autoencoder against PCA on the same test images: the mean of the per-image
    difference of their squared errors, with a 95 % interval from its standard error."""
    networks, pca = _networks_and_pca(tables)
    pca_error, pca_se = number(pca.get("test_error")), number(pca.get("test_error_std_error"))
    if not networks or pca_error is None or pca_se is None:
        return None
    parts, evidence = [], []
    for row in networks:
        d = Difference(number(row["test_error_minus_pca"]), number(row["test_error_minus_pca_std_error"]))
        if not parts:  # the headline network
            code = f"the same {row.get('code_dim') or '?'}-d code"
            parts.append({"lower": f"Yes: {row['method']} reconstructs the test digits better than PCA with {code}",
                          "higher": f"No: PCA reconstructs the test digits better than {row['method']} with {code}",
                          "tie": f"Not shown: {row['method']} and PCA with {code} differ by less than the "
                                 "uncertainty"}[d.verdict])
        else:
            parts.append(f"{row['method']}: " + {"lower": "better than PCA", "higher": "worse than PCA",
                                                  "tie": "no difference from PCA shown"}[d.verdict])
        evidence.append(f"{row['method']} {number(row['test_error']):.3g} +- "
                        f"{number(row.get('test_error_std_error')) or 0:.2g}, paired per-image {d.text('.3g')}")
    return Answer("; ".join(parts) + ".",
                  f"squared error per test image (sum over pixels, standard error over the "
                  f"{pca.get('test_images') or '?'} test images): PCA {pca_error:.3g} +- {pca_se:.2g}; "
                  + "; ".join(evidence) + " (autoencoder minus PCA, image by image).")


def _against_the_paper(tables) -> Answer | None:
    """The headline network's and PCA's test errors against Hinton & Salakhutdinov's 3.00 and 13.87:
    above, below or within the 95 % interval of the measurement (the paper gives no uncertainty)."""
    rows = tables.get("reconstruction_errors", [])
    parts, evidence, code_dims = [], [], set()
    for prefix, label, reference in (("deep autoencoder", "the deep autoencoder", HINTON2006_DEEP_AUTOENCODER),
                                     ("PCA", "PCA", HINTON2006_PCA)):
        row = row_where(rows, "method", prefix)
        error, se = number(row.get("test_error")), number(row.get("test_error_std_error"))
        if error is None or se is None:
            continue
        d, paper = against_reference(error, se, reference.value, reference.std_error), reference.value
        parts.append(f"{label}: {error:.2f} per test image, " + {
            "lower": f"{paper - error:.2f} below the paper's {paper:.2f} (better, beyond the uncertainty)",
            "higher": f"{error - paper:.2f} above the paper's {paper:.2f} (worse, beyond the uncertainty)",
            "tie": f"within the uncertainty of the paper's {paper:.2f}"}[d.verdict])
        evidence.append(f"{row['method']} {error:.3g} +- {se:.2g} against {reference.text()}: {d.text('.3g')}")
        code_dims.add(row.get("code_dim"))
    if not parts:
        return None
    text = "; ".join(parts)
    other = sorted(str(c) for c in code_dims if number(c) != 30)
    note = f" These codes have {', '.join(other)} dimensions, the paper's 30." if other else ""
    return Answer(text[0].upper() + text[1:] + "." + note,
                  "; ".join(evidence) + " (standard errors over the test images; the paper gives none).")


ASKS = (
    Ask("004 slides 'PCA vs autoencoders'",
        "Does the deep autoencoder reconstruct better than PCA with the same 30-d code?",
        _better_than_pca),
    Ask("004 slides 'Deep MLP - dimensionality reduction'",
        "How close are the errors to Hinton & Salakhutdinov's 3.00 (deep autoencoder) and 13.87 (PCA)?",
        _against_the_paper),
)


def headline(tables) -> dict:
    """``deep_autoencoder_test_error`` and ``pca_test_error``: squared error per test image."""
    rows = tables.get("reconstruction_errors", [])
    out = pick(row_where(rows, "method", "deep autoencoder"), {"deep_autoencoder_test_error": "test_error"})
    out.update(pick(row_where(rows, "method", "PCA"), {"pca_test_error": "test_error"}))
    return out


def provenance(tables) -> dict:
    """How the run measured its two numbers: standard errors over the test images, the error's
    definition and the training epochs (RBM pretraining, then fine-tuning)."""
    rows = tables.get("reconstruction_errors", [])
    out = {}
    for metric, prefix in (("deep_autoencoder_test_error", "deep autoencoder"), ("pca_test_error", "PCA")):
        row = row_where(rows, "method", prefix)
        if not row:
            continue
        pretrain, epochs = number(row.get("pretrain_epochs")), number(row.get("epochs"))
        trained = ", ".join(([f"{pretrain:.0f} per RBM"] if pretrain else [])
                            + ([f"{epochs:.0f} fine-tuning" if pretrain else f"{epochs:.0f}"] if epochs else []))
        out[metric] = Provenance(number(row.get("test_error_std_error")),
                                 "squared error summed over the 784 pixels, mean over the 10,000 test images",
                                 trained or ("closed form (no training)" if prefix == "PCA" else ""))
    return out


QUESTION = Question(
    id="H", title="PCA vs deep 784-1000-500-250-30 autoencoder (Hinton & Salakhutdinov 2006)",
    sheet="004 slides 'PCA vs autoencoders', 'Deep MLP - dimensionality reduction'", build_parser=build_parser,
    run=run, quick_args=tuple(QUICK_ARGS), captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note=REFERENCE_NOTE, headline=headline,
    references={"deep_autoencoder_test_error": HINTON2006_DEEP_AUTOENCODER, "pca_test_error": HINTON2006_PCA},
    readme_metrics=("deep_autoencoder_test_error", "pca_test_error"),
    metric_labels={"deep_autoencoder_test_error": "deep autoencoder: squared error per test image",
                   "pca_test_error": "PCA, 30 components: squared error per test image"},
    presets=PRESETS, preset_titles=PRESET_TITLES, preset_captions=PRESET_CAPTIONS, asks=ASKS,
    provenance=provenance,
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
