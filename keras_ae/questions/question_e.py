"""Question E: adversarial autoencoder (sheet 002, problem 2; Makhzani et al. 2015).

Three MLPs: encoder 784-1000-1000-100 (ReLU, linear code), decoder 100-1000-1000-784 (ReLU,
sigmoid output), discriminator 100-1000-1000-1 on codes. Prior p(z) = N(0, I) in 100
dimensions. Every batch runs the sheet's three phases, each with its own Adam optimizer
(reconstruction: learning rate 0.001; adversarial phases: 0.0002 with beta_1 = 0.5):
(a) reconstruction (squared error ||x - x_hat||^2 per image), (b) discriminator on prior samples
(real) vs encoded data (fake), (c) encoder as generator, minimising the sheet's saturating
E[log(1 - D(Enc(x)))] (``--generator-loss non_saturating`` for -E[log D(Enc(x))]).

Data: ``--data FILE.npy`` of shape (N, 784) (the sheet's data.npy), MNIST by default. With
``--data``, 10% of the file's rows (``--test-size``), drawn at random by ``--seed``, are held out
as its test split; of the other rows the last ones (10,000 for MNIST, 10% of the file's rows;
``--validation-size``) are the validation split, and the rest are trained on.

Writes: (a) t-SNE of training codes, (b) the three losses over training in one figure, (c)
decoded prior samples and walks between codes; statistics of the aggregated posterior against
the prior (per-dimension moments, Gaussian KL, MMD two-sample test); the Parzen-window
log-likelihood of 10,000 generated samples on the test split of the data trained on (MNIST's
test set; with ``--data``, the rows held out of the file), the bandwidth chosen on the
validation split, never on the scored rows (as Goodfellow et al. 2014 and Makhzani et al.
2015); the log, the Parzen table and the summary name the scored set; a SavedModel with
encode / decode / reconstruct / generate.

``--preset makhzani2015``: Table 1 of Makhzani et al. (2015), the Parzen log-likelihood of
MNIST's test digits (the published number: keras_ae.references), with the configuration of the
public run keil555/AAE_paddle that reports reaching it (a Gaussian encoder, dropout in all three
networks, cross-entropy averaged over the pixels, Adam; its settings: ``--preset`` in
``--help``), a cheap validation Parzen curve (``--parzen-every``, parzen_curve.png) and the
weights of its best epoch (``--keep-best``). It writes to
results/question_e_makhzani2015 and saved_models/question_e_makhzani2015_adversarial_autoencoder
(metadata.json: ``parzen_log_likelihood``, ``parzen_std_error``, ``parzen_sigma``,
``published_parzen``). Every value is an option; docs/question_e.md gives the sources and choices.
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
                                      distribution_strategy, fraction_below_one, fused_minibatch_size, int_at_least,
                                      jit_compile, positive_float, positive_int,
                                      seed_everything, verbosity)
from keras_ae.questions.spec import (Answer, Ask, Provenance, Question, RunResult, epochs_text, number, pick,
                                     preset_help)
from keras_ae.references import AAE_PARZEN, PARZEN_TABLE



QUICK_ARGS = ["--epochs", "2", "--train-limit", "5000", "--test-limit", "1000", "--validation-size", "500",
              "--tsne-points", "500", "--mmd-points", "300", "--permutations", "20", "--parzen-samples", "1000"]
CAPTIONS = {
    "tsne_codes.png": "(a) t-SNE of the adversarial autoencoder's 100-D codes of training digits, coloured by digit.",
    "losses.png": "(b) Reconstruction loss, and the discriminator's and generator's adversarial losses, over training.",
    "prior_samples.png": "(c) Decoded samples of the N(0, I) prior, reshaped to 28x28.",
    "latent_walks.png": "(c) Straight-line walks in code space between the codes of two digits, decoded.",
    "codes_vs_prior.png": "Per-dimension mean and standard deviation of the codes against the prior's (0 and 1).",
    "samples_epoch*": "Validation inputs, their reconstructions and decoded fixed prior samples during training.",
    "parzen_curve.png": "Parzen log-likelihood of held-out training digits over training (cheap points: fewer "
                        "samples, sigma chosen on other held-out digits), the final test-set estimate and, for a "
                        "paper's preset, the published number.",
}
# the figures whose words differ for the preset
PRESET_CAPTIONS = {"makhzani2015": {
    "tsne_codes.png": "(a) t-SNE of the 8-d codes of training digits (one drawn code per digit), coloured by digit.",
    "prior_samples.png": "(c) Decoded samples of the preset's N(0, 5^2 I) prior, reshaped to 28x28.",
    "codes_vs_prior.png": "Per-dimension mean and standard deviation of the codes against the prior's (0 and 5), "
                          "and the pooled code values against the prior's density.",
}}
REFERENCE_NOTE = ("Parzen-window log-likelihood on the MNIST test set: "
                  + "; ".join(r.text("nats") for r in PARZEN_TABLE) + ".")


PARZEN_TEST_CHOICES = ("auto", "mnist", "none")
OPTIMIZERS = ("adam", "momentum")
ENCODERS = ("deterministic", "gaussian")
RECONSTRUCTION_LOSSES = ("squared_error", "mse", "cross_entropy", "cross_entropy_mean")

# --preset NAME: a paper's set-up (the defaults of the options below; explicit options still win).
# docs/question_e.md, "Preset makhzani2015", gives the source of every value and the choices made.
PRESETS = {
    # keil555/AAE_paddle (network.py, train.py, config.py, data_maker.py): 344.05 +- 1.91 nats
    # after 200 epochs (logs/2021-8-24-12-40/eval.log)
    "makhzani2015": {
        "code_dim": 8, "prior_stddev": 5.0, "hidden_units": [1200, 1200], "discriminator_units": [1200, 1200],
        "encoder": "gaussian", "encoder_noise_stddev": 5.0,
        "dropout": 0.2, "discriminator_dropout": 0.2, "generator_phase_discriminator": "training",
        "reconstruction_loss": "cross_entropy_mean", "generator_loss": "non_saturating",
        "optimizer": "adam", "learning_rate": 2e-4, "adversarial_learning_rate": 1e-4, "adversarial_beta1": 0.9,
        "adam_epsilon": 1e-8,
        "epochs": 200, "batch_size": 100, "validation_size": 1000,
        "parzen_every": 5, "keep_best": True, "figure_every": 25,
        "output_dir": os.path.join("results", "question_e_makhzani2015"),
    },
}
# The published number each preset is held against, on MNIST's test set.
PRESET_REFERENCES = {"makhzani2015": AAE_PARZEN}

# One numpy stream per purpose (random_stream): the draws of one never depend on how many another
# made, so --tsne-points or --mmd-points leave the walks, the prior samples and the Parzen samples
# (and so the Parzen log-likelihood) as they are. (The held-out rows of --data are drawn by
# load_data from numpy.random.default_rng(--seed), their own stream too.)
STREAMS = {"figure_samples": 1, "parzen_curve": 2, "tsne": 3, "prior_grid": 4, "walks": 5, "mmd": 6,
           "prior_reference": 7, "parzen": 8, "posterior": 9}


def random_stream(seed: int, purpose: str) -> np.random.Generator:
    """The numpy generator of ``purpose`` (a key of :data:`STREAMS`) in a run seeded with ``seed``:
    ``numpy.random.default_rng([seed, STREAMS[purpose]])``."""
    return np.random.default_rng([int(seed), STREAMS[purpose]])


# what each --preset is, in one line (its --preset help, its heading in the report and results.md)
PRESET_TITLES = {
    "makhzani2015": f"the likelihood experiment of Makhzani et al. 2015 ({AAE_PARZEN.text('nats')} on MNIST's "
                    "test set) as the public run keil555/AAE_paddle trains it"}


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run E", description=__doc__)
    g = parser.add_argument_group("data")
    g.add_argument("--data", default=None, help="(N, 784) .npy file (uint8 0..255 or float in [0, 1]); default: MNIST")
    g.add_argument("--validation-size", type=int_at_least(2), default=None,
                   help="training rows held out at the end for the validation loss and to choose the Parzen "
                        "sigma, at least 2 (default: 10000 for MNIST, 10%% of the rows of --data)")
    g.add_argument("--test-size", type=positive_int, default=None,
                   help="with --data: rows of the file held out, drawn at random by --seed, to score the Parzen "
                        "log-likelihood on; never trained on nor used to choose sigma (default: 10%% of the rows; "
                        "none are held out when --parzen-test is mnist or none)")
    g = parser.add_argument_group("model")
    g.add_argument("--code-dim", type=positive_int, default=100,
                   help="dimension of the code and the prior (default: 100)")
    g.add_argument("--hidden-units", type=positive_int, nargs="+", default=[1000, 1000],
                   help="hidden layers of the encoder (the decoder mirrors them; default: 1000 1000)")
    g.add_argument("--discriminator-units", type=positive_int, nargs="+", default=[1000, 1000],
                   help="hidden layers of the discriminator (default: 1000 1000)")
    g.add_argument("--prior-stddev", type=positive_float, default=1.0,
                   help="prior N(0, s^2 I) (default: 1, the sheet's)")
    g.add_argument("--dropout", type=fraction_below_one, default=0.0,
                   help="dropout rate after every hidden layer of the encoder and the decoder, in training "
                        "(default: %(default)s, none)")
    g.add_argument("--discriminator-dropout", type=fraction_below_one, default=0.0,
                   help="dropout rate after every hidden layer of the discriminator, in phase (b) "
                        "(default: %(default)s, none)")
    g.add_argument("--encoder", choices=ENCODERS, default="deterministic",
                   help="'deterministic' (default): the code is the encoder's output; 'gaussian': the encoder gives "
                        "the mean and log-variance of q(z|x) and every phase trains on a draw mean + exp(log_var / 2) "
                        "* eps (the aggregated posterior's codes for the t-SNE and the MMD test are such draws; the "
                        "export's encode gives the mean)")
    g.add_argument("--encoder-noise-stddev", type=positive_float, default=1.0,
                   help="with --encoder gaussian: eps ~ N(0, s^2 I) (default: %(default)s)")
    g.add_argument("--init-stddev", type=positive_float, default=None,
                   help="draw every weight matrix of the three networks from N(0, s^2) and set the biases to 0, "
                        "as Makhzani et al. (default: Keras' Glorot-uniform weights, zero biases)")
    g.add_argument("--reconstruction-loss", choices=RECONSTRUCTION_LOSSES, default="squared_error",
                   help="phase (a) loss: squared error or cross-entropy summed over the pixels of an image, or "
                        "averaged over them (mse, cross_entropy_mean) (default: %(default)s)")
    g.add_argument("--generator-loss", choices=("saturating", "non_saturating"), default="saturating",
                   help="phase (c): the sheet's E[log(1 - D(Enc x))] or -E[log D(Enc x)] (default: %(default)s)")
    g.add_argument("--generator-phase-discriminator", choices=("inference", "training"), default="inference",
                   help="how phase (c) runs the discriminator: 'inference' (default, its dropout off) or 'training' "
                        "(its dropout on, as in phase (b))")
    g = parser.add_argument_group("optimizers (--learning-rate is phase (a)'s)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                   help="optimizer of all three phases: 'adam' (default) or 'momentum', SGD with momentum "
                        "(Makhzani et al.)")
    g.add_argument("--adversarial-learning-rate", type=positive_float, default=2e-4,
                   help="learning rate of phases (b) and (c) (default: %(default)s, as DCGAN)")
    g.add_argument("--adversarial-beta1", type=fraction_below_one, default=0.5,
                   help="with adam: beta_1 of phases (b) and (c) (default: %(default)s, as DCGAN; Keras' default, "
                        "kept in phase (a), is 0.9)")
    g.add_argument("--adam-epsilon", type=positive_float, default=1e-7,
                   help="with adam: epsilon of all three optimizers (default: %(default)s, Keras')")
    g.add_argument("--momentum", type=fraction_below_one, default=0.9,
                   help="with --optimizer momentum: the momentum of phase (a) (default: %(default)s)")
    g.add_argument("--adversarial-momentum", type=fraction_below_one, default=0.1,
                   help="with --optimizer momentum: the momentum of phases (b) and (c) (default: %(default)s)")
    g.add_argument("--learning-rate-drops", type=positive_int, nargs="*", default=[], metavar="EPOCH",
                   help="epochs after which the learning rates of all three phases are multiplied by "
                        "--learning-rate-drop-factor, increasing (default: none, constant rates)")
    g.add_argument("--learning-rate-drop-factor", type=positive_float, default=0.1,
                   help="factor of each learning-rate drop (default: %(default)s)")
    g = parser.add_argument_group("report")
    g.add_argument("--tsne-points", type=int_at_least(10), default=3000,
                   help="training codes in the t-SNE, at least 10 (default: %(default)s)")
    g.add_argument("--mmd-points", type=int_at_least(2), default=2000,
                   help="codes and prior samples in the MMD test, at least 2 (default: %(default)s)")
    g.add_argument("--permutations", type=positive_int, default=200, help="permutations of the MMD test")
    g.add_argument("--parzen-samples", type=positive_int, default=10_000, help="generated samples of the Parzen window")
    g.add_argument("--parzen-test", choices=PARZEN_TEST_CHOICES, default="auto",
                   help="points the Parzen log-likelihood is scored on: 'auto' (default) the test split of the data "
                        "trained on (MNIST's test set, or the --test-size rows held out of --data); 'mnist' "
                        "MNIST's test set whatever the data (the published numbers' set); 'none' skip it")
    g.add_argument("--parzen-batch-size", type=positive_int, default=500, help="test points scored at once")
    add_parzen_every_arguments(
        g, samples=5000, points=1000,
        every_help="a cheap Parzen log-likelihood of validation rows (held-out training images, never test points) "
                   "into the history (val_parzen_ll) and parzen_curve.png",
        points_help="validation rows to choose sigma on and as many others to score; half the validation split each "
                    "when it is smaller")
    g.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=False,
                   help="with --parzen-every: evaluate and export the weights of the epoch with the best validation "
                        "Parzen score (held-out training rows) instead of the last epoch's (default: off)")
    g.add_argument("--figure-every", type=positive_int, default=10, help="epochs between sample figures during training")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    add_common_arguments(parser, "question_e", epochs=30, batch_size=100, learning_rate=1e-3)
    return add_preset_argument(parser, PRESETS, help=preset_help(PRESETS, PRESET_TITLES))


def saved_model_name(args: argparse.Namespace) -> str:
    """The SavedModel folder of a run: a preset's runs export under a name of their own."""
    return f"question_e_{args.preset}_adversarial_autoencoder" if args.preset else "question_e_adversarial_autoencoder"


def check_options(args: argparse.Namespace) -> None:
    """Refuse option values that pass the parser but not together (before anything is read or written)."""
    from keras_ae.errors import ConfigError

    if args.keep_best and not args.parzen_every:
        raise ConfigError("--keep-best needs the validation score: give --parzen-every N")
    drops = list(args.learning_rate_drops or [])
    if any(b <= a for a, b in zip(drops, drops[1:])):
        raise ConfigError(f"--learning-rate-drops must be increasing epochs, got {' '.join(map(str, drops))}")


def parzen_test_set(args: argparse.Namespace) -> str:
    """What the Parzen log-likelihood is scored on: "mnist" (MNIST's test set), "held_out" (rows
    held out of --data) or "none"."""
    if args.parzen_test == "auto":
        return "held_out" if args.data else "mnist"
    return args.parzen_test


def load_data(args: argparse.Namespace) -> dict:
    """Training, validation and (with --data) held-out test rows, float32 in [0, 1], (N, 784),
    and their labels (or None).

    With ``--data`` and the Parzen score on its own rows, ``--test-size`` rows (10% by default)
    drawn at random by ``--seed`` are held out first (``test_rows``: their indices in the file,
    sorted); the validation split is the last ``--validation-size`` of the remaining rows.
    ``parzen_points`` and ``parzen_on``: the points the Parzen log-likelihood is scored on and
    what they are (:func:`load_parzen_points`; None with ``--parzen-test none``).
    """
    from keras_ae.data import MNIST_CLASSES, flatten, load_dataset, load_user_array, to_unit
    from keras_ae.errors import DataError

    x_test = test_rows = None
    if args.data:
        x, labels, classes, source = load_user_array(args.data, 784), None, None, args.data
        n = len(x)
        val = args.validation_size if args.validation_size is not None else max(1, n // 10)
        if parzen_test_set(args) == "held_out":
            n_test = args.test_size if args.test_size is not None else max(1, n // 10)
            if not 1 <= n_test < n:
                raise DataError(f"{source}: {n} rows cannot give a held-out test split of {n_test} (--test-size)")
            test_rows = np.sort(np.random.default_rng(args.seed).permutation(n)[:n_test])
            x_test, x = x[test_rows], np.delete(x, test_rows, axis=0)
    else:
        train = load_dataset("mnist", "train", args.data_dir)
        x, labels, classes, source = flatten(to_unit(train.images)), np.asarray(train.labels), MNIST_CLASSES, "MNIST"
        val = args.validation_size if args.validation_size is not None else 10_000
    if not 1 <= val < len(x):
        held = f" after the {len(test_rows)} held-out test rows" if test_rows is not None else ""
        raise DataError(f"{source}: {len(x)} rows{held} cannot be split into training rows and a validation split "
                        f"of {val} (--validation-size)")
    split = len(x) - val
    train_rows = slice(0, split if args.train_limit is None else min(split, args.train_limit))
    data = {
        "x_train": x[train_rows], "x_val": x[split:],
        "y_train": None if labels is None else labels[train_rows],
        "y_val": None if labels is None else labels[split:],
        "x_test": x_test, "test_rows": test_rows,
        "classes": classes, "source": source,
    }
    data["parzen_points"], data["parzen_on"] = load_parzen_points(args, data)
    return data


def load_parzen_points(args: argparse.Namespace, data: dict):
    """The points the Parzen log-likelihood is scored on and a name that says which they are."""
    from keras_ae.data import flatten, load_dataset, to_unit

    which = parzen_test_set(args)
    if which == "none":
        return None, None
    if which == "held_out":
        points = data["x_test"][: args.test_limit]
        return points, (f"{len(points)} rows of {args.data} held out at random (seed {args.seed}), used neither "
                        "in training nor to choose sigma")
    test = load_dataset("mnist", "test", args.data_dir)
    return flatten(to_unit(test.images[: args.test_limit])), f"the MNIST test set ({min(len(test), args.test_limit or len(test))} digits)"


def build_model(args: argparse.Namespace, minibatch_size: int | None = None):
    from keras_ae.models import build_adversarial_autoencoder

    return build_adversarial_autoencoder(784, args.code_dim, args.hidden_units, args.discriminator_units,
                                         prior_stddev=args.prior_stddev, seed=args.seed,
                                         name="question_e_adversarial_autoencoder",
                                         minibatch_size=minibatch_size, dropout=args.dropout,
                                         discriminator_dropout=args.discriminator_dropout,
                                         init_stddev=args.init_stddev, encoder=args.encoder,
                                         encoder_noise_stddev=args.encoder_noise_stddev)


def learning_rate_schedule(rate: float, args: argparse.Namespace, steps_per_epoch: int | None):
    """``rate``, or with ``--learning-rate-drops`` a schedule over the optimizer's steps (one per
    minibatch) that multiplies it by ``--learning-rate-drop-factor`` after each listed epoch. It
    lives in the optimizer's state, so a resumed run continues on it."""
    import keras

    drops = list(args.learning_rate_drops or [])
    if not drops:
        return rate
    if not steps_per_epoch:
        raise ValueError("learning-rate drops need the number of steps per epoch")
    # the optimizer asks for the rate of step t (0-based) before taking it: epochs 1..E are steps
    # 0..E * steps_per_epoch - 1, and the drop applies from step E * steps_per_epoch on
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        [e * steps_per_epoch - 1 for e in drops],
        [rate * args.learning_rate_drop_factor ** i for i in range(len(drops) + 1)])


def make_optimizers(args: argparse.Namespace, steps_per_epoch: int | None = None) -> dict:
    """The three phases' optimizers: Adam (the default: phase (a) with Keras' betas, (b) and (c) with
    ``--adversarial-beta1``; all with ``--adam-epsilon``) or SGD with momentum (``--momentum`` for
    (a), ``--adversarial-momentum`` for (b) and (c)), each on its learning rate (or schedule,
    :func:`learning_rate_schedule`)."""
    import keras

    rec = learning_rate_schedule(args.learning_rate, args, steps_per_epoch)

    def adv():
        return learning_rate_schedule(args.adversarial_learning_rate, args, steps_per_epoch)

    if args.optimizer == "momentum":
        return {"reconstruction_optimizer": keras.optimizers.SGD(rec, momentum=args.momentum),
                "discriminator_optimizer": keras.optimizers.SGD(adv(), momentum=args.adversarial_momentum),
                "generator_optimizer": keras.optimizers.SGD(adv(), momentum=args.adversarial_momentum)}
    eps = args.adam_epsilon
    return {"reconstruction_optimizer": keras.optimizers.Adam(rec, epsilon=eps),
            "discriminator_optimizer": keras.optimizers.Adam(adv(), beta_1=args.adversarial_beta1, epsilon=eps),
            "generator_optimizer": keras.optimizers.Adam(adv(), beta_1=args.adversarial_beta1, epsilon=eps)}


def compile_model(model, args: argparse.Namespace, steps_per_epoch: int | None = None):
    """Compile with :func:`make_optimizers`; ``steps_per_epoch`` (minibatches of an epoch) places
    the learning-rate drops."""
    model.compile(**make_optimizers(args, steps_per_epoch),
                  reconstruction_loss=args.reconstruction_loss, generator_loss=args.generator_loss,
                  generator_phase_discriminator_training=args.generator_phase_discriminator == "training",
                  jit_compile=jit_compile(args))
    return model


def encode_rows(model, x: np.ndarray, rng: np.random.Generator | None = None, batch_size: int = 1024) -> np.ndarray:
    """The codes of the rows ``x``: a deterministic encoder's output; a Gaussian encoder's means or,
    given ``rng``, one draw per row from q(z|x), mean + exp(log_var / 2) * eps with
    eps ~ N(0, encoder_noise_stddev^2 I) from ``rng`` (the aggregated posterior's codes)."""
    out = model.encoder.predict(x, batch_size=batch_size, verbose=0)
    if not model.gaussian_encoder:
        return out
    mean, log_var = out
    if rng is None:
        return mean
    eps = model.encoder_noise_stddev * rng.standard_normal(mean.shape)
    return (mean + np.exp(0.5 * log_var) * eps).astype(np.float32)


def _walks(model, x: np.ndarray, labels, steps: int, count: int, rng) -> list[tuple[str, np.ndarray]]:
    """Straight-line walks in code space between the codes of pairs of images, decoded."""
    if labels is not None:  # pairs of different classes
        starts = rng.choice(len(x), size=count, replace=False)
        ends = np.array([rng.choice(np.flatnonzero(labels != labels[s]) if np.any(labels != labels[s])
                                    else np.flatnonzero(np.arange(len(x)) != s)) for s in starts])
    else:
        starts, ends = rng.choice(len(x), size=(2, count), replace=False)
    z = encode_rows(model, x[np.concatenate([starts, ends])])
    t = np.linspace(0.0, 1.0, steps)[:, None]
    rows = []
    for i, (s, e) in enumerate(zip(starts, ends)):
        path = (1.0 - t) * z[i] + t * z[count + i]
        label = f"{labels[s]} to {labels[e]}" if labels is not None else f"#{s} to #{e}"
        rows.append((label, model.decoder.predict(path, verbose=0)))
    return rows


RECONSTRUCTION_LOSS_LABELS = {"squared_error": "squared error per image", "mse": "squared error per pixel",
                              "cross_entropy": "cross-entropy per image (nats)",
                              "cross_entropy_mean": "cross-entropy per pixel (nats)"}


def _plot_losses(hist: dict, path: str, title: str, loss_name: str = "squared_error") -> str:
    import matplotlib.pyplot as plt

    from keras_ae.plots import plot_curves, save_figure

    epochs = list(range(1, len(hist["reconstruction_loss"]) + 1))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 4.2))
    plot_curves({"train": (epochs, hist["reconstruction_loss"]),
                 "validation": (epochs, hist["val_reconstruction_loss"])}, path,
                "(a) reconstruction loss", ylabel=RECONSTRUCTION_LOSS_LABELS.get(loss_name, loss_name), ax=left)
    plot_curves({"discriminator L_D, train": (epochs, hist["discriminator_loss"]),
                 "generator L_Enc, train": (epochs, hist["generator_loss"]),
                 "discriminator L_D, validation": (epochs, hist["val_discriminator_loss"]),
                 "generator L_Enc, validation": (epochs, hist["val_generator_loss"])}, path,
                "(b, c) adversarial losses", ylabel="loss (nats)", ax=right)
    right.axhline(2 * np.log(2), color="gray", lw=0.8, ls=":", label="L_D = 2 log 2 (D = 1/2 everywhere)")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _plot_codes_vs_prior(codes: np.ndarray, prior_stddev: float, path: str, title: str) -> str:
    import matplotlib.pyplot as plt

    from keras_ae.plots import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 4.0))
    dims = np.arange(codes.shape[1])
    left.plot(dims, codes.mean(0), ".", label="mean of the codes")
    left.plot(dims, codes.std(0), ".", label="std of the codes")
    left.axhline(0.0, color="C0", lw=0.8, ls=":", label="prior mean 0")
    left.axhline(prior_stddev, color="C1", lw=0.8, ls=":", label=f"prior std {prior_stddev:g}")
    left.set_xlabel("code dimension")
    left.set_ylabel("value")
    left.set_title("per-dimension moments of the training codes")
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)
    grid = np.linspace(-4 * prior_stddev, 4 * prior_stddev, 200)
    right.hist(codes.ravel(), bins=120, range=(grid[0], grid[-1]), density=True, alpha=0.6,
               label="all code values (pooled over dimensions)")
    right.plot(grid, np.exp(-0.5 * (grid / prior_stddev) ** 2) / (prior_stddev * np.sqrt(2 * np.pi)), "k-",
               lw=1.2, label=f"prior N(0, {prior_stddev:g}^2)")
    right.set_xlabel("code value")
    right.set_ylabel("density")
    right.set_title("marginal distribution of code values")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def export_metadata(args: argparse.Namespace, source: str, parzen_row: dict | None,
                    weights_of_epoch: int | None = None) -> dict:
    """What the SavedModel's metadata.json says about the run: the model, the training set-up and
    the Parzen result (in full under ``parzen``; its headline numbers under ``parzen_log_likelihood``,
    ``parzen_std_error``, ``parzen_sigma`` and ``parzen_scored_on``), the preset and, for a preset,
    the published number it is held against (``published_parzen``); with ``--keep-best``, the epoch
    whose weights were exported (``weights_of_epoch``)."""
    meta = {"question": "E", "value_range": "unit",
            "input": "28x28 image flattened to 784 values in [0, 1]",
            "prior": f"N(0, {args.prior_stddev:g}^2 I), {args.code_dim} dimensions",
            "generate": "standard-normal noise (N, code_dim) -> images",
            "data": source, "generator_loss": args.generator_loss,
            "epochs": args.epochs, "seed": args.seed, "parzen": parzen_row,
            "preset": args.preset,
            "parzen_log_likelihood": parzen_row["mean"] if parzen_row else None,
            "parzen_std_error": parzen_row["std_error"] if parzen_row else None,
            "parzen_sigma": parzen_row["sigma"] if parzen_row else None,
            "parzen_paper_grid_log_likelihood": parzen_row["grid_mean"] if parzen_row else None,
            "parzen_paper_grid_std_error": parzen_row["grid_std_error"] if parzen_row else None,
            "parzen_paper_grid_sigma": parzen_row["grid_sigma"] if parzen_row else None,
            "parzen_scored_on": parzen_row["test_points_from"] if parzen_row else None,
            "training": {key: getattr(args, key) for key in (
                "code_dim", "hidden_units", "discriminator_units", "encoder", "encoder_noise_stddev", "dropout",
                "discriminator_dropout", "generator_phase_discriminator", "init_stddev", "optimizer", "learning_rate",
                "adversarial_learning_rate", "adversarial_beta1", "adam_epsilon", "momentum", "adversarial_momentum",
                "learning_rate_drops", "learning_rate_drop_factor", "reconstruction_loss", "batch_size",
                "validation_size", "keep_best")}}
    if args.preset in PRESET_REFERENCES:
        ref = PRESET_REFERENCES[args.preset]
        meta["published_parzen"] = {"source": ref.source, "mean": ref.value, "std_error": ref.std_error,
                                    "scored_on": "the MNIST test set (10,000 digits)"}
    if weights_of_epoch is not None:
        meta["weights_of_epoch"] = weights_of_epoch
    return meta


def _plot_parzen_curve(hist: dict, path: str, args: argparse.Namespace, final: dict | None) -> str:
    """The validation Parzen log-likelihood against epochs (:class:`keras_ae.callbacks.BestValidationScore`),
    with the final estimate and, for a preset, the published number as horizontal lines."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from keras_ae.plots import save_figure

    values = np.asarray(hist.get("val_parzen_ll", []), dtype=float)
    epochs = np.arange(1, len(values) + 1)[np.isfinite(values)]
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    ax.plot(epochs, values[np.isfinite(values)], "o-", label=(
        f"validation rows ({args.parzen_every_samples} samples; sigma chosen on other validation rows)"))
    if final is not None:
        ax.axhline(final["mean"], color="C1", ls="--", lw=1.0,
                   label=f"final: {final['mean']:.1f} nats ({final['num_samples']} samples, {final['test_points_from']})")
    if args.preset in PRESET_REFERENCES and parzen_test_set(args) == "mnist":
        ref = PRESET_REFERENCES[args.preset]
        ax.axhline(ref.value, color="gray", ls=":", lw=1.0, label=f"published: {ref.value:g} nats, {ref.source}")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean log-likelihood (nats)")
    ax.set_title("Question E: Parzen-window log-likelihood over training", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


@dataclass(frozen=True)
class Trained:
    """What training leaves: the model holding the weights to evaluate (the last epoch's; with
    ``--keep-best`` the best validation epoch's), its Keras history, the training time, the sample
    figures written during training and, with ``--keep-best``, the epoch of the weights
    (``weights_of_epoch``; None without it)."""

    model: Any
    history: dict
    seconds: float
    sample_figures: list
    weights_of_epoch: int | None = None


@dataclass(frozen=True)
class Evaluation:
    """What the evaluation of a trained model gives, before anything is written: the training
    ``codes``, their t-SNE (:func:`tsne_of_codes`), 100 decoded prior samples (``prior_grid``), the
    decoded walks (:func:`_walks`), the rows of the codes against the prior and their MMD test
    (:func:`posterior_vs_prior`), the Parzen row and the sigmas' validation scores
    (:func:`parzen_window`; None with ``--parzen-test none``) and the summary row
    (:func:`summary_row`)."""

    codes: np.ndarray
    tsne: dict
    prior_grid: np.ndarray
    walks: list
    posterior: list
    mmd: dict
    parzen: dict | None
    sigma_scores: dict
    summary: dict


def _parzen_curve(args: argparse.Namespace, x_val: np.ndarray) -> list:
    """With ``--parzen-every``: the callback of the validation Parzen curve (into the epoch's logs,
    the history and the CSV log, as ``val_parzen_ll``), in a list; an empty list without it."""
    from keras_ae.callbacks import BestValidationScore
    from keras_ae.generative_metrics import parzen_score

    if not args.parzen_every:
        return []
    half = min(args.parzen_every_points, len(x_val) // 2)
    # the same prior samples at every point; sigma on half the rows, the score on the other
    noise = random_stream(args.seed, "parzen_curve").standard_normal(
        (args.parzen_every_samples, args.code_dim)).astype(np.float32)
    return [BestValidationScore(
        parzen_score(lambda m: m.generate(noise).numpy(), x_val[:half], x_val[half: 2 * half],
                     batch_size=args.parzen_batch_size),
        every=args.parzen_every, patience=0, restore_best=args.keep_best, name="val_parzen_ll", log_extras=("sigma",),
        verbose=verbosity(args) != 0)]


def train(args: argparse.Namespace, data: dict) -> Trained:
    """Build, compile and fit the AAE on the training rows (validation loss on the validation
    rows), writing the sample figures of ``--figure-every`` and, with ``--parzen-every``, the
    validation Parzen curve into the history."""
    from keras_ae.callbacks import ReconstructionFigure, resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    out, x_train, x_val = args.output_dir, data["x_train"], data["x_val"]
    seed_everything(args.seed)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    with distribution_strategy(args.strategy).scope():
        model = compile_model(build_model(args, fused_minibatch_size(args)), args, steps_per_epoch)
    fixed_noise = random_stream(args.seed, "figure_samples").standard_normal((10, args.code_dim)).astype(np.float32)
    figure_rows = lambda m, x: [("input", x), ("reconstruction", m.predict(x, verbose=0)),  # noqa: E731
                                ("prior sample", m.generate(fixed_noise).numpy())]
    figure_cb = ReconstructionFigure(x_val[:10], os.path.join(out, "samples_epoch{epoch:03d}.png"),
                                     "Question E: validation inputs, reconstructions, decoded prior samples",
                                     every=args.figure_every, rows=figure_rows)
    curve = _parzen_curve(args, x_val)
    print(f"[question E] training the AAE ({args.generator_loss} generator loss), {args.epochs} epochs", flush=True)
    # the figures' list is a companion of the backup too: a resumed fit lists every epoch's figure
    callbacks = standard_callbacks(out, tensorboard=args.tensorboard, backup=args, companions=curve + [figure_cb])
    start = resume_from(callbacks, model, args.epochs)
    with Timer(callbacks) as timer:
        history = model.fit(make_dataset(x_train, batch_size=args.batch_size, **data_options(args, start)),
                            validation_data=(x_val, x_val), validation_batch_size=EVALUATION_BATCH_SIZE,
                            initial_epoch=start, epochs=args.epochs, shuffle=False, callbacks=callbacks,
                            verbose=verbosity(args))
    best_epoch = curve[0].best_epoch if args.keep_best and curve and curve[0].best_weights is not None else None
    if best_epoch is not None:
        print(f"[question E] evaluating the weights of epoch {best_epoch} (best validation Parzen score)", flush=True)
    # the losses of the history are the last epoch's; codes, samples and scores come from these weights
    weights_of_epoch = (best_epoch if best_epoch is not None else args.epochs) if args.keep_best else None
    return Trained(model, history.history, timer.seconds, figure_cb.paths, weights_of_epoch)


def tsne_of_codes(codes: np.ndarray, points: int, seed: int) -> dict:
    """The t-SNE of ``points`` codes drawn at random (the "tsne" stream): their indices ``pick``
    (sorted), their 2-D ``coords`` and the ``seconds`` it took."""
    from keras_ae.analysis import tsne_2d

    pick = np.sort(random_stream(seed, "tsne").choice(len(codes), size=min(points, len(codes)), replace=False))
    with Timer() as timer:
        coords = tsne_2d(codes[pick], perplexity=min(30.0, max(2.0, (len(pick) - 1) / 3.0)), seed=seed)
    return {"pick": pick, "coords": coords, "seconds": timer.seconds}


def posterior_vs_prior(codes: np.ndarray, prior_stddev: float, mmd_points: int, permutations: int,
                       seed: int) -> tuple[list[dict], dict]:
    """The aggregated posterior (``codes``) against the prior N(0, prior_stddev^2 I): the rows of
    the posterior_vs_prior table (per-dimension moments, Gaussian KL, MMD^2 and its permutation
    p-value; of the codes, and of prior draws as the reference: what a perfect match scores) and
    the MMD test's ``points`` and ``bandwidth``. The MMD's draws come from the "mmd" stream, the
    reference moments' from "prior_reference"."""
    from keras_ae.generative_metrics import mmd_test, prior_statistics

    rng = random_stream(seed, "mmd")
    m = min(mmd_points, len(codes))
    code_pick = rng.choice(len(codes), size=m, replace=False)
    prior_a = prior_stddev * rng.standard_normal((m, codes.shape[1]))
    prior_b = prior_stddev * rng.standard_normal((m, codes.shape[1]))
    mmd = mmd_test(codes[code_pick], prior_a, permutations=permutations, seed=seed)
    mmd_ref = mmd_test(prior_b, prior_a, bandwidth=mmd["bandwidth"], permutations=permutations, seed=seed)
    # Moments of as many prior draws as there are codes: the finite-sample floor of each statistic.
    reference = prior_stddev * random_stream(seed, "prior_reference").standard_normal(codes.shape)
    rows = [
        {"sample": "AAE training codes", **prior_statistics(codes, 0.0, prior_stddev),
         "mmd2": mmd["mmd2"], "mmd_p_value": mmd["p_value"]},
        {"sample": "reference: prior draws", **prior_statistics(reference, 0.0, prior_stddev),
         "mmd2": mmd_ref["mmd2"], "mmd_p_value": mmd_ref["p_value"]},
    ]
    return rows, {"points": m, "bandwidth": mmd["bandwidth"]}


def parzen_window(samples: np.ndarray, validation: np.ndarray, points: np.ndarray, scored_on: str,
                  batch_size: int) -> tuple[dict, dict]:
    """The Parzen-window log-likelihood of ``points`` under ``samples`` by keras_ae's one estimator
    (:func:`keras_ae.generative_metrics.parzen_estimate`: sigma chosen on the ``validation`` rows,
    never on the scored points, first on the papers' grid, then refined): the row (the refined
    result under ``sigma``/``mean``/``std_error``, the paper-grid one under ``grid_*``;
    ``test_points_from``: ``scored_on``; each sigma's ``validation_ll``; the seconds it took) and
    the validation score of every sigma tried."""
    from keras_ae.generative_metrics import parzen_estimate

    with Timer() as timer:
        estimate = parzen_estimate(samples, validation, points, batch_size=batch_size)
    scores = estimate.validation
    row = {**estimate.as_dict(), "test_points_from": scored_on, "validation_ll": scores[estimate.sigma],
           "grid_validation_ll": scores[estimate.grid_sigma], "seconds": round(timer.seconds, 1)}
    return row, scores


def parzen_table_rows(parzen_row: dict, on_mnist: bool) -> list[dict]:
    """The rows of the Parzen table: this AAE's and, when it is scored on MNIST's test set, the
    published ones beside it (they are on that set: beside no other set's)."""
    rows = [{"model": "this AAE", "log_likelihood": parzen_row["mean"], "std_error": parzen_row["std_error"],
             "sigma": parzen_row["sigma"], "samples": parzen_row["num_samples"],
             "test_points": parzen_row["num_points"], "paper_grid_log_likelihood": parzen_row["grid_mean"],
             "paper_grid_std_error": parzen_row["grid_std_error"], "paper_grid_sigma": parzen_row["grid_sigma"]}]
    if on_mnist:
        rows += [{"model": ref.source, "log_likelihood": ref.value, "std_error": ref.std_error, "sigma": "",
                  "samples": 10000, "test_points": 10000, "paper_grid_log_likelihood": "", "paper_grid_std_error": "",
                  "paper_grid_sigma": ""} for ref in PARZEN_TABLE]
    return rows


def summary_row(args: argparse.Namespace, trained: Trained, train_rows: int, posterior: list[dict],
                parzen_row: dict | None, val_squared_error: float, tsne_seconds: float) -> dict:
    """The summary table's row: the last epoch's losses, the validation squared error, the codes'
    Gaussian KL (and the reference draws'), MMD, the Parzen result and the timings."""
    codes_row, reference_row = posterior
    hist = trained.history
    summary = {
        "epochs": args.epochs, "train_rows": train_rows, "generator_loss_form": args.generator_loss,
        "final_reconstruction_loss": float(hist["reconstruction_loss"][-1]),
        "final_discriminator_loss": float(hist["discriminator_loss"][-1]),
        "final_generator_loss": float(hist["generator_loss"][-1]),
        "val_squared_error": val_squared_error,
        "gaussian_kl_to_prior": codes_row["gaussian_kl_to_prior"],
        "reference_kl": reference_row["gaussian_kl_to_prior"], "mmd2": codes_row["mmd2"],
        "mmd_p_value": codes_row["mmd_p_value"],
        "parzen_ll": parzen_row["mean"] if parzen_row else float("nan"),
        "parzen_std_error": parzen_row["std_error"] if parzen_row else float("nan"),
        "parzen_paper_grid_ll": parzen_row["grid_mean"] if parzen_row else float("nan"),
        "parzen_scored_on": parzen_row["test_points_from"] if parzen_row else "not scored (--parzen-test none)",
        "train_minutes": round(trained.seconds / 60.0, 2), "tsne_seconds": round(tsne_seconds, 1),
    }
    if trained.weights_of_epoch is not None:
        summary["weights_of_epoch"] = trained.weights_of_epoch
    return summary


def evaluate(trained: Trained, data: dict, args: argparse.Namespace) -> Evaluation:
    """Encode, decode and score the trained model (nothing is written): each draw from its own
    stream (:func:`random_stream`)."""
    from keras_ae.losses import squared_error_per_image

    model, x_train, x_val = trained.model, data["x_train"], data["x_val"]
    print("[question E] encoding, t-SNE", flush=True)
    codes = encode_rows(model, x_train, random_stream(args.seed, "posterior"))
    tsne = tsne_of_codes(codes, args.tsne_points, args.seed)
    noise = random_stream(args.seed, "prior_grid").standard_normal((100, args.code_dim)).astype(np.float32)
    grid = model.generate(noise).numpy()
    walks = _walks(model, x_val, data["y_val"], steps=10, count=min(8, len(x_val) // 2 or 1),
                   rng=random_stream(args.seed, "walks"))
    print("[question E] aggregated posterior vs prior", flush=True)
    posterior, mmd = posterior_vs_prior(codes, args.prior_stddev, args.mmd_points, args.permutations, args.seed)
    parzen_row, scores = None, {}
    if data["parzen_points"] is not None:
        print(f"[question E] Parzen window: {args.parzen_samples} samples, sigma on {len(x_val)} validation rows, "
              f"log-likelihood on {data['parzen_on']}", flush=True)
        noise = random_stream(args.seed, "parzen").standard_normal((args.parzen_samples, args.code_dim))
        samples = model.generate(noise.astype(np.float32)).numpy()
        parzen_row, scores = parzen_window(samples, x_val, data["parzen_points"], data["parzen_on"],
                                           args.parzen_batch_size)
        print(f"[question E] Parzen log-likelihood {parzen_row['mean']:.1f} +- {parzen_row['std_error']:.1f} nats on "
              f"{data['parzen_on']} (sigma {parzen_row['sigma']:.3g}; on the paper's grid "
              f"{parzen_row['grid_mean']:.1f} at sigma {parzen_row['grid_sigma']:.3g}; {parzen_row['seconds']:.1f} s)",
              flush=True)
    val_squared_error = squared_error_per_image(x_val, model.predict(x_val, batch_size=1024, verbose=0))
    summary = summary_row(args, trained, len(x_train), posterior, parzen_row, val_squared_error, tsne["seconds"])
    return Evaluation(codes, tsne, grid, walks, posterior, mmd, parzen_row, scores, summary)


def write_figures(args: argparse.Namespace, data: dict, trained: Trained, ev: Evaluation) -> list[str]:
    """The figures of the run after training, in the report's order: the sample figures written
    during training, (b) the losses, (a) the t-SNE, (c) prior samples and walks, the codes against
    the prior and, with ``--parzen-every``, the Parzen curve."""
    from keras_ae.plots import plot_embedding, plot_image_grid

    out, pick = args.output_dir, ev.tsne["pick"]
    labels = data["y_train"][pick] if data["y_train"] is not None else np.zeros(len(pick), int)
    figures = list(trained.sample_figures) + [
        _plot_losses(trained.history, os.path.join(out, "losses.png"),
                     f"Question E: AAE losses over training ({args.generator_loss} generator loss)",
                     args.reconstruction_loss),
        plot_embedding(ev.tsne["coords"], labels, data["classes"] or ("unlabelled data",),
                       os.path.join(out, "tsne_codes.png"),
                       f"Question E: t-SNE of {len(pick)} training codes ({args.code_dim}-d, AAE)"),
        plot_image_grid([("", ev.prior_grid[10 * r: 10 * r + 10]) for r in range(10)],
                        os.path.join(out, "prior_samples.png"),
                        f"Question E: decoder(z) for 100 samples z ~ N(0, {args.prior_stddev:g}^2 I), 28x28"),
        plot_image_grid(ev.walks, os.path.join(out, "latent_walks.png"),
                        "Question E: decoded straight-line walks between the codes of two "
                        "validation images (left: first code, right: second)"),
        _plot_codes_vs_prior(ev.codes, args.prior_stddev, os.path.join(out, "codes_vs_prior.png"),
                             "Question E: aggregated posterior q(z) vs prior p(z)"),
    ]
    if args.parzen_every:
        figures.append(_plot_parzen_curve(trained.history, os.path.join(out, "parzen_curve.png"), args, ev.parzen))
    return figures


def write_tables(args: argparse.Namespace, data: dict, trained: Trained, ev: Evaluation) -> list[str]:
    """The tables of the run (Markdown with caption and CSV): posterior_vs_prior, parzen (unless
    ``--parzen-test none``), parzen_validation (with ``--parzen-every``) and summary."""
    from keras_ae.reporting import write_table

    out, n_val = args.output_dir, len(data["x_val"])
    tables = [write_table(ev.posterior, os.path.join(out, "posterior_vs_prior"), caption=(
        f"Question E: training codes against the prior N(0, {args.prior_stddev:g}^2 I). Moments are per "
        "dimension (mean_abs_mean: average |mean|; mean_std: average standard deviation), "
        "gaussian_kl_to_prior: KL(N(mu, Sigma) || prior) of the Gaussian with the codes' mean and "
        f"covariance; mmd2: unbiased squared MMD (Gaussian kernel, bandwidth {ev.mmd['bandwidth']:.3g} by "
        f"the median heuristic) between {ev.mmd['points']} codes and {ev.mmd['points']} prior draws, p-value from "
        f"{args.permutations} permutations. The reference row is a second set of prior draws: what a perfect match "
        "scores."))[0]]
    if ev.parzen is not None:
        on_mnist = parzen_test_set(args) == "mnist"
        tables.append(write_table(parzen_table_rows(ev.parzen, on_mnist), os.path.join(out, "parzen"), caption=(
            f"Question E: Gaussian Parzen-window log-likelihood (nats) of {ev.parzen['test_points_from']} under "
            f"{ev.parzen['num_samples']} decoded prior samples, by keras_ae's one estimator: sigma chosen on the "
            f"validation split ({n_val} held-out training rows, not the scored ones), first on the papers' grid "
            f"logspace(-1, 0, 10) (sigma {ev.parzen['grid_sigma']:.4g}: the paper_grid columns), then refined by a "
            f"bounded search between its grid neighbours (sigma {ev.parzen['sigma']:.4g}: the headline), "
            f"{len(ev.sigma_scores)} values scored in all. Cost: {ev.parzen['seconds']:.1f} s."
            + (" Published rows from Goodfellow et al. (2014) and Makhzani et al. (2015), Table 1." if on_mnist else
               " The published numbers (on MNIST's test set) are not comparable and left out.")))[0])
    points = [{"epoch": epoch, "val_parzen_ll": value}
              for epoch, value in enumerate(trained.history.get("val_parzen_ll", []), 1) if np.isfinite(value)]
    if args.parzen_every and points:
        tables.append(write_table(points, os.path.join(out, "parzen_validation"), caption=(
            f"Question E: Parzen log-likelihood (nats) of validation rows under {args.parzen_every_samples} "
            f"decoded prior samples every {args.parzen_every} epochs (the curve of parzen_curve.png)"))[0])
    tables.append(write_table([ev.summary], os.path.join(out, "summary"), caption=(
        f"Question E: AAE on {data['source']} after {args.epochs} epochs. Losses are the last epoch's "
        "training means; val_squared_error: ||x - x_hat||^2 per validation image."))[0])
    return tables


def write_outputs(args: argparse.Namespace, data: dict, trained: Trained, ev: Evaluation) -> RunResult:
    """Figures, tables and the SavedModel export (unless ``--no-export``) of an evaluated run."""
    from keras_ae.export import export_model

    figures = write_figures(args, data, trained, ev)
    tables = write_tables(args, data, trained, ev)
    exported = None
    if not args.no_export:
        exported = str(export_model(trained.model, os.path.join(args.saved_models_dir, saved_model_name(args)),
                                    metadata=export_metadata(args, data["source"], ev.parzen,
                                                             weights_of_epoch=trained.weights_of_epoch)))
    summary = ev.summary
    print(f"[question E] reconstruction {summary['final_reconstruction_loss']:.2f}, discriminator "
          f"{summary['final_discriminator_loss']:.3f}, generator {summary['final_generator_loss']:.3f}; "
          f"Gaussian KL to prior {summary['gaussian_kl_to_prior']:.2f}, MMD^2 {summary['mmd2']:.2e} "
          f"(p = {summary['mmd_p_value']:.3f}); {trained.seconds / 60:.1f} min training", flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=tables,
                        models={"adversarial_autoencoder": exported} if exported else {},
                        details={"summary": summary, "history": trained.history, "parzen": ev.parzen,
                                 "posterior_vs_prior": ev.posterior, "model": trained.model})


def run(args: argparse.Namespace) -> RunResult:
    """Load the data, train, evaluate, write the outputs."""
    check_options(args)
    data = load_data(args)
    os.makedirs(args.output_dir, exist_ok=True)
    held = f", {len(data['x_test'])} held-out test rows" if data["x_test"] is not None else ""
    print(f"[question E] data {data['source']}: {len(data['x_train'])} training rows, {len(data['x_val'])} "
          f"validation rows{held}", flush=True)
    trained = train(args, data)
    return write_outputs(args, data, trained, evaluate(trained, data, args))


def _codes_match_the_prior(tables) -> Answer | None:
    """From the codes-vs-prior table: the MMD test of the training codes against prior draws, beside
    the same test of fresh prior draws (the reference row), the Gaussian KL and the discriminator."""
    rows = tables.get("posterior_vs_prior", [])
    codes = next((r for r in rows if not str(r.get("sample", "")).startswith("reference")), None)
    ref = next((r for r in rows if str(r.get("sample", "")).startswith("reference")), None)
    if codes is None or number(codes.get("mmd_p_value")) is None:
        return None
    p, kl = number(codes["mmd_p_value"]), number(codes.get("gaussian_kl_to_prior"))
    summary = (tables.get("summary") or [{}])[-1]
    d_loss = number(summary.get("final_discriminator_loss"))
    ref_p = number(ref.get("mmd_p_value")) if ref is not None else None
    if ref_p is not None and ref_p < 0.05:
        verdict = ("Cannot tell from this test: it also rejects fresh prior draws against the prior "
                   f"(p = {ref_p:.3g}), so its verdict on the codes is not reliable here")
    elif p < 0.05:
        verdict = "No: the MMD two-sample test tells the training codes from prior draws"
    else:
        verdict = "The MMD two-sample test cannot tell the training codes from prior draws"
    evidence = [f"MMD^2 {number(codes['mmd2']):.3g}, permutation p = {p:.3g} (the codes)"]
    if ref is not None and number(ref.get("mmd_p_value")) is not None:
        evidence.append(f"p = {number(ref['mmd_p_value']):.3g} for fresh prior draws, the test's reference")
    if kl is not None and ref is not None:
        evidence.append(f"KL of the codes' Gaussian fit to the prior {kl:.3g} nats against {number(ref['gaussian_kl_to_prior']):.2g}"
                        " for prior draws")
    evidence.append(f"mean code std {number(codes['mean_std']):.2f} (prior 1 in its units), mean |mean| "
                    f"{number(codes['mean_abs_mean']):.2f}")
    if d_loss is not None:
        evidence.append(f"final discriminator loss {d_loss:.3f} (2 ln 2 = {2 * math.log(2):.3f} when it cannot "
                        "tell codes from prior samples)")
    return Answer(f"{verdict} (p {'<' if p < 0.05 else '>='} 0.05).", "; ".join(evidence) + ".")


ASKS = (Ask("002 problem 2 (a)-(c)", "Do the adversarial autoencoder's codes match the prior?", _codes_match_the_prior),)


def headline(tables) -> dict:
    """``parzen_log_likelihood`` and ``parzen_std_error`` (nats, test set; refined sigma),
    ``parzen_log_likelihood_paper_grid`` (the papers' sigma grid), ``val_squared_error``,
    ``gaussian_kl_to_prior``."""
    rows = tables.get("summary", [])
    return pick(rows[-1] if rows else {}, {"parzen_log_likelihood": "parzen_ll", "parzen_std_error": "parzen_std_error",
                                           "parzen_log_likelihood_paper_grid": "parzen_paper_grid_ll",
                                           "val_squared_error": "val_squared_error",
                                           "gaussian_kl_to_prior": "gaussian_kl_to_prior"})


def provenance(tables) -> dict:
    """How the run measured its Parzen number: its standard error, the estimator and the epochs."""
    from keras_ae.generative_metrics import describe_parzen

    summary = (tables.get("summary") or [{}])[-1]
    parzen = next((r for r in tables.get("parzen", []) if str(r.get("model", "")).startswith("this")), {})
    sigma = number(parzen.get("sigma"))
    if sigma is None:
        return {}
    return {"parzen_log_likelihood": Provenance(
        number(parzen.get("std_error")),
        describe_parzen(sigma, number(parzen.get("paper_grid_sigma")), number(parzen.get("paper_grid_log_likelihood")),
                        samples=number(parzen.get("samples"))),
        epochs_text(summary))}


QUESTION = Question(
    id="E", title="adversarial autoencoder with a 100-d N(0, I) prior, three-phase training", sheet="002 problem 2",
    build_parser=build_parser, run=run, quick_args=tuple(QUICK_ARGS), captions=CAPTIONS,
    summary=__doc__.strip().split("\n\n")[0], reference_note=REFERENCE_NOTE, headline=headline,
    references={"parzen_log_likelihood": AAE_PARZEN}, readme_metrics=("parzen_log_likelihood",), asks=ASKS,
    metric_labels={"parzen_log_likelihood": "Parzen log-likelihood of the test digits (nats)",
                   "parzen_std_error": "its standard error (nats)",
                   "parzen_log_likelihood_paper_grid": "the same on the papers' sigma grid, unrefined (nats)",
                   "val_squared_error": "validation squared error per image",
                   "gaussian_kl_to_prior": "KL(Gaussian fit of the codes || prior)"},
    presets=PRESETS, preset_titles=PRESET_TITLES, preset_captions=PRESET_CAPTIONS, provenance=provenance,
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
