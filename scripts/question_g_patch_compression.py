"""Question G: image compression with a 64-16-64 tanh autoencoder on 8x8 frames (6- and 4-bit codes vs JPEG).

Usage: python scripts/question_g_patch_compression.py [--train-image 122048] [--test-image 108041] [--help]
"""

from keras_ae.questions.question_g import main

if __name__ == "__main__":
    raise SystemExit(main())
