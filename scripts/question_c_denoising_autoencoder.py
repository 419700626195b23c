"""Question C: denoising autoencoder on Fashion-MNIST, t-SNE of its codes beside question B's.

Usage: python scripts/question_c_denoising_autoencoder.py [--noise-stddev 0.5] [--baseline auto] [--help]
(B's SavedModel is loaded from saved_models/question_b_autoencoder; without one B is trained first.)
"""

from keras_ae.questions.question_c import main

if __name__ == "__main__":
    raise SystemExit(main())
