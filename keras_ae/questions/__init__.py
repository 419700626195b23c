"""One module per assignment question; each has ``build_parser()``, ``run(args)`` and ``main()``."""

from __future__ import annotations

import importlib

# id -> (module, one-line description)
QUESTIONS = {
    "A": ("keras_ae.questions.question_a", "sigmoid MLP autoencoder on MNIST: normal vs Glorot, MSE vs cross-entropy"),
    "B": ("keras_ae.questions.question_b", "Fashion-MNIST fully-connected autoencoder, t-SNE of the codes"),
    "C": ("keras_ae.questions.question_c", "denoising autoencoder on Fashion-MNIST, t-SNE compared with B"),
    "D": ("keras_ae.questions.question_d", "convolutional autoencoder on MNIST-M, least-squares loss"),
    "E": ("keras_ae.questions.question_e", "adversarial autoencoder with a 100-d N(0, I) prior, three-phase training"),
    "F": ("keras_ae.questions.question_f", "GAN on MNIST: the slides' k discriminator steps per generator step"),
    "G": ("keras_ae.questions.question_g", "image compression with a 64-16-64 tanh autoencoder, 6- and 4-bit codes vs JPEG"),
    "H": ("keras_ae.questions.question_h", "PCA vs deep 784-1000-500-250-30 autoencoder (Hinton & Salakhutdinov 2006)"),
    "I": ("keras_ae.questions.question_i", "unsupervised pretraining on MNIST, fine-tuning with 100 / 1,000 labels"),
    "J": ("keras_ae.questions.question_j", "variational autoencoder backing the written answers (docs/answers.md)"),
}


def get_question(qid: str):
    key = qid.upper()
    if key not in QUESTIONS:
        raise KeyError(f"unknown question {qid!r}; choose one of {', '.join(QUESTIONS)}")
    return importlib.import_module(QUESTIONS[key][0])
