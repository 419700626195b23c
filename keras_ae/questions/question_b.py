"""Question B: Fashion-MNIST fully-connected autoencoder, t-SNE of its codes (sheet 001 question 2).

The work is shared with question C in :mod:`keras_ae.questions.question_bc`; this module fixes
the question id for the ``keras-ae run B`` command and the script.
"""

from __future__ import annotations

from keras_ae.questions import question_bc


def build_parser():
    return question_bc.build_parser("B")


def run(args):
    return question_bc.run(args)


def main(argv=None) -> int:
    return question_bc.main(argv, question="B")


if __name__ == "__main__":
    raise SystemExit(main())
