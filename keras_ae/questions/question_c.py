"""Question C: denoising autoencoder on Fashion-MNIST, t-SNE compared with B's (sheet 001 question 3).

The work is shared with question B in :mod:`keras_ae.questions.question_bc`; this module fixes
the question id for the ``keras-ae run C`` command and the script.
"""

from __future__ import annotations

from keras_ae.questions import question_bc


QUICK_ARGS = ["--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--test-every", "1"]
CAPTIONS = {
    "reconstructions_epoch*": "Ten Fashion-MNIST test images: the noisy input (top), the denoising autoencoder's "
                              "reconstruction (middle) and the clean original (bottom), at a test evaluation.",
    "loss_curves.png": "Training loss (noisy input vs clean target) every epoch and test loss every 10 epochs.",
    "tsne_codes.png": "t-SNE of the denoising autoencoder's 8-D codes of 500 clean test images.",
    "tsne_b_vs_c.png": "t-SNE of the codes of the same 500 test images: plain autoencoder (B) beside the "
                       "denoising autoencoder (C).",
}
PUBLISHED = "Sheet 001 asks for the figures and a comparison with question B; no reference numbers."


def run_all_args(output_root: str) -> list[str]:
    """In ``keras-ae run all``, C compares with (or trains) B under the same output root."""
    import os

    return ["--baseline-output-dir", os.path.join(output_root, "question_b")]


def build_parser():
    return question_bc.build_parser("C")


def run(args):
    return question_bc.run(args)


def main(argv=None) -> int:
    return question_bc.main(argv, question="C")


if __name__ == "__main__":
    raise SystemExit(main())
