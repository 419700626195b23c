"""Question F: a GAN on MNIST (004 slides "Generative adversarial networks", "The learning algorithm").

Generator G: z ~ N(0, I) of 100 dimensions -> MLP 256-512-1024 (LeakyReLU 0.2) -> 784 tanh pixels
in [-1, 1] (the images are scaled to [-1, 1] for training; see docs/question_f.md for why not [0, 1] with
a sigmoid). Discriminator D: 784 -> MLP 1024-512-256 (LeakyReLU 0.2, dropout 0.3) -> one sigmoid
unit, the probability that the input is a real training image (label convention real = 1,
generated = 0). Training follows the slides' learning algorithm: per iteration k discriminator
updates (``--k``, default 1) on the error E = -(1/m) sum [ln D(x) + ln(1 - D(G(z)))], each on a
fresh minibatch of m real images and fresh noise, then one generator update minimising
(1/m) sum ln(1 - D(G(z))) (``--generator-loss minimax``, the slides') or -(1/m) sum ln D(G(z))
(``non_saturating``). Adam (lr 2e-4, beta_1 0.5) for both networks.

The last 10,000 training images are held out (as Goodfellow et al. did) to choose the Parzen
window's sigma; the GAN trains on the first 50,000. Writes: a 10x10 grid of G(z) at the same
fixed z every ``--sample-every`` epochs and one figure of those samples over training; D and G
losses (and D's mean outputs) over training; the Parzen-window log-likelihood of the MNIST test
set (10,000 samples mapped back to [0, 1], sigma chosen on the validation images, all in
[0, 1]; their z are drawn from ``--seed`` alone, so a run repeats them exactly) and a
classifier-based score; a
SavedModel with ``generate`` (z -> image in [-1, 1]) and ``discriminate`` (image in [-1, 1] ->
probability).

``--parzen-every N`` also scores the generator every N epochs by a cheaper Parzen-window
log-likelihood of held-out training images (never the test set) and draws it against epochs;
with ``--patience`` the fit stops when that score has not risen for so many epochs, and with
``--keep-best`` the best-scoring epoch's weights are the ones evaluated and exported.

``--preset goodfellow2014``: Goodfellow et al. (2014)'s MNIST configuration from their published
pylearn2 file (github.com/goodfeli/adversarial, mnist.yaml): z uniform in (-sqrt 3, sqrt 3),
generator 100 -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid (weights uniform in (-0.05, 0.05), output
biases the log-odds of the mean training image), images in [0, 1], discriminator of two maxout
layers (240 units x 5 pieces, weights uniform in (-0.005, 0.005)) with dropout 0.2 on the input and
0.5 on the hidden layers, the non-saturating generator loss, k = 1 with D's and G's gradients taken
together on each minibatch of 100 (pylearn2's simultaneous update), SGD with learning rate 0.1
divided by 1.000004 after every update and momentum 0.5 rising to 0.7 by epoch 250; trained until
the held-out Parzen likelihood stops rising, keeping the best epoch. Output in
results/question_f_goodfellow2014 and saved_models/question_f_goodfellow2014_gan; the published
number: keras_ae.references. Every choice: docs/question_f.md, "Preset goodfellow2014".
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from keras_ae.questions.common import (data_options, EVALUATION_BATCH_SIZE, QuestionParser, Timer, add_backup_argument,
                                      add_common_arguments, add_parzen_every_arguments, add_preset_argument,
                                      add_speed_arguments,
                                      distribution_strategy, fraction_below_one, fused_minibatch_size, jit_compile,
                                      nonnegative_float, nonnegative_int, positive_float, positive_int,
                                      seed_everything, verbosity)
from keras_ae.questions.spec import (Answer, Ask, Between, Provenance, Question, RunResult, epochs_text, number,
                                     pick, preset_help)
from keras_ae.references import GAN_PARZEN
from keras_ae.verdicts import against_reference

# Goodfellow et al.'s parzen_ll.py cross-validates sigma over numpy.logspace(-1, 0, 10): the grid
# keras_ae's one Parzen estimator starts from, for every question and preset
from keras_ae.generative_metrics import DEFAULT_SIGMAS  # noqa: E402


def build_model(latent_dim: int = 100, generator_units=(256, 512, 1024), discriminator_units=(1024, 512, 256),
                dropout: float = 0.3, k: int = 1, generator_loss: str = "minimax", seed: int | None = 0,
                minibatch_size: int | None = None, *, generator_activation: str = "leaky_relu",
                output_activation: str = "tanh", generator_init_range: float | None = None, output_bias=None,
                maxout_pieces: int = 1, input_dropout: float = 0.0, discriminator_init_range: float | None = None,
                noise: str = "normal", updates: str = "alternating"):
    """Question F's GAN. The defaults are today's run: LeakyReLU MLPs with Glorot-uniform weights,
    a tanh generator, z ~ N(0, I). ``generator_init_range`` r: the generator's weights uniform in
    (-r, r) and zero biases (:func:`~keras_ae.models.gan.build_uniform_generator`);
    ``output_bias``: the generator's output biases (e.g. the log-odds of the mean training image);
    ``maxout_pieces`` > 1: a discriminator of :class:`~keras_ae.models.gan.Maxout` layers of
    ``discriminator_units`` units with ``input_dropout`` on its input, weights uniform in
    (-``discriminator_init_range``, +) (:func:`~keras_ae.models.gan.build_maxout_discriminator`)."""
    from keras_ae.errors import ConfigError
    from keras_ae.models import GAN, build_discriminator, build_generator
    from keras_ae.models.gan import build_maxout_discriminator, build_uniform_generator, set_output_bias

    # initialisers and dropout are seeded through seed_everything; ``seed`` seeds the noise z
    if generator_init_range is None:
        generator = build_generator(latent_dim, generator_units, activation=generator_activation,
                                    output_activation=output_activation)
        if output_bias is not None:
            set_output_bias(generator, output_bias)
    else:
        generator = build_uniform_generator(latent_dim, generator_units, activation=generator_activation,
                                            output_activation=output_activation, init_range=generator_init_range,
                                            output_bias=output_bias)
    if maxout_pieces > 1:
        discriminator = build_maxout_discriminator(784, discriminator_units, maxout_pieces, input_dropout=input_dropout,
                                                   dropout=dropout, init_range=discriminator_init_range)
    elif input_dropout or discriminator_init_range is not None:
        raise ConfigError("--input-dropout and --discriminator-init-range belong to the maxout discriminator: "
                          "give --maxout-pieces 2 or more")
    else:
        discriminator = build_discriminator(784, discriminator_units, dropout=dropout)
    return GAN(generator, discriminator, d_steps=k, generator_loss=generator_loss, seed=seed, name="question_f_gan",
               minibatch_size=minibatch_size, noise=noise, updates=updates)


def make_optimizer(kind: str = "adam", learning_rate: float = 2e-4, beta_1: float = 0.5, momentum: float = 0.5,
                   final_momentum: float | None = None, momentum_saturate: int = 250, decay_factor: float = 1.0,
                   min_learning_rate: float = 0.0, steps_per_epoch: int = 1):
    """One network's optimizer. ``adam``: Adam(learning_rate, beta_1). ``sgd``: SGD with momentum
    ``momentum`` in epoch 1 rising linearly to ``final_momentum`` in epoch ``momentum_saturate``
    (pylearn2's ``MomentumAdjustor`` with start 1; ``final_momentum`` None: constant), counted in
    epochs of ``steps_per_epoch`` updates of this optimizer. ``decay_factor`` > 1 divides the learning
    rate by it after every update, never below ``min_learning_rate`` (pylearn2's ``ExponentialDecay``)."""
    import keras

    from keras_ae.optimizers import InverseExponentialDecay, LinearMomentumSchedule, ScheduledMomentumSGD

    rate = learning_rate if decay_factor == 1.0 else InverseExponentialDecay(learning_rate, decay_factor,
                                                                              min_learning_rate)
    if kind == "adam":
        return keras.optimizers.Adam(rate, beta_1=beta_1)
    if kind == "sgd":
        final = momentum if final_momentum is None else final_momentum
        return ScheduledMomentumSGD(rate, LinearMomentumSchedule(momentum, final, 1, momentum_saturate,
                                                                 steps_per_epoch))
    from keras_ae.errors import ConfigError

    raise ConfigError(f"unknown optimizer {kind!r}; choose adam or sgd")


def compile_model(model, learning_rate: float = 2e-4, beta_1: float = 0.5, jit_compile: bool = False,
                  optimizers=None):
    """Adam(learning_rate, beta_1) for both networks, or ``optimizers`` = (D's, G's)."""
    import keras

    if optimizers is None:
        optimizers = (keras.optimizers.Adam(learning_rate, beta_1=beta_1),
                      keras.optimizers.Adam(learning_rate, beta_1=beta_1))
    model.compile(d_optimizer=optimizers[0], g_optimizer=optimizers[1], jit_compile=jit_compile)
    return model


def train_classifier(x, y, epochs: int, seed: int, strategy: str = "none"):
    """A small MLP digit classifier (784-512-10) for the classifier-based score, built and
    compiled under the ``--strategy`` named ``strategy``."""
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.models import build_mlp

    seed_everything(seed)
    with distribution_strategy(strategy).scope():
        clf = build_mlp(784, (512, 10), ("relu", "softmax"), name="score_classifier")
        clf.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    clf.fit(make_dataset(x, y, batch_size=128, seed=seed), epochs=epochs, shuffle=False, verbose=0)
    return clf


def classifier_score(probabilities: np.ndarray) -> dict:
    """Inception-score-style numbers from a classifier's p(y|x) on a set of images.

    ``score`` = exp(mean_x KL(p(y|x) || p(y))), between 1 and the number of classes (10): high
    when every image is confidently one digit and all digits occur equally often.
    ``confidence`` = mean max_y p(y|x); ``class_entropy`` = entropy of p(y) in nats (ln 10 =
    2.303 for a uniform mix of digits).
    """
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0)
    kl = np.sum(p * (np.log(p) - np.log(marginal)[None, :]), axis=1)
    return {"score": float(np.exp(kl.mean())), "confidence": float(p.max(axis=1).mean()),
            "class_entropy": float(-np.sum(marginal * np.log(marginal)))}


QUICK_ARGS = ["--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--validation-size", "500",
              "--parzen-samples", "1000", "--sample-every", "1", "--classifier-epochs", "1"]
CAPTIONS = {
    "samples_epoch*": "Generated digits from the same fixed noise z at this epoch.",
    "samples_over_training.png": "Generated digits from the same fixed noise z over training (one row per snapshot).",
    "losses.png": "Discriminator error E of the slides and the generator's objective over training.",
    "discriminator_outputs.png": "Mean D(x) on real images and D(G(z)) on generated ones over training.",
    "parzen_sigma.png": "Parzen-window bandwidth selection: mean log-likelihood of held-out images per sigma.",
    "parzen_validation.png": "Held-out Parzen log-likelihood during training (training images held out, never the "
                             "test set), with the best epoch, whose weights --keep-best evaluates and exports.",
}
REFERENCE_NOTE = f"Parzen-window log-likelihood on the MNIST test set: {GAN_PARZEN.text('nats')}."
DEFAULT_EXPORT_NAME = "question_f_gan"

# Goodfellow et al. (2014), MNIST: their pylearn2 configuration (github.com/goodfeli/adversarial, mnist.yaml) and
# Parzen estimator (parzen_ll.py). Every value and every deviation: docs/question_f.md, "Preset goodfellow2014".
PRESETS = {
    "goodfellow2014": {
        "output_dir": "results/question_f_goodfellow2014", "export_name": "question_f_goodfellow2014_gan",
        "noise": "uniform", "latent_dim": 100, "pixel_range": "unit",
        "generator_units": [1200, 1200], "generator_activation": "relu", "generator_init_range": 0.05,
        "generator_output_bias": "marginals",
        "discriminator_units": [240, 240], "maxout_pieces": 5, "discriminator_init_range": 0.005,
        "input_dropout": 0.2, "dropout": 0.5,
        "generator_loss": "non_saturating", "k": 1, "updates": "simultaneous", "batch_size": 100,
        "optimizer": "sgd", "learning_rate": 0.1, "d_learning_rate": 0.05, "momentum": 0.5, "final_momentum": 0.7,
        "momentum_saturate": 250, "lr_decay_factor": 1.000004, "min_learning_rate": 1e-6,
        "epochs": 3000, "parzen_every": 5, "patience": 100, "keep_best": True,
        "sample_every": 25,
    },
    # today's network and training, five times as long: where the sheet's GAN gets (docs/question_f.md)
    "long": {
        "output_dir": "results/question_f_long", "export_name": "question_f_long_gan",
        "epochs": 150, "parzen_every": 5, "patience": 0, "keep_best": True, "sample_every": 25,
    },
}
# the same with Gaussian z: mnist.yaml's noise was Gaussian for a day in June 2014 before uniform came back
PRESETS["goodfellow2014_gaussian"] = {**PRESETS["goodfellow2014"], "noise": "normal",
                                      "output_dir": "results/question_f_goodfellow2014_gaussian",
                                      "export_name": "question_f_goodfellow2014_gaussian_gan"}


def decay_factor(text: str) -> float:
    """A learning-rate decay factor: a number of at least 1 (1: no decay)."""
    value = positive_float(text)
    if value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value:g}")
    return value


# what each --preset is, in one line (its --preset help, its heading in the report and results.md)
PRESET_TITLES = {
    "goodfellow2014": f"Goodfellow et al. 2014's MNIST GAN from their pylearn2 mnist.yaml (published "
                      f"{GAN_PARZEN.text('nats')}), trained while the held-out Parzen likelihood still rises",
    "long": "today's GAN and training, longer, the best held-out epoch's weights evaluated",
    "goodfellow2014_gaussian": "goodfellow2014 with z ~ N(0, I) instead of uniform z (the other noise mnist.yaml "
                               "had in its history)"}


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run F", description=__doc__)
    parser.add_argument("--k", type=positive_int, default=1,
                        help="discriminator updates per generator update (slides' k)")
    parser.add_argument("--generator-loss", default="minimax", choices=("minimax", "non_saturating"),
                        help="minimax: minimise ln(1 - D(G(z))) as on the slides; non_saturating: minimise -ln D(G(z))")
    parser.add_argument("--updates", default="alternating", choices=("alternating", "simultaneous"),
                        help="alternating: the slides' k D updates, then one G update on fresh noise; simultaneous "
                             "(k = 1): D's and G's gradients from the same samples and dropout masks, applied together, "
                             "as Goodfellow et al.'s pylearn2 code trains (default: %(default)s)")
    parser.add_argument("--latent-dim", type=positive_int, default=100, help="dimension of z (default: %(default)s)")
    parser.add_argument("--beta-1", type=fraction_below_one, default=0.5, help="Adam's beta_1 for both networks")
    parser.add_argument("--dropout", type=fraction_below_one, default=0.3,
                        help="dropout in the discriminator's hidden layers")
    parser.add_argument("--sample-every", type=positive_int, default=5,
                        help="write the fixed-noise sample grid every N epochs")
    parser.add_argument("--validation-size", type=positive_int, default=10000,
                        help="last N training images held out to choose the Parzen sigma (not trained on)")
    parser.add_argument("--parzen-samples", type=positive_int, default=10000,
                        help="generated samples in the Parzen window and the classifier score (their z are drawn "
                             "from --seed alone: the same samples on every run)")
    parser.add_argument("--sigmas", type=positive_float, nargs="+", default=list(DEFAULT_SIGMAS),
                        help="Parzen sigma grid (pixels in [0, 1]) that keras_ae's one estimator starts from "
                             "before refining sigma on the held-out images (default: the papers' grid, "
                             "logspace(-1, 0, 10))")
    parser.add_argument("--classifier-epochs", type=nonnegative_int, default=3,
                        help="epochs of the MLP classifier for the classifier score (0 skips the score)")
    parser.add_argument("--export-name", default=DEFAULT_EXPORT_NAME,
                        help="name of the SavedModel folder under --saved-models-dir (default: %(default)s)")

    g = parser.add_argument_group("networks (defaults: today's LeakyReLU MLPs; --preset goodfellow2014: the "
                                  "paper's)")
    g.add_argument("--noise", default="normal", choices=("normal", "uniform"),
                   help="distribution of z: normal N(0, I), or uniform in (-sqrt 3, sqrt 3) per component (pylearn2's "
                        "'uniform', unit variance) (default: %(default)s)")
    g.add_argument("--pixel-range", default="signed", choices=("signed", "unit"),
                   help="signed: train on images in [-1, 1] with a tanh generator output; unit: images in [0, 1] with "
                        "a sigmoid output (default: %(default)s)")
    g.add_argument("--generator-units", type=positive_int, nargs="+", default=[256, 512, 1024],
                   help="hidden layer sizes of G (default: %(default)s)")
    g.add_argument("--generator-activation", default="leaky_relu", choices=("leaky_relu", "relu"),
                   help="hidden activation of G; leaky_relu has slope 0.2 (default: %(default)s)")
    g.add_argument("--generator-init-range", type=positive_float, default=None,
                   help="G's weights uniform in (-r, r) and zero biases (pylearn2's irange); default: Glorot uniform")
    g.add_argument("--generator-output-bias", default="zeros", choices=("zeros", "marginals"),
                   help="G's output biases: zeros, or those whose output is the mean training image (pylearn2's "
                        "init_sigmoid_bias_from_marginals: the log-odds of every pixel's mean) (default: %(default)s)")
    g.add_argument("--discriminator-units", type=positive_int, nargs="+", default=[1024, 512, 256],
                   help="hidden layer sizes of D: units, maxout units with --maxout-pieces (default: %(default)s)")
    g.add_argument("--maxout-pieces", type=positive_int, default=1,
                   help="1: D's hidden units are LeakyReLU (0.2); 2 or more: maxout units of that many linear "
                        "pieces (default: %(default)s)")
    g.add_argument("--input-dropout", type=fraction_below_one, default=0.0,
                   help="dropout on D's input pixels (maxout D only) (default: %(default)s)")
    g.add_argument("--discriminator-init-range", type=positive_float, default=None,
                   help="D's weights uniform in (-r, r) (maxout D only); default: Glorot uniform")

    g = parser.add_argument_group("optimizers (defaults: Adam for both networks)")
    g.add_argument("--optimizer", default="adam", choices=("adam", "sgd"),
                   help="adam (with --beta-1) or sgd with momentum (--momentum ...) for both networks "
                        "(default: %(default)s)")
    g.add_argument("--d-learning-rate", type=positive_float, default=None,
                   help="D's learning rate (default: --learning-rate). The slides' error E is twice pylearn2's "
                        "discriminator objective, so half their rate on E is their step")
    g.add_argument("--momentum", type=fraction_below_one, default=0.5,
                   help="sgd: momentum in epoch 1 (default: %(default)s)")
    g.add_argument("--final-momentum", type=fraction_below_one, default=None,
                   help="sgd: momentum reached at --momentum-saturate, rising linearly from epoch 1 (pylearn2's "
                        "MomentumAdjustor); default: constant --momentum")
    g.add_argument("--momentum-saturate", type=positive_int, default=250,
                   help="sgd: the epoch from which the momentum is --final-momentum (default: %(default)s)")
    g.add_argument("--lr-decay-factor", type=decay_factor, default=1.0,
                   help="divide both learning rates by this after every update of that network (pylearn2's "
                        "ExponentialDecay; 1: constant rates) (default: %(default)s)")
    g.add_argument("--min-learning-rate", type=nonnegative_float, default=0.0,
                   help="the decayed learning rates stop at this (default: %(default)s)")

    g = parser.add_argument_group("held-out Parzen likelihood during training (off by default)")
    add_parzen_every_arguments(
        g, samples=2000, points=1000,
        every_help="score G by the Parzen log-likelihood of held-out training images (never test images), best "
                   "sigma of --sigmas; written to parzen_validation.csv/.png",
        points_help="held-out training images of that score: the first N of the --validation-size held out")
    g.add_argument("--patience", type=nonnegative_int, default=0,
                   help="stop when that score has not risen for N epochs (0: train all --epochs) (default: "
                        "%(default)s)")
    g.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=False,
                   help="end with the weights of the best-scoring epoch: they are evaluated and exported "
                        "(default: %(default)s)")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    add_common_arguments(parser, "question_f", epochs=30, batch_size=64, learning_rate=2e-4)
    return add_preset_argument(parser, PRESETS, help=preset_help(PRESETS, PRESET_TITLES))


def model_from_args(args: argparse.Namespace, train_images: np.ndarray, steps_per_epoch: int):
    """The compiled GAN of the parsed options, built under ``--strategy``'s scope: the networks of
    :func:`build_model`, Adam for both networks (today's default) or :func:`make_optimizer`'s when
    ``--optimizer sgd``, ``--d-learning-rate`` or ``--lr-decay-factor`` ask for more.
    ``train_images`` (in the GAN's value range) give the generator's output biases with
    ``--generator-output-bias marginals``; ``steps_per_epoch`` (generator updates per epoch) counts
    the epochs of the momentum schedule."""
    from keras_ae.models.gan import marginal_output_bias

    output_activation = "sigmoid" if args.pixel_range == "unit" else "tanh"
    output_bias = (marginal_output_bias(train_images, output_activation) if args.generator_output_bias == "marginals"
                   else None)
    batch = args.k * args.batch_size
    with distribution_strategy(args.strategy).scope():
        # one train_step takes k * m images (k discriminator minibatches of m); fused: several of them per call
        gan = build_model(args.latent_dim, args.generator_units, args.discriminator_units, dropout=args.dropout,
                          k=args.k, generator_loss=args.generator_loss, seed=args.seed,
                          minibatch_size=batch if fused_minibatch_size(args) else None,
                          generator_activation=args.generator_activation, output_activation=output_activation,
                          generator_init_range=args.generator_init_range, output_bias=output_bias,
                          maxout_pieces=args.maxout_pieces, input_dropout=args.input_dropout,
                          discriminator_init_range=args.discriminator_init_range, noise=args.noise,
                          updates=args.updates)
        optimizers = None
        if args.optimizer != "adam" or args.d_learning_rate is not None or args.lr_decay_factor != 1.0:
            def optimizer(rate, steps):
                return make_optimizer(args.optimizer, rate, args.beta_1, args.momentum, args.final_momentum,
                                      args.momentum_saturate, args.lr_decay_factor, args.min_learning_rate, steps)

            # D makes k updates per generator update
            optimizers = (optimizer(args.d_learning_rate or args.learning_rate, args.k * steps_per_epoch),
                          optimizer(args.learning_rate, steps_per_epoch))
        return compile_model(gan, args.learning_rate, args.beta_1, jit_compile(args), optimizers=optimizers)


def check_options(args: argparse.Namespace) -> None:
    """Combinations of options that cannot work (ConfigError before anything is read or written)."""
    from keras_ae.errors import ConfigError

    if not args.parzen_every and (args.patience or args.keep_best):
        raise ConfigError("--patience and --keep-best need the held-out score: give --parzen-every N")
    if args.optimizer == "adam" and args.final_momentum is not None:
        raise ConfigError("--final-momentum is a setting of --optimizer sgd")


@dataclass(frozen=True)
class Data:
    """The run's images: ``x_train`` (with ``y_train``) the GAN trains on, ``x_val`` the held-out
    training images that choose the Parzen sigma, ``x_test`` (with ``y_test``) the scored test
    images, all in [0, 1]; ``s_train``, ``s_val`` the same training and held-out images in the
    GAN's value range ([0, 1] when ``unit``, else [-1, 1])."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    s_train: np.ndarray
    s_val: np.ndarray
    unit: bool

    def display(self, images: np.ndarray) -> np.ndarray:
        """The GAN's images in [0, 1] (the Parzen window's, the classifier's and the figures' range)."""
        from keras_ae.data import from_signed

        return images if self.unit else from_signed(images)


@dataclass(frozen=True)
class Trained:
    """What training leaves: the model holding the weights to evaluate (the last epoch's; with
    ``--keep-best`` the best held-out epoch's), its Keras history, the training time, the sample
    grids written during training (``sample_figures``) and what they drew (``snapshots``: (epoch,
    rows)) and, with ``--parzen-every``, the held-out curve's rows and its ``held_out`` columns of
    the quality row (best epoch, best value, the epoch of the evaluated weights; None without it)."""

    model: Any
    history: dict
    seconds: float
    sample_figures: list
    snapshots: list
    parzen_validation: list
    held_out: dict | None

    @property
    def epochs(self) -> int:
        return len(self.history["d_loss"])


@dataclass(frozen=True)
class Evaluation:
    """The quality row of the run (:func:`quality_row`) and the sigmas' held-out scores."""

    row: dict
    sigma_scores: dict


def load_data(args: argparse.Namespace) -> Data:
    """MNIST's training images less the last ``--validation-size`` (held out for the Parzen sigma),
    limited to ``--train-limit``, and the first ``--test-limit`` test images."""
    from keras_ae.data import flatten, load_dataset, to_unit
    from keras_ae.errors import ConfigError

    train = load_dataset("mnist", "train", args.data_dir)
    test = load_dataset("mnist", "test", args.data_dir)
    # GAN in [-1, 1] (--pixel-range signed) or [0, 1] (unit); Parzen window and classifier in [0, 1]
    # (the value range of question E's decoder)
    x_all = flatten(to_unit(train.images))
    if args.validation_size >= len(x_all):
        raise ConfigError(f"--validation-size {args.validation_size} leaves none of the {len(x_all)} training "
                          "images to train on")
    x_train, y_train = x_all[:-args.validation_size], train.labels[:-args.validation_size]
    x_val = x_all[-args.validation_size:]
    if args.train_limit:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    x_test, y_test = flatten(to_unit(test.images[: args.test_limit])), test.labels[: args.test_limit]
    unit = args.pixel_range == "unit"
    if unit:
        s_train, s_val = x_train, x_val
    else:
        s_train, s_val = x_train * 2.0 - 1.0, x_val * 2.0 - 1.0  # to_signed of the same images
    batch = args.k * args.batch_size
    if len(x_train) < batch:
        raise ConfigError(f"{len(x_train)} training images do not fill one iteration of --k x --batch-size = "
                          f"{batch} images")
    return Data(x_train, y_train, x_val, x_test, y_test, s_train, s_val, unit)


def _sample_grid(args: argparse.Namespace, data: Data):
    """The callback drawing G(z) for the same 100 fixed z (from ``--seed`` alone) every ``--sample-every`` epochs."""
    from keras_ae.callbacks import ReconstructionFigure
    from keras_ae.models.gan import draw_noise

    z_fixed = draw_noise(np.random.default_rng(args.seed), 100, args.latent_dim, args.noise)

    def grid_rows(gan, z):
        images = data.display(gan.generator.predict(z, batch_size=len(z), verbose=0))
        return [("", images[r * 10:(r + 1) * 10]) for r in range(len(z) // 10)]

    return ReconstructionFigure(z_fixed, os.path.join(args.output_dir, "samples_epoch{epoch:03d}.png"),
                                "Question F: G(z) for the same 100 fixed z", every=args.sample_every, rows=grid_rows)


def _held_out_tracker(args: argparse.Namespace, data: Data):
    """With ``--parzen-every``: the callback scoring G by the Parzen log-likelihood of held-out
    TRAINING images (the first of those held out), never the test set; its z from ``--seed`` + 2."""
    from keras_ae.callbacks import BestValidationScore
    from keras_ae.generative_metrics import parzen_score

    if not args.parzen_every:
        return None
    return BestValidationScore(
        parzen_score(lambda gan: data.display(gan.generate(args.parzen_every_samples, seed=args.seed + 2)),
                     data.x_val[: args.parzen_every_points], sigmas=args.sigmas),
        every=args.parzen_every, patience=args.patience, restore_best=args.keep_best,
        csv_path=os.path.join(args.output_dir, "parzen_validation.csv"), name="parzen_validation_ll",
        verbose=verbosity(args) != 0)


def train(args: argparse.Namespace, data: Data) -> Trained:
    """Build, compile and fit the GAN on the training images (D's held-out error on the held-out
    ones), drawing the sample grids and, with ``--parzen-every``, the held-out Parzen curve."""
    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    batch = args.k * args.batch_size
    steps_per_epoch = len(data.x_train) // batch  # generator updates per epoch (drop_remainder)
    preset = f" (preset {args.preset})" if args.preset else ""
    print(f"[question F] GAN on {len(data.x_train)} MNIST images{preset}: k = {args.k}, m = {args.batch_size}, "
          f"generator loss {args.generator_loss}, " + ("SGD with momentum, " if args.optimizer == "sgd" else "")
          + f"{args.epochs} epochs" + (f" at most, held-out Parzen every {args.parzen_every}" if args.parzen_every
                                       else ""), flush=True)
    seed_everything(args.seed)
    model = model_from_args(args, data.s_train, steps_per_epoch)
    os.makedirs(args.output_dir, exist_ok=True)
    grid = _sample_grid(args, data)
    tracker = _held_out_tracker(args, data)
    # the sample grids are a companion of the backup too: a resumed fit still draws every epoch's
    callbacks = standard_callbacks(args.output_dir, tensorboard=args.tensorboard, backup=args,
                                   companions=([tracker] if tracker else []) + [grid])
    start = resume_from(callbacks, model, args.epochs)
    # fit sees batches of k * m images; train_step splits each into k minibatches of m (see GAN).
    with Timer(callbacks) as timer:
        history = model.fit(make_dataset(data.s_train, batch_size=batch, drop_remainder=True,
                                         **data_options(args, start)),
                            initial_epoch=start, epochs=args.epochs,
                            validation_data=make_dataset(data.s_val, batch_size=EVALUATION_BATCH_SIZE, shuffle=False),
                            callbacks=callbacks, shuffle=False, verbose=verbosity(args))
    h = history.history
    print(f"[question F] trained in {timer.seconds / 60.0:.1f} min: final d_loss {h['d_loss'][-1]:.3f}, "
          f"g_loss {h['g_loss'][-1]:.3f}, D(x) {h['d_real'][-1]:.3f}, D(G(z)) {h['d_fake'][-1]:.3f}", flush=True)
    held_out = None
    if tracker is not None:
        kept = args.keep_best and tracker.best_weights is not None
        held_out = {"parzen_validation_best_epoch": tracker.best_epoch,
                    "parzen_validation_best_ll": tracker.best_value,
                    "weights_of_epoch": tracker.best_epoch if kept else len(h["d_loss"])}
    return Trained(model, h, timer.seconds, list(grid.paths), list(grid.drawn),
                   list(tracker.history) if tracker is not None else [], held_out)


def parzen_evaluation(samples: np.ndarray, x_val: np.ndarray, x_test: np.ndarray, sigmas) -> tuple[dict, dict]:
    """The Parzen-window estimate of Goodfellow et al. from generated ``samples`` (all in [0, 1])
    by keras_ae's one estimator (:func:`keras_ae.generative_metrics.parzen_estimate`): sigma chosen
    on the held-out ``x_val`` from the grid ``sigmas``, then refined; the test images ``x_test``
    scored once, at both sigmas. Returns the quality row's Parzen columns (the refined result, then
    the grid's under ``parzen_paper_grid_*``) and every sigma's mean held-out log-likelihood, by sigma."""
    from keras_ae.generative_metrics import parzen_estimate

    with Timer() as parzen_timer:
        estimate = parzen_estimate(samples, x_val, x_test, sigmas)
    return {"parzen_sigma": estimate.sigma, "parzen_test_ll": estimate.test.mean,
            "parzen_test_ll_stderr": estimate.test.std_error, "parzen_seconds": round(parzen_timer.seconds, 1),
            "parzen_paper_grid_sigma": estimate.grid_sigma, "parzen_paper_grid_test_ll": estimate.grid_test.mean,
            "parzen_paper_grid_test_ll_stderr": estimate.grid_test.std_error}, dict(sorted(estimate.validation.items()))


def classifier_evaluation(p_test: np.ndarray, y_test: np.ndarray, p_generated: np.ndarray) -> dict:
    """The quality row's classifier columns from a digit classifier's p(y|x) on the test images
    (``p_test``, labels ``y_test``) and on the generated ones (``p_generated``):
    :func:`classifier_score` of both, the confidence of both, the class entropy of the generated
    ones and the classifier's test accuracy."""
    real, fake = classifier_score(p_test), classifier_score(p_generated)
    return {"classifier_test_accuracy": float(np.mean(np.asarray(p_test).argmax(1) == y_test)),
            "classifier_score_generated": fake["score"], "classifier_score_test": real["score"],
            "confidence_generated": fake["confidence"], "confidence_test": real["confidence"],
            "class_entropy_generated": fake["class_entropy"]}


def quality_row(args: argparse.Namespace, train_images: int, trained: Trained, parzen: dict,
                classifier: dict | None) -> dict:
    """The one row of quality.csv: the run's settings and training, then the Parzen columns, the
    held-out curve's (with ``--parzen-every``), the classifier's (when scored) and the last epoch's
    mean D(x), D(G(z)) and discriminator error E (``final_d_real``, ``final_d_fake``,
    ``final_d_loss``)."""
    row = {"generator_loss": args.generator_loss, "k": args.k, "m": args.batch_size, "epochs": trained.epochs,
           "train_images": train_images, "train_minutes": round(trained.seconds / 60.0, 1), **parzen}
    if trained.held_out is not None:
        row.update(trained.held_out)
    if classifier is not None:
        row.update(classifier)
    h = trained.history  # the last epoch's training means: how near the game's equilibrium D = 1/2 it ends
    row.update({"final_d_real": float(h["d_real"][-1]), "final_d_fake": float(h["d_fake"][-1]),
                "final_d_loss": float(h["d_loss"][-1])})
    return row


def evaluate(args: argparse.Namespace, data: Data, trained: Trained) -> Evaluation:
    """Score the trained generator (nothing is written): the Parzen window on ``--parzen-samples``
    images whose z come from ``--seed`` + 1 alone, and the classifier score of the same images."""
    print(f"[question F] Parzen window: {args.parzen_samples} samples, sigma from {len(args.sigmas)} values on "
          f"{len(data.x_val)} held-out images, log-likelihood of {len(data.x_test)} test images", flush=True)
    # z from the run's seed alone (not from the model's training stream): the same samples on every run
    samples = data.display(trained.model.generate(args.parzen_samples, seed=args.seed + 1))
    parzen, sigma_scores = parzen_evaluation(samples, data.x_val, data.x_test, args.sigmas)
    print(f"[question F] Parzen log-likelihood {parzen['parzen_test_ll']:.1f} +- {parzen['parzen_test_ll_stderr']:.1f} "
          f"nats (sigma {parzen['parzen_sigma']:.4g}; on the grid {parzen['parzen_paper_grid_test_ll']:.1f} at sigma "
          f"{parzen['parzen_paper_grid_sigma']:.4g})", flush=True)
    if parzen["parzen_paper_grid_sigma"] in (min(args.sigmas), max(args.sigmas)):
        print(f"[question F] warning: the grid's best sigma {parzen['parzen_paper_grid_sigma']:g} is at its edge (the "
              "refinement searches one grid step beyond it); consider widening --sigmas", flush=True)
    classifier = None
    if args.classifier_epochs:
        clf = train_classifier(data.x_train, data.y_train, args.classifier_epochs, args.seed, args.strategy)
        p_test = clf.predict(data.x_test, batch_size=1000, verbose=0)
        classifier = classifier_evaluation(p_test, data.y_test, clf.predict(samples, batch_size=1000, verbose=0))
        print(f"[question F] classifier score {classifier['classifier_score_generated']:.2f} on generated digits, "
              f"{classifier['classifier_score_test']:.2f} on test digits (classifier test accuracy "
              f"{classifier['classifier_test_accuracy']:.4f})", flush=True)
    return Evaluation(quality_row(args, len(data.x_train), trained, parzen, classifier), sigma_scores)


def write_figures(args: argparse.Namespace, data: Data, trained: Trained, ev: Evaluation) -> list[str]:
    """The figures in the report's order: the sample grids, the samples over training (first 10
    fixed z per snapshot), the losses, D's outputs, the held-out curve (with ``--parzen-every``)
    and the Parzen sigma selection."""
    from keras_ae.plots import plot_curves, plot_image_grid

    out, h = args.output_dir, trained.history
    figures = list(trained.sample_figures)
    figures.append(plot_image_grid([(f"epoch {epoch}", rows[0][1]) for epoch, rows in trained.snapshots],
                                   os.path.join(out, "samples_over_training.png"),
                                   "Question F: G(z) for the same 10 fixed z over training"))
    ep = list(range(1, trained.epochs + 1))
    g_label = "ln(1 - D(G(z)))" if args.generator_loss == "minimax" else "-ln D(G(z))"
    figures.append(plot_curves({"D: E (train)": (ep, h["d_loss"]),
                                "D: E (held-out images, dropout off)": (ep, h["val_d_loss"]),
                                f"G: mean {g_label} (train)": (ep, h["g_loss"])},
                               os.path.join(out, "losses.png"),
                               f"Question F: losses per epoch (k = {args.k}, {args.generator_loss})", ylabel="loss"))
    figures.append(plot_curves({"mean D(x), real": (ep, h["d_real"]), "mean D(G(z)), generated": (ep, h["d_fake"])},
                               os.path.join(out, "discriminator_outputs.png"),
                               "Question F: discriminator outputs per epoch (train)", ylabel="D output"))
    if trained.parzen_validation:
        rows, best = trained.parzen_validation, trained.held_out["parzen_validation_best_epoch"]
        series = {f"{args.parzen_every_samples} samples, {min(args.parzen_every_points, len(data.x_val))} held-out "
                  "training images": ([r["epoch"] for r in rows], [r["parzen_validation_ll"] for r in rows]),
                  f"best (epoch {best})": ([best], [trained.held_out["parzen_validation_best_ll"]])}
        figures.append(plot_curves(series, os.path.join(out, "parzen_validation.png"),
                                   "Question F: held-out Parzen log-likelihood during training",
                                   ylabel="mean log-likelihood (nats)"))
    sigma_scores = ev.sigma_scores
    figures.append(plot_curves({"validation": (list(sigma_scores), list(sigma_scores.values()))},
                               os.path.join(out, "parzen_sigma.png"),
                               "Question F: Parzen sigma selection (mean log-likelihood of held-out images)",
                               xlabel="sigma", ylabel="mean log-likelihood (nats)"))
    return figures


def write_tables(args: argparse.Namespace, data: Data, trained: Trained, ev: Evaluation) -> list[str]:
    """quality (one row), parzen_sigma and, with ``--parzen-every``, the held-out curve's
    parzen_validation (written during training)."""
    from keras_ae.reporting import write_table

    out, row = args.output_dir, ev.row
    preset = f" (preset {args.preset})" if args.preset else ""
    trained_text = f"{trained.epochs} epochs"
    if trained.held_out is not None and row["weights_of_epoch"] != trained.epochs:
        trained_text += f" (the weights of epoch {row['weights_of_epoch']}, best held-out Parzen likelihood)"
    table = write_table([row], os.path.join(out, "quality"), caption=(
        f"Question F{preset}: quality of the GAN after {trained_text}. parzen_test_ll: mean over {len(data.x_test)} "
        f"MNIST test images of the log-likelihood (nats) under a Gaussian Parzen window on {args.parzen_samples} "
        f"generated samples (Goodfellow et al. 2014's estimator; they report {GAN_PARZEN.value:g} +- "
        f"{GAN_PARZEN.std_error:g} for their GAN), sigma chosen on "
        f"{len(data.x_val)} held-out training images by keras_ae's one estimator: the best of the grid "
        f"({len(args.sigmas)} values; the parzen_paper_grid columns), then refined between its grid neighbours "
        "(the headline parzen_sigma and parzen_test_ll); stderr = std / sqrt(N). classifier_score: exp(mean KL(p(y|x) || "
        "p(y))) from an MLP digit classifier (1 to 10; the same number on real test digits for reference). "
        "final_d_real, final_d_fake, final_d_loss: mean D(x), D(G(z)) and the slides' error E over the last "
        "epoch's training minibatches (1/2, 1/2 and 2 ln 2 = 1.386 at the game's equilibrium)."))
    sigma_table = write_table([{"sigma": s, "validation_ll": v} for s, v in ev.sigma_scores.items()],
                              os.path.join(out, "parzen_sigma"),
                              caption="Question F: mean Parzen log-likelihood (nats) of the held-out images per sigma.")
    curve_csv = os.path.join(out, "parzen_validation.csv")  # the held-out curve, a table of the run too
    curve = [curve_csv] if trained.held_out is not None and os.path.exists(curve_csv) else []
    return [*table, *sigma_table, *curve]


def export_metadata(args: argparse.Namespace, data: Data, row: dict, epochs_trained: int) -> dict:
    """metadata.json of the exported GAN: its value range, noise, conventions, settings and scores."""
    unit = data.unit
    range_text = ("MNIST-like digit, 784 values in [0, 1]: reshape to 28 x 28" if unit else
                  "MNIST-like digit, 784 values in [-1, 1]: (x + 1) / 2 gives [0, 1], reshape to 28 x 28")
    metadata = {
        "question": "F", "value_range": "unit" if unit else "signed", "latent_dim": args.latent_dim,
        "noise": "z ~ N(0, I)" if args.noise == "normal" else "z ~ U(-sqrt 3, sqrt 3) per component",
        "output": range_text,
        "discriminate_input": f"784 values in {'[0, 1]' if unit else '[-1, 1]'} (uint8 images are scaled by "
                              "keras-ae)",
        "label_convention": "discriminate(x) = probability that x is a real image (real = 1)",
        "k": args.k, "generator_loss": args.generator_loss, "epochs": args.epochs, "seed": args.seed,
        "parzen_test_ll": row["parzen_test_ll"], "parzen_sigma": row["parzen_sigma"],
        "parzen_paper_grid_test_ll": row["parzen_paper_grid_test_ll"],
        "parzen_paper_grid_test_ll_stderr": row["parzen_paper_grid_test_ll_stderr"],
        "parzen_paper_grid_sigma": row["parzen_paper_grid_sigma"],
    }
    held_out = "weights_of_epoch" in row
    if args.preset or held_out:  # today's default run keeps its metadata as it was
        metadata.update({"preset": args.preset, "updates": args.updates, "epochs_trained": epochs_trained,
                         "parzen_test_ll_stderr": row["parzen_test_ll_stderr"],
                         "parzen_samples": args.parzen_samples, "parzen_test_points": len(data.x_test),
                         "parzen_sigma_validation_points": len(data.x_val)})
        if held_out:
            metadata.update({k: row[k] for k in ("parzen_validation_best_epoch", "parzen_validation_best_ll",
                                                 "weights_of_epoch")})
        if args.preset in ("goodfellow2014", "goodfellow2014_gaussian"):
            metadata.update({"published_parzen_test_ll": GAN_PARZEN.value,
                             "published_parzen_test_ll_stderr": GAN_PARZEN.std_error})
    return metadata


def write_outputs(args: argparse.Namespace, data: Data, trained: Trained, ev: Evaluation) -> RunResult:
    """Figures, tables and the SavedModel export (unless ``--no-export``) of an evaluated run."""
    from keras_ae.export import export_model

    figures = write_figures(args, data, trained, ev)
    tables = write_tables(args, data, trained, ev)
    exports = {}
    if not args.no_export:
        exports["gan"] = str(export_model(trained.model, os.path.join(args.saved_models_dir, args.export_name),
                                          metadata=export_metadata(args, data, ev.row, trained.epochs)))
    print(f"[question F] figures in {args.output_dir}, table {tables[0]}", flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=tables, models=exports,
                        details={"rows": [ev.row], "history": trained.history, "sigma_scores": ev.sigma_scores,
                                 "parzen_validation": trained.parzen_validation})


def run(args: argparse.Namespace) -> RunResult:
    """Load the data, train, evaluate, write the outputs."""
    check_options(args)
    data = load_data(args)
    trained = train(args, data)
    return write_outputs(args, data, trained, evaluate(args, data, trained))


# the last epoch counts as "near" the equilibrium when D(x) and D(G(z)) are both within this of 1/2
EQUILIBRIUM_TOLERANCE = 0.05
# generated digits "are digits" when their classifier score reaches this share of real test digits'; "partly" above
# the second share
DIGIT_SCORE_SHARES = (0.8, 0.5)
# the classifier score says something only when the classifier itself recognises the real test digits
CLASSIFIER_MIN_ACCURACY = 0.9


def _classifier_share(row) -> tuple[float, float, float] | None:
    """(score of generated digits, score of real test digits, their ratio), or None where not measured."""
    generated, real = number(row.get("classifier_score_generated")), number(row.get("classifier_score_test"))
    if generated is None or not real:
        return None
    return generated, real, generated / real


def _classifier_trusted(row) -> bool:
    """Whether the digit classifier recognises at least :data:`CLASSIFIER_MIN_ACCURACY` of the test digits."""
    accuracy = number(row.get("classifier_test_accuracy"))
    return accuracy is not None and accuracy >= CLASSIFIER_MIN_ACCURACY


def _parzen_against_paper(row) -> tuple[str, str] | None:
    """The test-set Parzen log-likelihood against Goodfellow et al.'s, in words and numbers."""
    ll, se = number(row.get("parzen_test_ll")), number(row.get("parzen_test_ll_stderr"))
    if ll is None:
        return None
    se = se if se is not None and math.isfinite(se) else 0.0
    diff = against_reference(ll, se, GAN_PARZEN.value, GAN_PARZEN.std_error)
    sentence = (f"its Parzen log-likelihood of the test digits, {ll:.0f} +- {se:.0f} nats, is {diff.relation} Goodfellow "
                f"et al.'s {GAN_PARZEN.value:g} +- {GAN_PARZEN.std_error:g}")
    sigma = number(row.get("parzen_sigma"))
    return sentence, (f"Parzen log-likelihood {ll:.1f} +- {se:.1f} nats (sigma {sigma:g}) against "
                      f"{GAN_PARZEN.text('nats')}: {diff.text('.3g')}")


def _generator_makes_digits(tables) -> Answer | None:
    """From the quality row: the classifier score of generated digits against real test digits'
    (their ratio decides), and the Parzen log-likelihood against the published GAN's."""
    row = (tables.get("quality") or [{}])[0]
    share, parzen = _classifier_share(row), _parzen_against_paper(row)
    if share is None and parzen is None:
        return None
    evidence = []
    if share is None:
        verdict = "Not judged by a digit classifier in this run (--classifier-epochs 0)"
    else:
        generated, real, ratio = share
        accuracy = number(row.get("classifier_test_accuracy"))
        if not _classifier_trusted(row):
            verdict = ("Cannot tell from the classifier score: the digit classifier itself recognises "
                       + (f"only {accuracy:.0%} of" if accuracy is not None else "an unknown share of")
                       + f" the test digits (at least {CLASSIFIER_MIN_ACCURACY:.0%} needed)")
        elif ratio >= DIGIT_SCORE_SHARES[0]:
            verdict = "Yes: a digit classifier finds confident digits of varied classes in the generated images"
        elif ratio >= DIGIT_SCORE_SHARES[1]:
            verdict = ("Partly: to a digit classifier the generated images are less clearly digits, or of fewer "
                       "classes, than real ones")
        else:
            verdict = "No: to a digit classifier the generated images are not clearly digits of varied classes"
        evidence.append(f"classifier score {generated:.2f} for generated digits against {real:.2f} for real test "
                        f"digits ({ratio:.0%}; 'yes' from {DIGIT_SCORE_SHARES[0]:.0%}, 'partly' from "
                        f"{DIGIT_SCORE_SHARES[1]:.0%})"
                        + (f", the classifier's test accuracy {accuracy:.1%}" if accuracy is not None else ""))
        confidence, entropy = number(row.get("confidence_generated")), number(row.get("class_entropy_generated"))
        if confidence is not None and entropy is not None:
            evidence.append(f"mean confidence {confidence:.2f} (real {number(row.get('confidence_test')):.2f}), "
                            f"class entropy {entropy:.2f} nats (ln 10 = {math.log(10):.3f} for all ten equally often)")
    if parzen is not None:
        evidence.append(parzen[1])
    answer = f"{verdict}; {parzen[0]}." if parzen is not None else f"{verdict}."
    return Answer(answer, "; ".join(evidence) + ".")


def _reaches_equilibrium(tables) -> Answer | None:
    """From the quality row: the last epoch's mean D(x), D(G(z)) and E against the equilibrium's
    1/2, 1/2 and 2 ln 2, checked against the classifier score (at the equilibrium G's images are
    distributed as the data, so they must score like real digits)."""
    row = (tables.get("quality") or [{}])[0]
    d_real, d_fake, error = (number(row.get(c)) for c in ("final_d_real", "final_d_fake", "final_d_loss"))
    if d_real is None or d_fake is None or error is None:
        return None
    off_real, off_fake = abs(d_real - 0.5), abs(d_fake - 0.5)
    share = _classifier_share(row) if _classifier_trusted(row) else None
    outputs = f"D(x) = {d_real:.3f}, D(G(z)) = {d_fake:.3f}"
    if max(off_real, off_fake) > EQUILIBRIUM_TOLERANCE:
        side = ("D still tells real from generated images" if d_real > d_fake else
                "D rates generated images as real as real ones or more")
        answer = f"No: on the last epoch {side} ({outputs}, not both within {EQUILIBRIUM_TOLERANCE:g} of 1/2)."
    elif share is not None and share[2] < DIGIT_SCORE_SHARES[0]:
        answer = (f"Only in appearance: D outputs about 1/2 on the last epoch ({outputs}), but at the equilibrium "
                  f"G's images are distributed as the data, and a digit classifier scores these at {share[2]:.0%} of "
                  "real digits: D has stopped telling them apart without G matching the data.")
    else:
        check = "" if share is not None else " (and no reliable classifier score checks G's images here)"
        answer = (f"Near it on the last epoch: {outputs}, both within {EQUILIBRIUM_TOLERANCE:g} of 1/2{check}; "
                  "one epoch's means near 1/2 agree with the equilibrium but do not prove that G's distribution "
                  "is the data's.")
    evidence = [f"last epoch's means over the training minibatches: D(x) {d_real:.3f} ({off_real:.3f} from 1/2), "
                f"D(G(z)) {d_fake:.3f} ({off_fake:.3f} from 1/2)",
                f"error E {error:.3f} nats (2 ln 2 = {2 * math.log(2):.3f} when D = 1/2 everywhere)"]
    if share is not None:
        evidence.append(f"classifier score {share[0]:.2f} for generated digits against {share[1]:.2f} for real ones")
    return Answer(answer, "; ".join(evidence) + ".")


ASKS = (
    Ask("004 slides 'GAN', 'The learning algorithm'", "Does the generator learn to produce digits?",
        _generator_makes_digits),
    Ask("004 slides 'GAN - error function', 'The learning algorithm'",
        "Does training reach the game's equilibrium, where D cannot tell real from generated images "
        "(D(x) = D(G(z)) = 1/2, E = 2 ln 2)?", _reaches_equilibrium),
)

# the brief's "if uniform and Gaussian z differ, report both": mnist.yaml had each noise in its history
BETWEEN = (
    Between("Preset goodfellow2014, mnist.yaml's noise", "Do uniform and Gaussian z give different Parzen "
            "log-likelihoods under the published configuration?", ("F:goodfellow2014", "F:goodfellow2014_gaussian"),
            ("uniform z", "Gaussian z"), "parzen_log_likelihood", "parzen_std_error"),
)


def headline(tables) -> dict:
    """``parzen_log_likelihood`` and ``parzen_std_error`` (nats, MNIST test set), ``classifier_score_generated``."""
    rows = tables.get("quality", [])
    return pick(rows[0] if rows else {}, {"parzen_log_likelihood": "parzen_test_ll",
                                          "parzen_std_error": "parzen_test_ll_stderr",
                                          "parzen_log_likelihood_paper_grid": "parzen_paper_grid_test_ll",
                                          "classifier_score_generated": "classifier_score_generated"})


def provenance(tables) -> dict:
    """How the run measured its Parzen number: its standard error, the estimator (from the quality
    row and the sigma table) and the epochs."""
    from keras_ae.generative_metrics import describe_parzen

    row = (tables.get("quality") or [{}])[0]
    sigma = number(row.get("parzen_sigma"))
    if sigma is None:
        return {}
    tried = [number(r.get("sigma")) for r in tables.get("parzen_sigma", []) if number(r.get("sigma")) is not None]
    return {"parzen_log_likelihood": Provenance(
        number(row.get("parzen_test_ll_stderr")),
        describe_parzen(sigma, number(row.get("parzen_paper_grid_sigma")), number(row.get("parzen_paper_grid_test_ll")),
                        tried),
        epochs_text(row))}


QUESTION = Question(
    id="F", title="GAN on MNIST: the slides' k discriminator steps per generator step",
    sheet="004 slides 'GAN', 'The learning algorithm'", build_parser=build_parser, run=run,
    quick_args=tuple(QUICK_ARGS), captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note=REFERENCE_NOTE, headline=headline, references={"parzen_log_likelihood": GAN_PARZEN},
    readme_metrics=("parzen_log_likelihood",),
    metric_labels={"parzen_log_likelihood": "Parzen log-likelihood of the test digits (nats)",
                   "parzen_std_error": "its standard error (nats)",
                   "parzen_log_likelihood_paper_grid": "the same on the papers' sigma grid, unrefined (nats)",
                   "classifier_score_generated": "classifier score of generated digits"},
    presets=PRESETS, preset_titles=PRESET_TITLES, asks=ASKS, provenance=provenance, between=BETWEEN,
    doc_figures=("samples_epoch*", "samples_over_training.png", "losses.png", "discriminator_outputs.png",
                 "parzen_validation.png"),
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
