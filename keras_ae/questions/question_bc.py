"""Questions B and C: Fashion-MNIST autoencoder and denoising autoencoder (sheet 001, questions 2-3).

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

from __future__ import annotations

import argparse
import copy
import json
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from keras_ae.questions.common import (QuestionParser, Timer, add_common_arguments, add_speed_arguments,
                                      distribution_strategy, fused_minibatch_size, int_at_least,
                                      jit_compile, nonnegative_float, positive_float, positive_int,
                                      seed_everything, steps_per_call, verbosity)
from keras_ae.questions.spec import RunResult

SHEET_ENCODER = (128, 64, 32, 16, 8)
SHEET_DECODER = (8, 32, 64, 128)  # then 784 with tanh; the sheet's decoder goes 8 -> 32 (no 16)
DEFAULT_NOISE_STDDEV = 0.5
MODEL_NAMES = {"B": "question_b_autoencoder", "C": "question_c_denoising_autoencoder"}
LABELS = {"B": "B: autoencoder", "C": "C: denoising autoencoder"}
BASELINE_MODES = ("auto", "load", "train", "none")
CV_FOLDS = 5  # folds of analysis.code_quality's cross-validated kNN
MIN_TSNE_SIZE = 10 * CV_FOLDS  # stratified folds need CV_FOLDS images of each of the 10 classes


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


def class_titles(labels, class_names=None) -> list[str]:
    """Figure titles for images with these labels: the Fashion-MNIST class names."""
    from keras_ae.data import FASHION_MNIST_CLASSES

    names = class_names or FASHION_MNIST_CLASSES
    return [names[int(k)] for k in labels]


def build_model(question: str = "B", encoder_units=SHEET_ENCODER, decoder_units=SHEET_DECODER,
                noise_stddev: float = DEFAULT_NOISE_STDDEV, noise_clip: bool = False, seed: int | None = None,
                minibatch_size: int | None = None):
    """The sheet's network: a plain :class:`Autoencoder` for B, a :class:`DenoisingAutoencoder` for C.

    ``minibatch_size`` fuses several training steps into one compiled call (:mod:`keras_ae.models.fused`)."""
    from keras_ae.models import Autoencoder, DenoisingAutoencoder, build_dense_autoencoder

    extra, cls = {"minibatch_size": minibatch_size}, Autoencoder
    if question == "C":
        cls = DenoisingAutoencoder
        extra.update(noise_stddev=noise_stddev, clip=(-1.0, 1.0) if noise_clip else None, noise_seed=seed)
    return build_dense_autoencoder(
        input_dim=784, encoder_units=tuple(encoder_units), decoder_units=tuple(decoder_units),
        activation="relu", code_activation="same", output_activation="tanh", init="keras",
        name=MODEL_NAMES[question], model_class=cls, **extra,
    )


def compile_model(model, learning_rate: float = 1e-3, weight_decay: float = 1e-5, jit_compile: bool = False):
    """MSE and Adam; ``weight_decay`` is Keras 3's decoupled weight decay (0 turns it off)."""
    import keras

    from keras_ae.losses import get_loss

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, weight_decay=weight_decay or None)
    model.compile(optimizer=optimizer, loss=get_loss("mse"), jit_compile=jit_compile)
    return model


def build_parser(question: str = "B") -> argparse.ArgumentParser:
    question = question.upper()
    if question not in MODEL_NAMES:
        raise ValueError(f"question must be B or C, got {question!r}")
    doc = __doc__
    parser = QuestionParser(prog=f"keras-ae run {question}", description=doc)
    parser.set_defaults(question=question)
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
    if question == "C":
        g.add_argument("--noise-stddev", type=nonnegative_float, default=DEFAULT_NOISE_STDDEV,
                       help="standard deviation of the white Gaussian noise, in the [-1, 1] pixel scale "
                            "(default: %(default)s, i.e. 0.25 of the [0, 1] scale)")
        g.add_argument("--noise-clip", action="store_true", help="clip the noisy inputs to [-1, 1]")
        g.add_argument("--baseline", choices=BASELINE_MODES, default="auto",
                       help="question B's model for the comparison: 'auto' (default) loads B's SavedModel from "
                            "--saved-models-dir when the settings recorded in its metadata (training rows, "
                            "epochs, batch size, learning rate, weight decay, layers, seed) match this run's, "
                            "and trains B first otherwise (writing B's results to --baseline-output-dir); "
                            "'load' loads it whatever its settings (the differences are reported); 'train' "
                            "always trains it; 'none' skips the comparison. The log and summary.json "
                            "('baseline') say which happened and why")
        g.add_argument("--baseline-output-dir", default=os.path.join("results", "question_b"),
                       help="where B's results are (or go, when B is trained here) (default: %(default)s)")
    add_speed_arguments(parser)
    return add_common_arguments(parser, f"question_{question.lower()}", epochs=50, batch_size=128,
                                learning_rate=1e-3)


def _check_args(args) -> None:
    """What the parser cannot see alone: options that must fit each other (t-SNE and the kNN probe)."""
    from keras_ae.errors import ConfigError

    if args.tsne_size <= 3 * args.tsne_perplexity:
        raise ConfigError(f"--tsne-size {args.tsne_size} needs --tsne-perplexity below {args.tsne_size / 3:g} "
                          f"(t-SNE needs more than 3 x perplexity points), got {args.tsne_perplexity:g}")
    smallest_fold = args.tsne_size - -(-args.tsne_size // CV_FOLDS)  # training rows of a cross-validation fold
    if args.knn_k > smallest_fold:
        raise ConfigError(f"--knn-k {args.knn_k} exceeds the {smallest_fold} codes a {CV_FOLDS}-fold "
                          f"cross-validation of --tsne-size {args.tsne_size} trains on")


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


def fixed_noise(x, args, offset: int = 1):
    """The seeded noisy copy of ``x`` used for figures and for comparing models (not for training)."""
    from keras_ae.data import add_gaussian_noise

    return add_gaussian_noise(x, args.noise_stddev, seed=args.seed + offset,
                              clip=(-1.0, 1.0) if args.noise_clip else None)


def train(args, data: FashionData) -> dict:
    """Build, train (fit with callbacks: per-epoch CSV, periodic test loss + figures) and time."""
    from keras_ae.callbacks import PeriodicEvaluation, ReconstructionFigure, standard_callbacks
    from keras_ae.data import make_dataset, to_display

    q, out = args.question, args.output_dir
    seed_everything(args.seed)
    with distribution_strategy(args.strategy).scope():
        model = compile_model(build_model(q, args.encoder_units, args.decoder_units,
                                          getattr(args, "noise_stddev", 0.0), getattr(args, "noise_clip", False),
                                          seed=args.seed, minibatch_size=fused_minibatch_size(args)),
                              args.learning_rate, args.weight_decay, jit_compile(args))
    sample = data.x_test[: args.num_images]
    titles = class_titles(data.y_test[: args.num_images], data.class_names)

    def show(a):
        return to_display(a, "signed")

    if q == "C":
        noisy = fixed_noise(sample, args)

        def rows(model, x):
            return [("noisy input", show(noisy)), ("reconstruction", show(model.predict(noisy, verbose=0))),
                    ("original", show(x))]
        what = f"noisy test images (noise sd {args.noise_stddev:g}), their reconstructions and the originals"
    else:
        rows = None
        what = "test images over their reconstructions"
    figure = ReconstructionFigure(sample, os.path.join(out, "reconstructions_epoch{epoch:03d}.png"),
                                  f"Question {q}: {what}", to_display=show, rows=rows, sample_titles=titles)
    evaluation = PeriodicEvaluation(data.x_test, every=args.test_every, batch_size=1024,
                                    csv_path=os.path.join(out, "test_loss.csv"), on_evaluate=[figure.write])
    if os.path.exists(evaluation.csv_path):
        os.remove(evaluation.csv_path)  # a fresh log per run (PeriodicEvaluation appends)
    callbacks = standard_callbacks(out, tensorboard=args.tensorboard) + [evaluation]
    print(f"[question {q}] training {MODEL_NAMES[q]}: encoder 784-{'-'.join(map(str, args.encoder_units))}, "
          f"decoder {'-'.join(map(str, (args.encoder_units[-1], *args.decoder_units)))}-784 (tanh), "
          f"{len(data.x_train)} training images, {args.epochs} epochs"
          + (f", noise sd {args.noise_stddev:g}" if q == "C" else ""), flush=True)
    with Timer() as timer:
        history = model.fit(make_dataset(data.x_train, batch_size=args.batch_size, seed=args.seed, steps_per_batch=steps_per_call(args)),
                            epochs=args.epochs, callbacks=callbacks, shuffle=False, verbose=verbosity(args))
    return {"model": model, "history": history.history, "evaluations": evaluation.history,
            "figures": list(figure.paths), "seconds": timer.seconds}


def analyse(encode: Callable, data: FashionData, args, name: str) -> dict:
    """Codes of the t-SNE subset -> 2-D map, and the code-quality row (kNN probe on all codes)."""
    from keras_ae import analysis
    from keras_ae.errors import DataError

    codes = np.asarray(encode(data.x_subset))
    if codes.shape[0] != args.tsne_size:
        raise DataError(f"expected codes of {args.tsne_size} images, got {codes.shape}")
    coords = analysis.tsne_2d(codes, perplexity=args.tsne_perplexity, seed=args.seed)
    row = analysis.code_quality(codes, data.y_subset, coords, encode(data.x_train), data.y_train,
                                encode(data.x_test), data.y_test, k=args.knn_k, folds=CV_FOLDS,
                                seed=args.seed)
    conf = analysis.neighbour_confusion(coords, data.y_subset, len(data.class_names))
    return {"name": name, "codes": codes, "coords": coords, "row": row, "confusion": conf}


def pixel_reference(data: FashionData, args) -> dict:
    """The same numbers on the raw 784 pixels of the same images: what the codes are measured against."""
    return analyse(lambda x: x, data, args, "raw pixels")


def reconstruction_losses(reconstruct: Callable, data: FashionData, args) -> dict:
    """Test MSE of a model's reconstructions of the clean test images, and (for C's noise level) of
    the seeded noisy test images against the clean ones, computed the same way for every model."""
    from keras_ae.losses import mse_per_pixel

    out = {"test_mse_clean": mse_per_pixel(data.x_test, reconstruct(data.x_test))}
    if hasattr(args, "noise_stddev"):
        noisy = fixed_noise(data.x_test, args, offset=2)
        out["test_mse_noisy"] = mse_per_pixel(data.x_test, reconstruct(noisy))
        out["noisy_input_mse"] = mse_per_pixel(data.x_test, noisy)
    return out


def _embedding_caption(name: str, row: dict, args) -> str:
    return (f"t-SNE (perplexity {args.tsne_perplexity:g}, PCA init, seed {args.seed}) of the {row['dims']}-d codes "
            f"of {row['n']} class-balanced Fashion-MNIST test images from {name}; colour = true class (not used "
            f"in training). kNN ({args.knn_k} neighbours) accuracy on the codes: {100 * row['knn_test']:.1f}% "
            f"(train codes -> test codes); trustworthiness of the map: {row['trustworthiness']:.3f}.")


def _model_row(label: str, result: dict, losses: dict, extra: dict) -> dict:
    row = {"model": label, **extra, **{k: v for k, v in losses.items()}}
    row.update({k: v for k, v in result["row"].items() if k not in ("n", "knn_train_n", "knn_test_n")})
    return row


def _baseline_path(args) -> tuple[str, bool]:
    """Where question B's SavedModel is, and whether it is there; ``--baseline load`` without it
    is an error before any training starts."""
    from keras_ae.errors import ModelLoadError
    from keras_ae.export import recover_interrupted_export

    path = os.path.join(args.saved_models_dir, MODEL_NAMES["B"])
    recover_interrupted_export(path)  # an export of B killed half-way through its folder swap
    exists = os.path.isfile(os.path.join(path, "saved_model.pb"))
    if args.baseline == "load" and not exists:
        raise ModelLoadError(f"no question B SavedModel at {path}: run question B first "
                             "(keras-ae run B) or pass --baseline train")
    return path, exists


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


def _load_baseline(args, train_rows: int):
    """Question B's model for C's comparison: encode, reconstruct, B's summary, where the model
    came from and why (``action``: "loaded" or "trained"); None for ``--baseline none``.

    ``auto`` loads B's SavedModel only when the settings recorded in its metadata match the B
    this run would train (:func:`training_settings`: data size, epochs, seed, ...), and trains B
    here otherwise; ``load`` loads it whatever its settings and reports the differences."""
    from keras_ae.errors import DataError, ModelLoadError
    from keras_ae.export import InferenceModel
    from keras_ae.io import read_json

    if args.baseline == "none":
        return None
    path, exists = _baseline_path(args)
    wanted = training_settings(args, train_rows)
    model = differences = reason = None
    if args.baseline == "train":
        reason = "--baseline train"
    elif not exists:
        reason = f"there is no SavedModel at {path}"
    else:
        model = InferenceModel(path)
        meta = model.metadata
        if meta.get("question") != "B" or meta.get("value_range") != "signed" or model.input_shape("encode") != (784,):
            raise ModelLoadError(f"{path} is not question B's autoencoder (metadata: question "
                                 f"{meta.get('question')!r}, value range {meta.get('value_range')!r}, "
                                 f"input {model.input_shape('encode')})")
        differences = settings_differences(meta, wanted)
        if differences and args.baseline == "auto":
            reason = f"the SavedModel at {path} was trained with other settings: {'; '.join(differences)}"
    if reason is not None:
        print(f"[question C] question B's model: training it in this run, since {reason} "
              f"(results in {args.baseline_output_dir})", flush=True)
        b_args = copy.copy(args)
        b_args.question, b_args.output_dir = "B", args.baseline_output_dir
        for name in ("noise_stddev", "noise_clip", "baseline", "baseline_output_dir"):
            delattr(b_args, name)
        result = run(b_args)
        trained = result.details["model"]
        return {"encode": lambda x: trained.encoder.predict(x, batch_size=1024, verbose=0),
                "reconstruct": lambda x: trained.predict(x, batch_size=1024, verbose=0),
                "summary": result.details["summary"], "source": "trained in this run", "action": "trained", "reason": reason}
    summary_path = os.path.join(args.baseline_output_dir, "summary.json")
    summary = read_json(summary_path, "question B summary", missing_ok=True) or {}
    if not isinstance(summary, dict):
        raise DataError(f"{summary_path}: corrupt question B summary, a JSON {type(summary).__name__} where an "
                        "object was expected; delete it, or run question B again")
    recorded = {key: meta.get(key) for key in wanted}
    if summary and summary.get("settings") != recorded:
        print(f"[question C] {summary_path} is not the summary of {path} (other settings): its numbers are left out",
              flush=True)
        summary = {}
    reason = ("its recorded settings match this run's" if not differences else
              f"--baseline load, although its settings differ from this run's: {'; '.join(differences)}")
    print(f"[question C] question B's model: loaded {path} ({meta.get('epochs')} epochs), {reason}", flush=True)
    # model-space calls: C compares the models on noisy images too, which reach past [-1, 1]
    return {"encode": lambda x: model.call_model_space("encode", x),
            "reconstruct": lambda x: model.call_model_space("reconstruct", x),
            "summary": summary, "source": f"{path} ({meta.get('epochs')} epochs)", "action": "loaded",
            "reason": reason}


def run(args: argparse.Namespace) -> RunResult:
    from keras_ae import analysis
    from keras_ae.export import export_model
    from keras_ae.io import write_json, write_text
    from keras_ae.plots import plot_curves, plot_embedding, plot_embedding_panels
    from keras_ae.reporting import write_table

    _check_args(args)
    q, out = args.question, args.output_dir
    if q == "C" and args.baseline != "none":
        _baseline_path(args)  # fail early when --baseline load has nothing to load
    label = LABELS[q]
    print(f"[question {q}] loading Fashion-MNIST (inputs scaled to [-1, 1])", flush=True)
    data = load_data(args)
    os.makedirs(out, exist_ok=True)

    trained = train(args, data)
    model, hist = trained["model"], trained["history"]
    evals = trained["evaluations"]
    figures = list(trained["figures"])
    eval_epochs = [e["epoch"] for e in evals]
    noisy = ", noisy input" if q == "C" else ""
    every = "every epoch" if args.test_every == 1 else f"every {args.test_every} epochs"
    curves = {f"training loss{noisy} (every epoch)": (list(range(1, len(hist["loss"]) + 1)), hist["loss"]),
              f"test loss{noisy} ({every})": (eval_epochs, [e["test_loss"] for e in evals])}
    if q == "C":
        curves["test loss, clean input"] = (eval_epochs, [e["test_clean_loss"] for e in evals])
        curves["noisy input itself vs clean (do nothing)"] = (eval_epochs, [e["test_noisy_input_loss"] for e in evals])
    what = "noisy input -> clean target" if q == "C" else "input -> input"
    figures.append(plot_curves(curves, os.path.join(out, "loss_curves.png"),
                               f"Question {q}: MSE per pixel ({what}), [-1, 1] scale", ylabel="MSE per pixel"))

    print(f"[question {q}] t-SNE of the codes of {args.tsne_size} test images and the code-quality numbers",
          flush=True)

    def encode(x):
        return model.encoder.predict(x, batch_size=1024, verbose=0)

    def reconstruct(x):
        return model.predict(x, batch_size=1024, verbose=0)

    result = analyse(encode, data, args, label)
    pixels = None if args.no_pixel_reference else pixel_reference(data, args)
    figures.append(plot_embedding(result["coords"], data.y_subset, data.class_names,
                                  os.path.join(out, "tsne_codes.png"),
                                  f"Question {q}: t-SNE of the {result['row']['dims']}-d codes ({label[3:]})",
                                  caption=_embedding_caption(f"question {q}'s {label[3:]}", result["row"], args)))
    losses = reconstruction_losses(reconstruct, data, args)
    summary = {
        "question": q, "model": MODEL_NAMES[q], "epochs": args.epochs,
        "final_train_loss": float(hist["loss"][-1]),
        "final_test_loss": float(evals[-1]["test_loss"]),
        **({"final_test_clean_loss": float(evals[-1]["test_clean_loss"])} if q == "C" else {}),
        **losses, "train_minutes": round(trained["seconds"] / 60.0, 2),
        **{k: v for k, v in result["row"].items()},
        "settings": training_settings(args, len(data.x_train)),
    }
    rows = [_model_row(label, result, losses, {"epochs": args.epochs, "final_train_loss": summary["final_train_loss"],
                                              "train_minutes": summary["train_minutes"]})]
    descriptions = [analysis.describe_code_quality(f"Question {q} ({label[3:]})", result["row"], result["confusion"],
                                                   data.class_names, pixels["row"] if pixels else None,
                                                   k=args.knn_k)]
    panels, comparison = [], None
    if q == "C":
        baseline = _load_baseline(args, len(data.x_train))
        if baseline is not None:
            print("[question C] the same numbers for question B's codes on the same images", flush=True)
            b_result = analyse(baseline["encode"], data, args, LABELS["B"])
            b_losses = reconstruction_losses(baseline["reconstruct"], data, args)
            bs = baseline["summary"]
            rows.insert(0, _model_row(LABELS["B"], b_result, b_losses, {
                "epochs": bs.get("epochs", ""), "final_train_loss": bs.get("final_train_loss", ""),
                "train_minutes": bs.get("train_minutes", "")}))
            descriptions.insert(0, analysis.describe_code_quality(
                "Question B (autoencoder)", b_result["row"], b_result["confusion"], data.class_names,
                pixels["row"] if pixels else None, k=args.knn_k))
            panels = [(b_result["coords"], data.y_subset, f"B: autoencoder (kNN {100 * b_result['row']['knn_test']:.1f}%, "
                                                          f"trust. {b_result['row']['trustworthiness']:.3f})"),
                      (result["coords"], data.y_subset, f"C: denoising, noise sd {args.noise_stddev:g} "
                                                         f"(kNN {100 * result['row']['knn_test']:.1f}%, "
                                                         f"trust. {result['row']['trustworthiness']:.3f})")]
            figures.append(plot_embedding_panels(
                panels, data.class_names, os.path.join(out, "tsne_b_vs_c.png"),
                "t-SNE of the 8-d codes of the same 500 Fashion-MNIST test images: B vs C",
                caption=(f"Both maps: t-SNE (perplexity {args.tsne_perplexity:g}, PCA init, seed {args.seed}) of the "
                         f"codes of the same {args.tsne_size} class-balanced test images (clean inputs); colour = "
                         f"true class. kNN: {args.knn_k}-nearest-neighbour accuracy, training codes -> test codes; "
                         f"trust.: trustworthiness of the map ({analysis.NEIGHBOURS} neighbours). "
                         f"B's model: {baseline['source']}.")))
            comparison = {"B": b_result["row"], "C": result["row"], "baseline_source": baseline["source"]}
            summary["baseline"] = {key: baseline[key] for key in ("action", "source", "reason")}
            descriptions.append(_compare_text(b_result["row"], result["row"], b_losses, losses, args))
    if pixels is not None:
        rows.append(_model_row("raw pixels (no model)", pixels, {}, {}))

    columns = ["model", "epochs", "final_train_loss", "test_mse_clean", *(
        ["test_mse_noisy", "noisy_input_mse"] if q == "C" else []), "knn_test", "knn_cv", "knn_cv_std",
        "knn_cv_tsne", "trustworthiness", "silhouette_code", "silhouette_tsne", "dims", "active_dims", "train_minutes"]
    table = write_table(rows, os.path.join(out, "comparison" if q == "C" else "code_quality"), columns=columns,
                        caption=_table_caption(q, args, data))
    description_path = write_text(os.path.join(out, "description.md"),
                                  f"# Question {q}: how well the codes organise the test images\n\n" +
                                  "\n\n".join(descriptions) + "\n")
    write_json(summary, os.path.join(out, "summary.json"))

    exported = None
    if not args.no_export:
        meta = {"question": q, "value_range": "signed",
                "input": "Fashion-MNIST image flattened to 784 values in [-1, 1]",
                **summary["settings"], "train_limit": args.train_limit}
        if q == "C":
            meta.update(noise_stddev=args.noise_stddev, noise_clip=args.noise_clip,
                        reconstruct="takes a (noisy) image and returns the clean estimate")
            if not args.noise_clip:  # noisy float inputs reach past [-1, 1]: accept up to 6 noise sd beyond
                meta["input_range"] = [-1.0 - 6 * args.noise_stddev, 1.0 + 6 * args.noise_stddev]
        exported = str(export_model(model, os.path.join(args.saved_models_dir, MODEL_NAMES[q]), metadata=meta))
    print(f"[question {q}] final training loss {summary['final_train_loss']:.5f}, test loss "
          f"{summary['final_test_loss']:.5f}, kNN {100 * result['row']['knn_test']:.1f}%, trustworthiness "
          f"{result['row']['trustworthiness']:.3f}, {trained['seconds'] / 60:.1f} min; table {table[0]}"
          + (f", model {exported}" if exported else ""), flush=True)
    from keras_ae.questions import get_question

    return RunResult.of(get_question(q), figures=figures, tables=table,
                        models={MODEL_NAMES[q]: exported} if exported else {},
                        details={"model": model, "summary": summary, "rows": rows, "description": description_path,
                                 "tsne_input_shape": tuple(result["codes"].shape), "comparison": comparison,
                                 "evaluations": evals})


def _compare_text(b: dict, c: dict, b_losses: dict, c_losses: dict, args) -> str:
    """One paragraph of C-minus-B differences, in the units a reader compares."""
    def pts(key):
        return f"{100 * (c[key] - b[key]):+.1f} points ({100 * b[key]:.1f}% -> {100 * c[key]:.1f}%)"
    return (f"C vs B on the same {c['n']} test images: kNN accuracy train->test {pts('knn_test')}, 5-fold CV on the "
            f"{c['n']} {pts('knn_cv')}, in the t-SNE plane {pts('knn_cv_tsne')}; trustworthiness {b['trustworthiness']:.3f}"
            f" -> {c['trustworthiness']:.3f}; class silhouette in code space {b['silhouette_code']:.2f} -> "
            f"{c['silhouette_code']:.2f}, in the plane {b['silhouette_tsne']:.2f} -> {c['silhouette_tsne']:.2f}; active code "
            f"units {b['active_dims']} -> {c['active_dims']}. Reconstruction MSE of clean test images "
            f"{b_losses['test_mse_clean']:.4f} -> {c_losses['test_mse_clean']:.4f}; of noisy ones (sd "
            f"{args.noise_stddev:g}) against the clean {b_losses['test_mse_noisy']:.4f} -> {c_losses['test_mse_noisy']:.4f} "
            f"(the noisy images themselves: {c_losses['noisy_input_mse']:.4f}).")


def _table_caption(q: str, args, data: FashionData) -> str:
    text = (f"Question {q}: reconstruction and code quality on Fashion-MNIST after {args.epochs} epochs. "
            "Losses are MSE per pixel in the [-1, 1] scale: final_train_loss is the last epoch's training loss"
            + (" (noisy input -> clean target)" if q == "C" else "")
            + f"; test_mse_clean reconstructs the {len(data.x_test)} clean test images")
    if q == "C":
        text += (f"; test_mse_noisy reconstructs them with seeded noise of sd {args.noise_stddev:g} added, against the "
                 "clean images; noisy_input_mse is the error of the noisy images themselves")
    text += (f". Code numbers on the codes of {args.tsne_size} class-balanced test images: knn_test = {args.knn_k}-NN "
             f"accuracy fitted on the {len(data.x_train)} training codes, scored on all test codes; knn_cv (+- "
             f"knn_cv_std) = 5-fold held-out cross-validated kNN accuracy on the {args.tsne_size} codes; knn_cv_tsne = "
             "the same in the 2-D t-SNE plane; trustworthiness of the t-SNE map (10 neighbours); silhouette of the "
             "classes in code space and in the plane; active_dims = code units that are not constant. "
             "train_minutes: wall time of fit on this machine.")
    return text


