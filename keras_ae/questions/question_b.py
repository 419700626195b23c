"""Question B: Fashion-MNIST fully-connected autoencoder, t-SNE of its codes (sheet 001 question 2).

The sheet's network (:func:`build_model`), trained with the test loss and a figure every 10
epochs, then the t-SNE of the codes of 500 test images and the numbers on them. A run is
:func:`load_data` -> :func:`train` -> :func:`evaluate` -> :func:`write_outputs`, over the helpers
shared with question C in :mod:`keras_ae.questions.question_bc`.
"""

from __future__ import annotations

import argparse
import os

from keras_ae.questions import question_bc as bc
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick, row_where

MODEL_NAME = "question_b_autoencoder"
LABEL = "B: autoencoder"
TABLE = "code_quality"

CAPTIONS = {
    "reconstructions_epoch*": "Ten Fashion-MNIST test images (top, class names above) and their reconstructions "
                              "at a test evaluation (every 10 epochs).",
    "loss_curves.png": "Training MSE every epoch and test MSE every 10 epochs (inputs in [-1, 1]).",
    "tsne_codes.png": "t-SNE of the 8-D codes of 500 test images, one colour per clothing class.",
}


def build_model(encoder_units=bc.SHEET_ENCODER, decoder_units=bc.SHEET_DECODER, minibatch_size: int | None = None):
    """The sheet's network as a plain :class:`~keras_ae.models.Autoencoder`."""
    from keras_ae.models import Autoencoder

    return bc.build_model(MODEL_NAME, Autoencoder, encoder_units, decoder_units, minibatch_size)


def build_parser() -> argparse.ArgumentParser:
    return bc.question_parser("B")


load_data = bc.load_data


def train(args, data: bc.FashionData) -> bc.Trained:
    """Build and train the autoencoder; figures of test images over their reconstructions."""
    model = bc.new_model(args, lambda minibatch_size: build_model(args.encoder_units, args.decoder_units,
                                                                  minibatch_size))
    figure = bc.reconstruction_figure(args, data, "Question B: test images over their reconstructions")
    return bc.fit(args, data, model, figure, bc.training_line("B", MODEL_NAME, args, data))


def evaluate(model, data: bc.FashionData, args) -> bc.Evaluation:
    """The codes' numbers and the reconstruction MSE of the clean test images."""
    return bc.evaluate("B", LABEL, model, data, args)


def write_outputs(args, data: bc.FashionData, trained: bc.Trained, evaluation: bc.Evaluation) -> RunResult:
    """The loss curves, the t-SNE map, the table, the description, summary.json and the SavedModel."""
    figures = [*trained.figures,
               bc.plot_loss_curves(bc.loss_curves(trained, args), args, "B", "input -> input"),
               bc.plot_codes("B", LABEL, evaluation.own, data, args)]
    summary = bc.summary_of("B", MODEL_NAME, args, data, trained, evaluation)
    rows = [bc.own_row(LABEL, evaluation, summary)]
    if evaluation.pixels is not None:
        rows.append(bc.model_row("raw pixels (no model)", evaluation.pixels, {}, {}))
    descriptions = [bc.describe("Question B (autoencoder)", evaluation.own, data, evaluation, args)]
    table, description = bc.write_table_and_text("B", args, rows, (), TABLE, bc.table_caption("B", args, data),
                                                 descriptions, summary)
    exported = bc.export(trained.model, args, "B", MODEL_NAME, summary)
    print(bc.final_line("B", summary, evaluation.own["row"], trained.seconds, table, exported), flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=table, models={MODEL_NAME: exported} if exported else {},
                        details=bc.details(trained, evaluation, summary, rows, description))


def run(args: argparse.Namespace) -> RunResult:
    bc.check_args(args)
    print("[question B] loading Fashion-MNIST (inputs scaled to [-1, 1])", flush=True)
    data = load_data(args)
    os.makedirs(args.output_dir, exist_ok=True)
    trained = train(args, data)
    return write_outputs(args, data, trained, evaluate(trained.model, data, args))


def headline(tables) -> dict:
    """``test_mse``, ``knn_test_accuracy``, ``trustworthiness``, ``silhouette_tsne`` of B's codes."""
    return pick(row_where(tables.get(TABLE, []), "model", "B"),
                {"test_mse": "test_mse_clean", "knn_test_accuracy": "knn_test", "trustworthiness": "trustworthiness",
                 "silhouette_tsne": "silhouette_tsne"})


def _tsne_separation(tables) -> Answer | None:
    """How well do the classes separate in the t-SNE map of the codes? From the kNN probe in the
    plane (cross-validated, with its spread over folds), the silhouette and the trustworthiness."""
    row = row_where(tables.get("code_quality", []), "model", "B")
    plane, spread = number(row.get("knn_cv_tsne")), number(row.get("knn_cv_std"))
    if plane is None:
        return None
    words = ("well: most classes form their own regions" if plane >= 0.85 else
             "partly: some classes form their own regions while others overlap" if plane >= 0.6 else
             "poorly: the classes overlap")
    test, sil, trust = (number(row.get(k)) for k in ("knn_test", "silhouette_tsne", "trustworthiness"))
    evidence = [f"a kNN classifier in the 2-D map is right on {100 * plane:.1f}% of the embedded images "
                f"(cross-validated; chance 10%)"]
    if spread is not None:
        evidence.append(f"the 8-d code's cross-validated kNN spread over folds +-{100 * spread:.1f} points")
    if test is not None:
        evidence.append(f"kNN on the 8-d codes, training -> test images, {100 * test:.1f}%")
    if sil is not None:
        evidence.append(f"class silhouette in the map {sil:.2f} (1: separate, 0: touching, < 0: mixed)")
    if trust is not None:
        evidence.append(f"trustworthiness {trust:.3f} (the map keeps the codes' neighbourhoods)")
    return Answer(f"The classes separate {words}.", "; ".join(evidence) + ".")


ASKS = (Ask("001 Q2(e)", "How well do the classes separate in the t-SNE of the codes?", _tsne_separation),)


QUESTION = Question(
    id="B", title="Fashion-MNIST fully-connected autoencoder, t-SNE of the codes", sheet="001 question 2",
    build_parser=build_parser, run=run,
    quick_args=("--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--test-every", "1"),
    doc_figures=("reconstructions_epoch*", "loss_curves.png", "tsne_codes.png"),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note="Sheet 001 asks for the figures and a description only; no reference numbers.",
    headline=headline, readme_metrics=("test_mse", "knn_test_accuracy"), asks=ASKS,
    metric_labels={"test_mse": "test MSE per pixel (inputs in [-1, 1])",
                   "knn_test_accuracy": "kNN accuracy on the 8-d codes (test images)",
                   "trustworthiness": "t-SNE trustworthiness", "silhouette_tsne": "silhouette of the t-SNE classes"},
)
main = QUESTION.main

if __name__ == "__main__":
    raise SystemExit(main())
