"""Question J: a VAE that backs the written answers in docs/answers.md.

Usage: python scripts/question_j_variational_autoencoder.py [--epochs 30] [--help]
"""

from keras_ae.questions.question_j import main

if __name__ == "__main__":
    raise SystemExit(main())
