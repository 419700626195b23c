"""Question H: PCA vs a deep 784-1000-500-250-30 autoencoder on MNIST (Hinton & Salakhutdinov 2006).

Usage: python scripts/question_h_pca_vs_autoencoder.py [--epochs 50] [--hidden-activation sigmoid|relu] [--help]
"""

from keras_ae.questions.question_h import main

if __name__ == "__main__":
    raise SystemExit(main())
