"""One module per assignment question; each has ``build_parser()``, ``run(args)`` and ``main()``."""

from __future__ import annotations

import importlib

# id -> (module, one-line description)
QUESTIONS = {
    "A": ("keras_ae.questions.question_a", "sigmoid MLP autoencoder on MNIST: normal vs Glorot, MSE vs cross-entropy"),
    "F": ("keras_ae.questions.question_f", "GAN on MNIST: the slides' k discriminator steps per generator step"),
    "H": ("keras_ae.questions.question_h", "PCA vs deep 784-1000-500-250-30 autoencoder (Hinton & Salakhutdinov 2006)"),
}


def get_question(qid: str):
    key = qid.upper()
    if key not in QUESTIONS:
        raise KeyError(f"unknown question {qid!r}; choose one of {', '.join(QUESTIONS)}")
    return importlib.import_module(QUESTIONS[key][0])
