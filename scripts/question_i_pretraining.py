"""Question I: unsupervised autoencoder pretraining on MNIST, then fine-tuning with few labels vs random init.

Usage: python scripts/question_i_pretraining.py [--labels 100 1000] [--seeds 0 1 2 3 4] [--help]
"""

from keras_ae.questions.question_i import main

if __name__ == "__main__":
    raise SystemExit(main())
