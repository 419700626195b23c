"""Question B: Fashion-MNIST fully-connected autoencoder, t-SNE of its codes (sheet 001 question 2).

The work is shared with question C in :mod:`keras_ae.questions.question_bc`; this module declares
the question.
"""

from __future__ import annotations

from keras_ae.questions import question_bc
from keras_ae.questions.spec import Question, pick, row_where

CAPTIONS = {
    "reconstructions_epoch*": "Ten Fashion-MNIST test images (top, class names above) and their reconstructions "
                              "at a test evaluation (every 10 epochs).",
    "loss_curves.png": "Training MSE every epoch and test MSE every 10 epochs (inputs in [-1, 1]).",
    "tsne_codes.png": "t-SNE of the 8-D codes of 500 test images, one colour per clothing class.",
}


def build_parser():
    return question_bc.build_parser("B")


def headline(tables) -> dict:
    """``test_mse``, ``knn_test_accuracy``, ``trustworthiness``, ``silhouette_tsne`` of B's codes."""
    return pick(row_where(tables.get("code_quality", []), "model", "B"),
                {"test_mse": "test_mse_clean", "knn_test_accuracy": "knn_test", "trustworthiness": "trustworthiness",
                 "silhouette_tsne": "silhouette_tsne"})


QUESTION = Question(
    id="B", title="Fashion-MNIST fully-connected autoencoder, t-SNE of the codes", sheet="001 question 2",
    build_parser=build_parser, run=question_bc.run,
    quick_args=("--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--test-every", "1"),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note="Sheet 001 asks for the figures and a description only; no reference numbers.",
    headline=headline, readme_metrics=("test_mse", "knn_test_accuracy"),
    metric_labels={"test_mse": "test MSE per pixel (inputs in [-1, 1])",
                   "knn_test_accuracy": "kNN accuracy on the 8-d codes (test images)",
                   "trustworthiness": "t-SNE trustworthiness", "silhouette_tsne": "silhouette of the t-SNE classes"},
)
main = QUESTION.main

if __name__ == "__main__":
    raise SystemExit(main())
