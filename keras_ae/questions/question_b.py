"""Question B: Fashion-MNIST fully-connected autoencoder, t-SNE of its codes (sheet 001 question 2).

The work is shared with question C in :mod:`keras_ae.questions.question_bc`; this module fixes
the question id for the ``keras-ae run B`` command and the script.
"""

from __future__ import annotations

from keras_ae.questions import question_bc


QUICK_ARGS = ["--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--test-every", "1"]
CAPTIONS = {
    "reconstructions_epoch*": "Ten Fashion-MNIST test images (top, class names above) and their reconstructions "
                              "at a test evaluation (every 10 epochs).",
    "loss_curves.png": "Training MSE every epoch and test MSE every 10 epochs (inputs in [-1, 1]).",
    "tsne_codes.png": "t-SNE of the 8-D codes of 500 test images, one colour per clothing class.",
}
PUBLISHED = "Sheet 001 asks for the figures and a description only; no reference numbers."


def build_parser():
    return question_bc.build_parser("B")


def run(args):
    return question_bc.run(args)


def main(argv=None) -> int:
    return question_bc.main(argv, question="B")


if __name__ == "__main__":
    raise SystemExit(main())
