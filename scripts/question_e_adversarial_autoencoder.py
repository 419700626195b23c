"""Question E: adversarial autoencoder (three MLPs, 100-d N(0, I) prior) on MNIST or a user's data.npy.

Usage: python scripts/question_e_adversarial_autoencoder.py [--data data.npy] [--epochs N] [--help]
"""

from keras_ae.questions.question_e import main

if __name__ == "__main__":
    raise SystemExit(main())
