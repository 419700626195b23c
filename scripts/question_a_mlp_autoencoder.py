"""Question A: sigmoid MLP autoencoder on MNIST (normal vs Glorot init, MSE vs cross-entropy).

Usage: python scripts/question_a_mlp_autoencoder.py [--epochs 20] [--variants ...] [--help]
"""

from keras_ae.questions.question_a import main

if __name__ == "__main__":
    raise SystemExit(main())
