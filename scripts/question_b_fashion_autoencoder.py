"""Question B: Fashion-MNIST fully-connected autoencoder, t-SNE of the codes of 500 test images.

Usage: python scripts/question_b_fashion_autoencoder.py [--epochs 50] [--help]
"""

from keras_ae.questions.question_b import main

if __name__ == "__main__":
    raise SystemExit(main())
