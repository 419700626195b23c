"""What questions B and C share (sheet 001, questions 2-3): the Fashion-MNIST data, the sheet's
network, its training with the periodic test loss and figures, the numbers on the codes, and the
figures, tables and exports both write.

Each question is its own module over these helpers: :mod:`keras_ae.questions.question_b` (the
autoencoder) and :mod:`keras_ae.questions.question_c` (the denoising autoencoder, which loads or
trains B for its comparison). Nothing here asks which question runs: a helper is given what
differs (the model, the figure's rows, the names and notes).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from keras_ae.questions.common import (data_options, QuestionParser, Timer, add_common_arguments, add_speed_arguments,
                                      distribution_strategy, fused_minibatch_size, int_at_least,
                                      jit_compile, nonnegative_float, positive_float, positive_int,
                                      seed_everything, verbosity)

# The description of both questions' command lines (``keras-ae run B --help``, ``run C --help``).
DESCRIPTION = """Questions B and C: Fashion-MNIST autoencoder and denoising autoencoder (sheet 001, questions 2-3).

B: a fully-connected autoencoder exactly as the sheet writes it, encoder 784-128-64-32-16-8 and
decoder 8-8-32-64-128-784 (ReLU after every layer, tanh on the output), inputs scaled to
[-1, 1], mean squared error, Adam (learning rate 0.001, weight decay 1e-5: the sheet's
"momentum 1e-5"), batch 128, 50 epochs. The training loss is logged every epoch, the test loss
every 10 epochs together with a figure of ten test images over their reconstructions. Then the
codes of 500 test images go through t-SNE into a scatter plot, with numbers saying how well the
codes organise the classes (kNN accuracy on held-out data, t-SNE trustworthiness, silhouettes).

C: the same network and training as a denoising autoencoder: every batch gets fresh white
Gaussian noise (standard deviation 0.5 in the [-1, 1] pixel scale by default) and the loss is
taken against the clean image. Every 10 epochs a figure of noisy input / reconstruction /
original. Then the same t-SNE and numbers as B on the same 500 test images, and B's codes
beside C's (B's exported SavedModel is loaded when its recorded settings match C's run; if
there is none, or it was trained otherwise, e.g. by a --quick run, B is trained first).
"""

SHEET_ENCODER = (128, 64, 32, 16, 8)
SHEET_DECODER = (8, 32, 64, 128)  # then 784 with tanh; the sheet's decoder goes 8 -> 32 (no 16)
CV_FOLDS = 5  # folds of analysis.code_quality's cross-validated kNN
MIN_TSNE_SIZE = 10 * CV_FOLDS  # stratified folds need CV_FOLDS images of each of the 10 classes
PREDICT_BATCH = 1024
TABLE_COLUMNS = ("knn_test", "knn_cv", "knn_cv_std", "knn_cv_tsne", "trustworthiness", "silhouette_code",
                 "silhouette_tsne", "dims", "active_dims", "train_minutes")


@dataclass
class FashionData:
    x_train: np.ndarray  # (N, 784) float32 in [-1, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    subset: np.ndarray  # indices into the test set of the images that go through t-SNE
    class_names: tuple[str, ...]

    @property
    def x_subset(self) -> np.ndarray:
        return self.x_test[self.subset]

    @property
    def y_subset(self) -> np.ndarray:
        return self.y_test[self.subset]


@dataclass
class Trained:
    """What the train stage gives: the model, Keras' per-epoch logs, the periodic test rows, the
    reconstruction figures written during training, and the wall time of ``fit``."""

    model: Any
    history: dict
    evaluations: list
    figures: list
    seconds: float


@dataclass
class Evaluation:
    """A model's numbers: ``own`` (:func:`analyse` of its codes), its reconstruction ``losses``,
    and the raw-pixel reference (:func:`pixel_reference`; None with ``--no-pixel-reference``)."""

    own: dict
    losses: dict
    pixels: dict | None


def class_titles(labels, class_names=None) -> list[str]:
    """Figure titles for images with these labels: the Fashion-MNIST class names."""
    from keras_ae.data import FASHION_MNIST_CLASSES

    names = class_names or FASHION_MNIST_CLASSES
    return [names[int(k)] for k in labels]


# ---------------------------------------------------------------- the network and the options


def build_model(name: str, model_class, encoder_units=SHEET_ENCODER, decoder_units=SHEET_DECODER,
                minibatch_size: int | None = None, **extra):
    """The sheet's network as ``model_class`` (``extra``: that class's own arguments).

    ``minibatch_size`` fuses several training steps into one compiled call (:mod:`keras_ae.models.fused`)."""
    from keras_ae.models import build_dense_autoencoder

    return build_dense_autoencoder(
        input_dim=784, encoder_units=tuple(encoder_units), decoder_units=tuple(decoder_units),
        activation="relu", code_activation="same", output_activation="tanh", init="keras",
        name=name, model_class=model_class, minibatch_size=minibatch_size, **extra,
    )


def compile_model(model, learning_rate: float = 1e-3, weight_decay: float = 1e-5, jit_compile: bool = False):
    """MSE and Adam; ``weight_decay`` is Keras 3's decoupled weight decay (0 turns it off)."""
    import keras

    from keras_ae.losses import get_loss

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, weight_decay=weight_decay or None)
    model.compile(optimizer=optimizer, loss=get_loss("mse"), jit_compile=jit_compile)
    return model


def new_model(args, build: Callable):
    """Seed, then ``build(minibatch_size)`` and compile under the run's distribution strategy."""
    seed_everything(args.seed)
    with distribution_strategy(args.strategy).scope():
        return compile_model(build(fused_minibatch_size(args)), args.learning_rate, args.weight_decay,
                             jit_compile(args))


def question_parser(question: str, own_options: Callable | None = None) -> QuestionParser:
    """The parser of question ``question`` ("B" or "C"): the options both share in the group
    'question <id>', then ``own_options(group)`` adds the question's own there, then the speed and
    common options (output in ``results/question_<id>``)."""
    parser = QuestionParser(prog=f"keras-ae run {question}", description=DESCRIPTION)
    g = parser.add_argument_group(f"question {question}")
    g.add_argument("--encoder-units", type=positive_int, nargs="+", default=list(SHEET_ENCODER),
                   help="encoder layer sizes, the last is the code (default: the sheet's %(default)s)")
    g.add_argument("--decoder-units", type=positive_int, nargs="+", default=list(SHEET_DECODER),
                   help="decoder hidden layer sizes before the 784 tanh output (default: the sheet's %(default)s)")
    g.add_argument("--weight-decay", type=nonnegative_float, default=1e-5,
                   help="Adam's decoupled weight decay: the sheet's 'momentum 1e-5' (default: %(default)s; 0 = off)")
    g.add_argument("--test-every", type=positive_int, default=10,
                   help="test loss and reconstruction figure every N epochs, and after the last (default: %(default)s)")
    g.add_argument("--num-images", type=positive_int, default=10, help="test images in each reconstruction figure")
    g.add_argument("--tsne-size", type=int_at_least(MIN_TSNE_SIZE), default=500,
                   help="test images whose codes go through t-SNE, at least "
                        f"{MIN_TSNE_SIZE} ({CV_FOLDS}-fold CV over 10 classes) and more than 3 x --tsne-perplexity "
                        "(default: the sheet's %(default)s)")
    g.add_argument("--tsne-perplexity", type=positive_float, default=30.0, help="default: %(default)s")
    g.add_argument("--knn-k", type=positive_int, default=5,
                   help="neighbours of the kNN probe, at most 4/5 of --tsne-size (default: %(default)s)")
    g.add_argument("--no-pixel-reference", action="store_true",
                   help="skip the same numbers on the raw pixels (the kNN on all training pixels takes ~30 s)")
    if own_options is not None:
        own_options(g)
    add_speed_arguments(parser)
    return add_common_arguments(parser, f"question_{question.lower()}", epochs=50, batch_size=128,
                                learning_rate=1e-3)


def check_args(args) -> None:
    """What the parser cannot see alone: options that must fit each other (t-SNE and the kNN probe)."""
    from keras_ae.errors import ConfigError

    if args.tsne_size <= 3 * args.tsne_perplexity:
        raise ConfigError(f"--tsne-size {args.tsne_size} needs --tsne-perplexity below {args.tsne_size / 3:g} "
                          f"(t-SNE needs more than 3 x perplexity points), got {args.tsne_perplexity:g}")
    smallest_fold = args.tsne_size - -(-args.tsne_size // CV_FOLDS)  # training rows of a cross-validation fold
    if args.knn_k > smallest_fold:
        raise ConfigError(f"--knn-k {args.knn_k} exceeds the {smallest_fold} codes a {CV_FOLDS}-fold "
                          f"cross-validation of --tsne-size {args.tsne_size} trains on")


def training_settings(args, train_rows: int) -> dict:
    """What decides a B or C model's weights besides the code. Written into the export's
    metadata and the summary; C's ``--baseline auto`` reuses a saved B only when the B it would
    train itself has the same settings."""
    return {"dataset": "fashion_mnist", "train_rows": int(train_rows),
            "encoder_units": [int(u) for u in args.encoder_units],
            "decoder_units": [int(u) for u in args.decoder_units], "epochs": int(args.epochs),
            "batch_size": int(args.batch_size), "learning_rate": float(args.learning_rate),
            "weight_decay": float(args.weight_decay), "seed": int(args.seed)}


def settings_differences(recorded: dict, wanted: dict) -> list[str]:
    """``key recorded (this run: wanted)`` for every setting of ``wanted`` that ``recorded``
    lacks or holds another value of."""
    wanted = json.loads(json.dumps(wanted))  # compare as they read back from JSON
    return [f"{key} {'not recorded' if key not in recorded else json.dumps(recorded[key])} "
            f"(this run: {json.dumps(value)})"
            for key, value in wanted.items() if recorded.get(key, object()) != value]


# ---------------------------------------------------------------- load data, train


def load_data(args) -> FashionData:
    from keras_ae.analysis import select_subset
    from keras_ae.data import FASHION_MNIST_CLASSES, flatten, load_dataset, to_signed
    from keras_ae.errors import DataError

    train = load_dataset("fashion_mnist", "train", args.data_dir)
    test = load_dataset("fashion_mnist", "test", args.data_dir)
    x_test, y_test = flatten(to_signed(test.images[: args.test_limit])), test.labels[: args.test_limit]
    if len(x_test) < max(args.tsne_size, args.num_images):
        raise DataError(f"--test-limit {args.test_limit} leaves {len(x_test)} test images; t-SNE needs "
                        f"--tsne-size {args.tsne_size} and the figures {args.num_images}")
    return FashionData(
        x_train=flatten(to_signed(train.images[: args.train_limit])), y_train=train.labels[: args.train_limit],
        x_test=x_test, y_test=y_test, class_names=FASHION_MNIST_CLASSES,
        # the same seeded, class-balanced 500 test images for B and C
        subset=select_subset(y_test, args.tsne_size, seed=args.seed, stratified=True),
    )


def show(a):
    """Pixels in [-1, 1] as a figure draws them."""
    from keras_ae.data import to_display

    return to_display(a, "signed")


def reconstruction_figure(args, data: FashionData, title: str, rows: Callable | None = None):
    """The figure of the first ``--num-images`` test images drawn at each test evaluation:
    ``rows(model, x)`` (default: the images over their reconstructions), class names above."""
    from keras_ae.callbacks import ReconstructionFigure

    return ReconstructionFigure(data.x_test[: args.num_images],
                                os.path.join(args.output_dir, "reconstructions_epoch{epoch:03d}.png"), title,
                                to_display=show, rows=rows,
                                sample_titles=class_titles(data.y_test[: args.num_images], data.class_names))


def periodic_evaluation(args, data: FashionData, figure):
    """The test loss every ``--test-every`` epochs and after the last, in ``test_loss.csv`` (a fresh
    log per run), and ``figure`` drawn at the same epochs."""
    from keras_ae.callbacks import PeriodicEvaluation

    evaluation = PeriodicEvaluation(data.x_test, every=args.test_every, batch_size=PREDICT_BATCH,
                                    csv_path=os.path.join(args.output_dir, "test_loss.csv"),
                                    on_evaluate=[figure.write])
    if os.path.exists(evaluation.csv_path):
        os.remove(evaluation.csv_path)  # a fresh log per run (PeriodicEvaluation appends)
    return evaluation


def training_line(question: str, name: str, args, data: FashionData, note: str = "") -> str:
    return (f"[question {question}] training {name}: encoder 784-{'-'.join(map(str, args.encoder_units))}, "
            f"decoder {'-'.join(map(str, (args.encoder_units[-1], *args.decoder_units)))}-784 (tanh), "
            f"{len(data.x_train)} training images, {args.epochs} epochs{note}")


def fit(args, data: FashionData, model, figure, log_line: str) -> Trained:
    """Train on the clean training images (per-epoch CSV, periodic test loss and figures) and time it."""
    from keras_ae.callbacks import standard_callbacks
    from keras_ae.data import make_dataset

    out = args.output_dir
    evaluation = periodic_evaluation(args, data, figure)
    callbacks = standard_callbacks(out, tensorboard=args.tensorboard) + [evaluation]
    print(log_line, flush=True)
    with Timer() as timer:
        history = model.fit(make_dataset(data.x_train, batch_size=args.batch_size, **data_options(args)),
                            epochs=args.epochs, callbacks=callbacks, shuffle=False, verbose=verbosity(args))
    return Trained(model, history.history, evaluation.history, list(figure.paths), timer.seconds)


# ---------------------------------------------------------------- evaluate (functions of arrays)


def encoder_of(model) -> Callable:
    return lambda x: model.encoder.predict(x, batch_size=PREDICT_BATCH, verbose=0)


def reconstructor_of(model) -> Callable:
    return lambda x: model.predict(x, batch_size=PREDICT_BATCH, verbose=0)


def analyse(encode: Callable, data: FashionData, args, name: str) -> dict:
    """Codes of the t-SNE subset -> 2-D map, and the code-quality row (kNN probe on all codes)."""
    from keras_ae import analysis
    from keras_ae.errors import DataError

    codes = np.asarray(encode(data.x_subset))
    if codes.shape[0] != args.tsne_size:
        raise DataError(f"expected codes of {args.tsne_size} images, got {codes.shape}")
    coords = analysis.tsne_2d(codes, perplexity=args.tsne_perplexity, seed=args.seed)
    train_codes, test_codes = encode(data.x_train), encode(data.x_test)
    row = analysis.code_quality(codes, data.y_subset, coords, train_codes, data.y_train, test_codes, data.y_test,
                                k=args.knn_k, folds=CV_FOLDS, seed=args.seed)
    conf = analysis.neighbour_confusion(coords, data.y_subset, len(data.class_names))
    # per test image, whether the kNN probe is right: C's paired test against B on the same images
    correct = analysis.knn_correct(train_codes, data.y_train, test_codes, data.y_test, k=args.knn_k)
    return {"name": name, "codes": codes, "coords": coords, "row": row, "confusion": conf, "knn_correct": correct}


def pixel_reference(data: FashionData, args) -> dict:
    """The same numbers on the raw 784 pixels of the same images: what the codes are measured against."""
    return analyse(lambda x: x, data, args, "raw pixels")


def clean_losses(reconstruct: Callable, data: FashionData, args=None) -> dict:
    """Test MSE of a model's reconstructions of the clean test images."""
    from keras_ae.losses import mse_per_pixel

    return {"test_mse_clean": mse_per_pixel(data.x_test, reconstruct(data.x_test))}


def evaluate(question: str, label: str, model, data: FashionData, args, losses: Callable = clean_losses
             ) -> Evaluation:
    """The numbers of a trained model: its codes (:func:`analyse`), ``losses(reconstruct, data,
    args)``, and the raw-pixel reference."""
    print(f"[question {question}] t-SNE of the codes of {args.tsne_size} test images and the code-quality numbers",
          flush=True)
    own = analyse(encoder_of(model), data, args, label)
    pixels = None if args.no_pixel_reference else pixel_reference(data, args)
    return Evaluation(own=own, losses=losses(reconstructor_of(model), data, args), pixels=pixels)


def model_row(label: str, result: dict, losses: dict, extra: dict) -> dict:
    """A row of the table: the model, ``extra`` (epochs, ...), its losses and its code numbers."""
    row = {"model": label, **extra, **{k: v for k, v in losses.items()}}
    row.update({k: v for k, v in result["row"].items() if k not in ("n", "knn_train_n", "knn_test_n")})
    return row


def own_row(label: str, evaluation: Evaluation, summary: dict) -> dict:
    return model_row(label, evaluation.own, evaluation.losses, {
        "epochs": summary["epochs"], "final_train_loss": summary["final_train_loss"],
        "train_minutes": summary["train_minutes"]})


def summary_of(question: str, name: str, args, data: FashionData, trained: Trained, evaluation: Evaluation,
               final: dict | None = None) -> dict:
    """What ``summary.json`` holds; ``final``: more last-evaluation numbers after the test loss."""
    return {
        "question": question, "model": name, "epochs": args.epochs,
        "final_train_loss": float(trained.history["loss"][-1]),
        "final_test_loss": float(trained.evaluations[-1]["test_loss"]),
        **(final or {}), **evaluation.losses, "train_minutes": round(trained.seconds / 60.0, 2),
        **{k: v for k, v in evaluation.own["row"].items()},
        "settings": training_settings(args, len(data.x_train)),
    }


def describe(title: str, result: dict, data: FashionData, evaluation: Evaluation, args) -> str:
    """The paragraph on how well ``result``'s codes organise the classes (beside the raw pixels)."""
    from keras_ae import analysis

    pixels = evaluation.pixels["row"] if evaluation.pixels else None
    return analysis.describe_code_quality(title, result["row"], result["confusion"], data.class_names, pixels,
                                          k=args.knn_k)


# ---------------------------------------------------------------- write outputs


def loss_curves(trained: Trained, args, input_note: str = "") -> dict:
    """The training loss every epoch and the test loss at each evaluation, as :func:`plot_curves` takes them."""
    hist, evals = trained.history, trained.evaluations
    every = "every epoch" if args.test_every == 1 else f"every {args.test_every} epochs"
    return {f"training loss{input_note} (every epoch)": (list(range(1, len(hist["loss"]) + 1)), hist["loss"]),
            f"test loss{input_note} ({every})": ([e["epoch"] for e in evals], [e["test_loss"] for e in evals])}


def plot_loss_curves(curves: dict, args, question: str, what: str) -> str:
    from keras_ae.plots import plot_curves

    return plot_curves(curves, os.path.join(args.output_dir, "loss_curves.png"),
                       f"Question {question}: MSE per pixel ({what}), [-1, 1] scale", ylabel="MSE per pixel")


def embedding_caption(name: str, row: dict, args) -> str:
    return (f"t-SNE (perplexity {args.tsne_perplexity:g}, PCA init, seed {args.seed}) of the {row['dims']}-d codes "
            f"of {row['n']} class-balanced Fashion-MNIST test images from {name}; colour = true class (not used "
            f"in training). kNN ({args.knn_k} neighbours) accuracy on the codes: {100 * row['knn_test']:.1f}% "
            f"(train codes -> test codes); trustworthiness of the map: {row['trustworthiness']:.3f}.")


def plot_codes(question: str, label: str, result: dict, data: FashionData, args) -> str:
    """``tsne_codes.png``: the t-SNE map of the model's codes, one colour per class."""
    from keras_ae.plots import plot_embedding

    what = label.split(": ", 1)[1]
    return plot_embedding(result["coords"], data.y_subset, data.class_names,
                          os.path.join(args.output_dir, "tsne_codes.png"),
                          f"Question {question}: t-SNE of the {result['row']['dims']}-d codes ({what})",
                          caption=embedding_caption(f"question {question}'s {what}", result["row"], args))


def table_caption(question: str, args, data: FashionData, train_note: str = "", test_notes: str = "") -> str:
    """The caption of the table; ``train_note`` after the training loss, ``test_notes`` on more test columns."""
    return (f"Question {question}: reconstruction and code quality on Fashion-MNIST after {args.epochs} epochs. "
            "Losses are MSE per pixel in the [-1, 1] scale: final_train_loss is the last epoch's training loss"
            f"{train_note}; test_mse_clean reconstructs the {len(data.x_test)} clean test images{test_notes}"
            f". Code numbers on the codes of {args.tsne_size} class-balanced test images: knn_test = {args.knn_k}-NN "
            f"accuracy fitted on the {len(data.x_train)} training codes, scored on all test codes; knn_cv (+- "
            f"knn_cv_std) = 5-fold held-out cross-validated kNN accuracy on the {args.tsne_size} codes; knn_cv_tsne = "
            "the same in the 2-D t-SNE plane; trustworthiness of the t-SNE map (10 neighbours); silhouette of the "
            "classes in code space and in the plane; active_dims = code units that are not constant. "
            "train_minutes: wall time of fit on this machine.")


def write_table_and_text(question: str, args, rows: list, loss_columns: tuple, stem: str, caption: str,
                         descriptions: list, summary: dict) -> tuple:
    """The table ``<stem>.csv``/``.md``, ``description.md`` and ``summary.json``; returns the
    table's paths and the description's path."""
    from keras_ae.io import write_json, write_text
    from keras_ae.reporting import write_table

    columns = ["model", "epochs", "final_train_loss", "test_mse_clean", *loss_columns, *TABLE_COLUMNS]
    table = write_table(rows, os.path.join(args.output_dir, stem), columns=columns, caption=caption)
    description_path = write_text(os.path.join(args.output_dir, "description.md"),
                                  f"# Question {question}: how well the codes organise the test images\n\n" +
                                  "\n\n".join(descriptions) + "\n")
    write_json(summary, os.path.join(args.output_dir, "summary.json"))
    return table, description_path


def export(model, args, question: str, name: str, summary: dict, extra_meta: dict | None = None) -> str | None:
    """The SavedModel in ``--saved-models-dir/<name>`` with the run's settings as metadata (None
    with ``--no-export``)."""
    from keras_ae.export import export_model

    if args.no_export:
        return None
    meta = {"question": question, "value_range": "signed",
            "input": "Fashion-MNIST image flattened to 784 values in [-1, 1]",
            **summary["settings"], "train_limit": args.train_limit, **(extra_meta or {})}
    return str(export_model(model, os.path.join(args.saved_models_dir, name), metadata=meta))


def final_line(question: str, summary: dict, row: dict, seconds: float, table, exported: str | None) -> str:
    return (f"[question {question}] final training loss {summary['final_train_loss']:.5f}, test loss "
            f"{summary['final_test_loss']:.5f}, kNN {100 * row['knn_test']:.1f}%, trustworthiness "
            f"{row['trustworthiness']:.3f}, {seconds / 60:.1f} min; table {table[0]}"
            + (f", model {exported}" if exported else ""))


def details(trained: Trained, evaluation: Evaluation, summary: dict, rows: list, description: str,
            comparison: dict | None = None) -> dict:
    """The in-memory part of the :class:`RunResult` (``details``)."""
    return {"model": trained.model, "summary": summary, "rows": rows, "description": description,
            "tsne_input_shape": tuple(evaluation.own["codes"].shape), "comparison": comparison,
            "evaluations": trained.evaluations, "history": trained.history}

