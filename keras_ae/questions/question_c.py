"""Question C: denoising autoencoder on Fashion-MNIST, t-SNE compared with B's (sheet 001 question 3).

B's network trained as a :class:`~keras_ae.models.DenoisingAutoencoder` (:func:`build_model`),
then the same numbers as B's on the same 500 test images, beside B's own. B's model is loaded or
trained by :func:`load_baseline` (a B run with B's own options, built by B's parser). A run is
:func:`load_data` -> :func:`train` -> :func:`evaluate` (C, then B) -> :func:`write_outputs`,
over the helpers shared with B in :mod:`keras_ae.questions.question_bc`.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from keras_ae.questions import question_b
from keras_ae.questions import question_bc as bc
from keras_ae.questions.common import nonnegative_float
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick, row_where
from keras_ae.verdicts import McNemar

MODEL_NAME = "question_c_denoising_autoencoder"
LABEL = "C: denoising autoencoder"
TABLE = "comparison"
DEFAULT_NOISE_STDDEV = 0.5
BASELINE_MODES = ("auto", "load", "train", "none")
NOISY_COLUMNS = ("test_mse_noisy", "noisy_input_mse")
FIGURE_NOISE, TEST_NOISE = 1, 2  # offsets of the seeds of the fixed noisy copies: the figures', the test set's

CAPTIONS = {
    "reconstructions_epoch*": "Ten Fashion-MNIST test images: the noisy input (top), the denoising autoencoder's "
                              "reconstruction (middle) and the clean original (bottom), at a test evaluation.",
    "loss_curves.png": "Training loss (noisy input vs clean target) every epoch and test loss every 10 epochs.",
    "tsne_codes.png": "t-SNE of the denoising autoencoder's 8-D codes of 500 clean test images.",
    "tsne_b_vs_c.png": "t-SNE of the codes of the same 500 test images: plain autoencoder (B) beside the "
                       "denoising autoencoder (C).",
}


@dataclass(frozen=True)
class Baseline:
    """Question B's model for the comparison: ``encode``/``reconstruct`` (arrays -> arrays), B's
    summary, where the model came from (``source``), ``action`` ("loaded" or "trained") and why."""

    encode: Callable
    reconstruct: Callable
    summary: dict
    source: str
    action: str
    reason: str


def build_model(encoder_units=bc.SHEET_ENCODER, decoder_units=bc.SHEET_DECODER,
                noise_stddev: float = DEFAULT_NOISE_STDDEV, noise_clip: bool = False, seed: int | None = None,
                minibatch_size: int | None = None):
    """The sheet's network as a :class:`~keras_ae.models.DenoisingAutoencoder`: fresh noise of sd
    ``noise_stddev`` on every training batch (clipped to [-1, 1] with ``noise_clip``)."""
    from keras_ae.models import DenoisingAutoencoder

    return bc.build_model(MODEL_NAME, DenoisingAutoencoder, encoder_units, decoder_units, minibatch_size,
                          noise_stddev=noise_stddev, clip=(-1.0, 1.0) if noise_clip else None, noise_seed=seed)


def _own_options(g) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    return bc.question_parser("C", _own_options)


def run_all_args(output_root: str) -> list[str]:
    """In ``keras-ae run all``, C compares with (or trains) B under the same output root."""
    return ["--baseline-output-dir", os.path.join(output_root, "question_b")]


# ---------------------------------------------------------------- question B's model


def baseline_path(args) -> tuple[str, bool]:
    """Where question B's SavedModel is, and whether it is there; ``--baseline load`` without it
    is an error before any training starts."""
    from keras_ae.errors import ModelLoadError
    from keras_ae.export import recover_interrupted_export

    path = os.path.join(args.saved_models_dir, question_b.MODEL_NAME)
    recover_interrupted_export(path)  # an export of B killed half-way through its folder swap
    exists = os.path.isfile(os.path.join(path, "saved_model.pb"))
    if args.baseline == "load" and not exists:
        raise ModelLoadError(f"no question B SavedModel at {path}: run question B first "
                             "(keras-ae run B) or pass --baseline train")
    return path, exists


def why_train_baseline(mode: str, path: str, exists: bool, differences: list[str] | None) -> str | None:
    """Why B is to be trained in this run (None: load the SavedModel at ``path``). ``differences``:
    :func:`~keras_ae.questions.question_bc.settings_differences` of the saved B (None when not read)."""
    if mode == "train":
        return "--baseline train"
    if not exists:
        return f"there is no SavedModel at {path}"
    if differences and mode == "auto":
        return f"the SavedModel at {path} was trained with other settings: {'; '.join(differences)}"
    return None


def baseline_args(args) -> argparse.Namespace:
    """Question B's options, from B's own parser, with this run's values of every option B has;
    B's results go to ``--baseline-output-dir``."""
    b_args = question_b.QUESTION.build_parser().parse_args([])
    for name in vars(b_args):
        setattr(b_args, name, getattr(args, name))
    b_args.output_dir = args.baseline_output_dir
    return b_args


def train_baseline(args, reason: str) -> Baseline:
    """Question B's whole run (its results in ``--baseline-output-dir``), with this run's settings."""
    print(f"[question C] question B's model: training it in this run, since {reason} "
          f"(results in {args.baseline_output_dir})", flush=True)
    result = question_b.QUESTION.run(baseline_args(args))
    trained = result.details["model"]
    return Baseline(bc.encoder_of(trained), bc.reconstructor_of(trained), result.details["summary"],
                    source="trained in this run", action="trained", reason=reason)


def _saved_b(path: str):
    from keras_ae.errors import ModelLoadError
    from keras_ae.export import InferenceModel

    model = InferenceModel(path)
    meta = model.metadata
    if meta.get("question") != "B" or meta.get("value_range") != "signed" or model.input_shape("encode") != (784,):
        raise ModelLoadError(f"{path} is not question B's autoencoder (metadata: question "
                             f"{meta.get('question')!r}, value range {meta.get('value_range')!r}, "
                             f"input {model.input_shape('encode')})")
    return model


def _saved_b_summary(args, path: str, meta: dict, wanted: dict) -> dict:
    """B's summary.json in ``--baseline-output-dir`` when it belongs to the saved model, else {}."""
    from keras_ae.errors import DataError
    from keras_ae.io import read_json

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
    return summary


def load_baseline(args, train_rows: int) -> Baseline | None:
    """Question B's model for C's comparison (None for ``--baseline none``).

    ``auto`` loads B's SavedModel only when the settings recorded in its metadata match the B
    this run would train (:func:`~keras_ae.questions.question_bc.training_settings`: data size,
    epochs, seed, ...), and trains B here otherwise; ``load`` loads it whatever its settings and
    reports the differences."""
    if args.baseline == "none":
        return None
    path, exists = baseline_path(args)
    wanted = bc.training_settings(args, train_rows)
    model = _saved_b(path) if exists and args.baseline != "train" else None
    differences = bc.settings_differences(model.metadata, wanted) if model is not None else None
    reason = why_train_baseline(args.baseline, path, exists, differences)
    if reason is not None:
        return train_baseline(args, reason)
    meta = model.metadata
    summary = _saved_b_summary(args, path, meta, wanted)
    reason = ("its recorded settings match this run's" if not differences else
              f"--baseline load, although its settings differ from this run's: {'; '.join(differences)}")
    print(f"[question C] question B's model: loaded {path} ({meta.get('epochs')} epochs), {reason}", flush=True)
    # model-space calls: C compares the models on noisy images too, which reach past [-1, 1]
    return Baseline(lambda x: model.call_model_space("encode", x), lambda x: model.call_model_space("reconstruct", x),
                    summary, source=f"{path} ({meta.get('epochs')} epochs)", action="loaded", reason=reason)


# ---------------------------------------------------------------- train and evaluate C


load_data = bc.load_data


def fixed_noise(x, args, offset: int = FIGURE_NOISE):
    """The seeded noisy copy of ``x`` used for figures and for comparing models (not for training)."""
    from keras_ae.data import add_gaussian_noise

    return add_gaussian_noise(x, args.noise_stddev, seed=args.seed + offset,
                              clip=(-1.0, 1.0) if args.noise_clip else None)


def train(args, data: bc.FashionData) -> bc.Trained:
    """Build and train the denoising autoencoder; figures of noisy input / reconstruction / original."""
    model = bc.new_model(args, lambda minibatch_size: build_model(
        args.encoder_units, args.decoder_units, args.noise_stddev, args.noise_clip, seed=args.seed,
        minibatch_size=minibatch_size))
    noisy = fixed_noise(data.x_test[: args.num_images], args)

    def rows(model, x):
        return [("noisy input", bc.show(noisy)), ("reconstruction", bc.show(model.predict(noisy, verbose=0))),
                ("original", bc.show(x))]
    figure = bc.reconstruction_figure(args, data, "Question C: noisy test images (noise sd "
                                      f"{args.noise_stddev:g}), their reconstructions and the originals", rows)
    return bc.fit(args, data, model, figure,
                  bc.training_line("C", MODEL_NAME, args, data, f", noise sd {args.noise_stddev:g}"))


def reconstruction_losses(reconstruct: Callable, data: bc.FashionData, args) -> dict:
    """Test MSE of a model's reconstructions of the clean test images and of the seeded noisy test
    images against the clean ones, and of the noisy images themselves: the same for every model."""
    from keras_ae.losses import mse_per_pixel

    noisy = fixed_noise(data.x_test, args, offset=TEST_NOISE)
    return {**bc.clean_losses(reconstruct, data), "test_mse_noisy": mse_per_pixel(data.x_test, reconstruct(noisy)),
            "noisy_input_mse": mse_per_pixel(data.x_test, noisy)}


def evaluate(model, data: bc.FashionData, args) -> bc.Evaluation:
    """C's numbers: its codes, and its reconstructions of clean and of noisy test images."""
    return bc.evaluate("C", LABEL, model, data, args, reconstruction_losses)


def evaluate_baseline(baseline: Baseline, data: bc.FashionData, args) -> bc.Evaluation:
    """The same numbers for question B's model on the same images (no pixel reference: C's)."""
    print("[question C] the same numbers for question B's codes on the same images", flush=True)
    return bc.Evaluation(own=bc.analyse(baseline.encode, data, args, question_b.LABEL),
                         losses=reconstruction_losses(baseline.reconstruct, data, args), pixels=None)


# ---------------------------------------------------------------- write outputs


def compare_text(b: dict, c: dict, b_losses: dict, c_losses: dict, args) -> str:
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


def plot_b_vs_c(b: dict, c: dict, data: bc.FashionData, args, source: str) -> str:
    """``tsne_b_vs_c.png``: the two t-SNE maps of the same images side by side."""
    from keras_ae import analysis
    from keras_ae.plots import plot_embedding_panels

    panels = [(b["coords"], data.y_subset, f"B: autoencoder (kNN {100 * b['row']['knn_test']:.1f}%, "
                                           f"trust. {b['row']['trustworthiness']:.3f})"),
              (c["coords"], data.y_subset, f"C: denoising, noise sd {args.noise_stddev:g} "
                                           f"(kNN {100 * c['row']['knn_test']:.1f}%, "
                                           f"trust. {c['row']['trustworthiness']:.3f})")]
    return plot_embedding_panels(
        panels, data.class_names, os.path.join(args.output_dir, "tsne_b_vs_c.png"),
        "t-SNE of the 8-d codes of the same 500 Fashion-MNIST test images: B vs C",
        caption=(f"Both maps: t-SNE (perplexity {args.tsne_perplexity:g}, PCA init, seed {args.seed}) of the "
                 f"codes of the same {args.tsne_size} class-balanced test images (clean inputs); colour = "
                 f"true class. kNN: {args.knn_k}-nearest-neighbour accuracy, training codes -> test codes; "
                 f"trust.: trustworthiness of the map ({analysis.NEIGHBOURS} neighbours). "
                 f"B's model: {source}."))


def paired_knn_row(b_correct, c_correct) -> dict:
    """The kNN probes of B's and C's codes on the same test images, counted in pairs: what
    McNemar's test of "equally accurate" compares (:class:`keras_ae.verdicts.McNemar`)."""
    b, c = np.asarray(b_correct, bool), np.asarray(c_correct, bool)
    if b.shape != c.shape:
        raise ValueError(f"B's and C's kNN results cover {b.shape} and {c.shape} test images")
    return {"test_images": int(b.size), "both_right": int(np.sum(b & c)), "only_b_right": int(np.sum(b & ~c)),
            "only_c_right": int(np.sum(~b & c)), "both_wrong": int(np.sum(~b & ~c))}


def write_paired_knn(b_correct, c_correct, args) -> tuple:
    from keras_ae.reporting import write_table

    return write_table([paired_knn_row(b_correct, c_correct)], os.path.join(args.output_dir, "paired_knn"), caption=(
        f"Question C: the {args.knn_k}-nearest-neighbour probe (fitted on the training codes) on the same test "
        "images with B's codes and with C's, counted in pairs; McNemar's test compares only_b_right with "
        "only_c_right."))


def _code_differs(tables) -> Answer | None:
    """Is C's code different from B's? McNemar's exact test of the two kNN probes on the same test
    images, with the t-SNE map's numbers beside it."""
    rows, pairs = tables.get("comparison", []), tables.get("paired_knn", [])
    if not pairs:
        return None
    p = {k: int(number(v)) for k, v in pairs[0].items()}
    test = McNemar(only_a=p["only_c_right"], only_b=p["only_b_right"], items=p["test_images"])
    b, c = (next((r for r in rows if str(r.get("model", "")).startswith(x)), {}) for x in ("B", "C"))
    if test.verdict == "tie":
        verdict = ("Not measurably: the kNN probe is as accurate on C's codes as on B's "
                   f"(difference {100 * test.accuracy_difference:+.1f} points, McNemar p = {test.p_value:.2g})")
    else:
        better = "C's (denoising)" if test.verdict == "A" else "B's (plain)"
        verdict = (f"Yes: the classes are measurably easier to tell apart in {better} codes "
                   f"(kNN accuracy {100 * test.accuracy_difference:+.1f} points C - B, McNemar p = {test.p_value:.2g})")
    extra = "; ".join(f"{name} {number(b[col]):.3g} -> {number(c[col]):.3g}" for name, col in (
        ("trustworthiness", "trustworthiness"), ("t-SNE silhouette", "silhouette_tsne"), ("active units", "active_dims"))
        if number(b.get(col)) is not None and number(c.get(col)) is not None)
    return Answer(verdict + ".", f"{p['test_images']} test images: only B's probe right on {p['only_b_right']}, only "
                  f"C's on {p['only_c_right']}, both on {p['both_right']}" + (f"; B -> C: {extra}" if extra else "") + ".")


ASKS = (Ask("001 Q3", "Is the denoising autoencoder's code different from the plain autoencoder's?", _code_differs),)


def table_caption(args, data: bc.FashionData) -> str:
    return bc.table_caption("C", args, data, train_note=" (noisy input -> clean target)", test_notes=(
        f"; test_mse_noisy reconstructs them with seeded noise of sd {args.noise_stddev:g} added, against the "
        "clean images; noisy_input_mse is the error of the noisy images themselves"))


def write_outputs(args, data: bc.FashionData, trained: bc.Trained, evaluation: bc.Evaluation,
                  baseline: Baseline | None, b_eval: bc.Evaluation | None) -> RunResult:
    """C's figures (B's map beside C's), the comparison table, description, summary.json and SavedModel."""
    evals, own = trained.evaluations, evaluation.own
    curves = bc.loss_curves(trained, args, ", noisy input")
    curves["test loss, clean input"] = ([e["epoch"] for e in evals], [e["test_clean_loss"] for e in evals])
    curves["noisy input itself vs clean (do nothing)"] = ([e["epoch"] for e in evals],
                                                          [e["test_noisy_input_loss"] for e in evals])
    figures = [*trained.figures, bc.plot_loss_curves(curves, args, "C", "noisy input -> clean target"),
               bc.plot_codes("C", LABEL, own, data, args)]
    summary = bc.summary_of("C", MODEL_NAME, args, data, trained, evaluation,
                            final={"final_test_clean_loss": float(evals[-1]["test_clean_loss"])})
    rows = [bc.own_row(LABEL, evaluation, summary)]
    descriptions = [bc.describe("Question C (denoising autoencoder)", own, data, evaluation, args)]
    comparison = None
    if baseline is not None:
        bs = baseline.summary
        rows.insert(0, bc.model_row(question_b.LABEL, b_eval.own, b_eval.losses, {
            "epochs": bs.get("epochs", ""), "final_train_loss": bs.get("final_train_loss", ""),
            "train_minutes": bs.get("train_minutes", "")}))
        descriptions.insert(0, bc.describe("Question B (autoencoder)", b_eval.own, data, evaluation, args))
        figures.append(plot_b_vs_c(b_eval.own, own, data, args, baseline.source))
        comparison = {"B": b_eval.own["row"], "C": own["row"], "baseline_source": baseline.source}
        summary["baseline"] = {"action": baseline.action, "source": baseline.source, "reason": baseline.reason}
        descriptions.append(compare_text(b_eval.own["row"], own["row"], b_eval.losses, evaluation.losses, args))
    if evaluation.pixels is not None:
        rows.append(bc.model_row("raw pixels (no model)", evaluation.pixels, {}, {}))
    table, description = bc.write_table_and_text("C", args, rows, NOISY_COLUMNS, TABLE, table_caption(args, data),
                                                 descriptions, summary)
    if baseline is not None:
        table = [*table, *write_paired_knn(b_eval.own["knn_correct"], own["knn_correct"], args)]
    meta = {"noise_stddev": args.noise_stddev, "noise_clip": args.noise_clip,
            "reconstruct": "takes a (noisy) image and returns the clean estimate"}
    if not args.noise_clip:  # noisy float inputs reach past [-1, 1]: accept up to 6 noise sd beyond
        meta["input_range"] = [-1.0 - 6 * args.noise_stddev, 1.0 + 6 * args.noise_stddev]
    exported = bc.export(trained.model, args, "C", MODEL_NAME, summary, meta)
    print(bc.final_line("C", summary, own["row"], trained.seconds, table, exported), flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=table, models={MODEL_NAME: exported} if exported else {},
                        details=bc.details(trained, evaluation, summary, rows, description, comparison))


def run(args: argparse.Namespace) -> RunResult:
    bc.check_args(args)
    if args.baseline != "none":
        baseline_path(args)  # fail early when --baseline load has nothing to load
    print("[question C] loading Fashion-MNIST (inputs scaled to [-1, 1])", flush=True)
    data = load_data(args)
    os.makedirs(args.output_dir, exist_ok=True)
    trained = train(args, data)
    evaluation = evaluate(trained.model, data, args)
    baseline = load_baseline(args, len(data.x_train))
    b_eval = evaluate_baseline(baseline, data, args) if baseline is not None else None
    return write_outputs(args, data, trained, evaluation, baseline, b_eval)


def headline(tables) -> dict:
    """``test_mse_clean``, ``test_mse_noisy``, ``noisy_input_mse``, ``knn_test_accuracy`` of C, and
    ``baseline_test_mse_noisy`` (B's autoencoder on the same noisy images)."""
    rows = tables.get(TABLE, [])
    out = pick(row_where(rows, "model", "C"), {"test_mse_clean": "test_mse_clean", "test_mse_noisy": "test_mse_noisy",
                                               "noisy_input_mse": "noisy_input_mse", "knn_test_accuracy": "knn_test"})
    out.update(pick(row_where(rows, "model", "B"), {"baseline_test_mse_noisy": "test_mse_noisy"}))
    return out


QUESTION = Question(
    id="C", title="denoising autoencoder on Fashion-MNIST, t-SNE compared with B", sheet="001 question 3",
    build_parser=build_parser, run=run,
    quick_args=("--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--test-every", "1"),
    doc_figures=("reconstructions_epoch*", "loss_curves.png", "tsne_codes.png", "tsne_b_vs_c.png"),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note="Sheet 001 asks for the figures and a comparison with question B; no reference numbers.",
    headline=headline, readme_metrics=("test_mse_noisy", "noisy_input_mse"),
    metric_labels={"test_mse_clean": "clean test images: MSE per pixel", "test_mse_noisy": "noisy test images: MSE per pixel",
                   "noisy_input_mse": "noisy input itself: MSE per pixel",
                   "knn_test_accuracy": "kNN accuracy on the 8-d codes (test images)",
                   "baseline_test_mse_noisy": "B's autoencoder on the same noisy images: MSE per pixel"},
    run_all_args=run_all_args, asks=ASKS,
)
main = QUESTION.main

if __name__ == "__main__":
    raise SystemExit(main())
