"""Question C: denoising autoencoder on Fashion-MNIST, t-SNE compared with B's (sheet 001 question 3).

The work is shared with question B in :mod:`keras_ae.questions.question_bc`; this module fixes
the question id for the ``keras-ae run C`` command and the script.
"""

from __future__ import annotations

from keras_ae.questions import question_bc


def build_parser():
    return question_bc.build_parser("C")


def run(args):
    return question_bc.run(args)


def main(argv=None) -> int:
    return question_bc.main(argv, question="C")


if __name__ == "__main__":
    raise SystemExit(main())
