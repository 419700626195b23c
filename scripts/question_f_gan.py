"""Question F: a GAN on MNIST trained by the 004 slides' learning algorithm (k D-steps per G-step).

Usage: python scripts/question_f_gan.py [--epochs 30] [--k 1] [--generator-loss minimax|non_saturating] [--help]
"""

from keras_ae.questions.question_f import main

if __name__ == "__main__":
    raise SystemExit(main())
