"""Question C: denoising autoencoder on Fashion-MNIST, t-SNE compared with B's (sheet 001 question 3).

The work is shared with question B in :mod:`keras_ae.questions.question_bc`; this module declares
the question.
"""

from __future__ import annotations

import os

from keras_ae.questions import question_bc
from keras_ae.questions.spec import Question, pick, row_where

CAPTIONS = {
    "reconstructions_epoch*": "Ten Fashion-MNIST test images: the noisy input (top), the denoising autoencoder's "
                              "reconstruction (middle) and the clean original (bottom), at a test evaluation.",
    "loss_curves.png": "Training loss (noisy input vs clean target) every epoch and test loss every 10 epochs.",
    "tsne_codes.png": "t-SNE of the denoising autoencoder's 8-D codes of 500 clean test images.",
    "tsne_b_vs_c.png": "t-SNE of the codes of the same 500 test images: plain autoencoder (B) beside the "
                       "denoising autoencoder (C).",
}


def run_all_args(output_root: str) -> list[str]:
    """In ``keras-ae run all``, C compares with (or trains) B under the same output root."""
    return ["--baseline-output-dir", os.path.join(output_root, "question_b")]


def build_parser():
    return question_bc.build_parser("C")


def headline(tables) -> dict:
    """``test_mse_clean``, ``test_mse_noisy``, ``noisy_input_mse``, ``knn_test_accuracy`` of C, and
    ``baseline_test_mse_noisy`` (B's autoencoder on the same noisy images)."""
    rows = tables.get("comparison", [])
    out = pick(row_where(rows, "model", "C"), {"test_mse_clean": "test_mse_clean", "test_mse_noisy": "test_mse_noisy",
                                               "noisy_input_mse": "noisy_input_mse", "knn_test_accuracy": "knn_test"})
    out.update(pick(row_where(rows, "model", "B"), {"baseline_test_mse_noisy": "test_mse_noisy"}))
    return out


QUESTION = Question(
    id="C", title="denoising autoencoder on Fashion-MNIST, t-SNE compared with B", sheet="001 question 3",
    build_parser=build_parser, run=question_bc.run,
    quick_args=("--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--test-every", "1"),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note="Sheet 001 asks for the figures and a comparison with question B; no reference numbers.",
    headline=headline, readme_metrics=("test_mse_noisy", "noisy_input_mse"),
    metric_labels={"test_mse_clean": "clean test images: MSE per pixel", "test_mse_noisy": "noisy test images: MSE per pixel",
                   "noisy_input_mse": "noisy input itself: MSE per pixel",
                   "knn_test_accuracy": "kNN accuracy on the 8-d codes (test images)",
                   "baseline_test_mse_noisy": "B's autoencoder on the same noisy images: MSE per pixel"},
    run_all_args=run_all_args,
)
main = QUESTION.main

if __name__ == "__main__":
    raise SystemExit(main())
