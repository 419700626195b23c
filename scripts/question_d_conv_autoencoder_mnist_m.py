"""Question D: convolutional autoencoder (Conv2D / Conv2DTranspose) on MNIST-M, least-squares loss.

Usage: python scripts/question_d_conv_autoencoder_mnist_m.py [--epochs 20] [--help]
"""

from keras_ae.questions.question_d import main

if __name__ == "__main__":
    raise SystemExit(main())
