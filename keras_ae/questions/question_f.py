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
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from keras_ae.questions.common import (EVALUATION_BATCH_SIZE, QuestionParser, Timer, add_backup_argument,
                                      add_common_arguments, add_speed_arguments, distribution_strategy,
                                      fraction_below_one, fused_minibatch_size, jit_compile, nonnegative_int,
                                      positive_float, positive_int, question_main, seed_everything, steps_per_call,
                                      verbosity)

DEFAULT_SIGMAS = (0.05, 0.08, 0.1, 0.12, 0.15, 0.18, 0.2, 0.25, 0.3, 0.4, 0.5)


def build_model(latent_dim: int = 100, generator_units=(256, 512, 1024), discriminator_units=(1024, 512, 256),
                dropout: float = 0.3, k: int = 1, generator_loss: str = "minimax", seed: int | None = 0,
                minibatch_size: int | None = None):
    from keras_ae.models import GAN, build_discriminator, build_generator

    # initialisers and dropout are seeded through seed_everything; ``seed`` seeds the noise z
    return GAN(build_generator(latent_dim, generator_units, output_activation="tanh"),
               build_discriminator(784, discriminator_units, dropout=dropout),
               d_steps=k, generator_loss=generator_loss, seed=seed, name="question_f_gan",
               minibatch_size=minibatch_size)


def compile_model(model, learning_rate: float = 2e-4, beta_1: float = 0.5, jit_compile: bool = False):
    import keras

    model.compile(d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1),
                  g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=beta_1), jit_compile=jit_compile)
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
}
PUBLISHED = "Parzen-window log-likelihood on the MNIST test set: GAN 225 +- 2 nats (Goodfellow et al. 2014, Table 1)."


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run F", description=__doc__)
    parser.add_argument("--k", type=positive_int, default=1,
                        help="discriminator updates per generator update (slides' k)")
    parser.add_argument("--generator-loss", default="minimax", choices=("minimax", "non_saturating"),
                        help="minimax: minimise ln(1 - D(G(z))) as on the slides; non_saturating: minimise -ln D(G(z))")
    parser.add_argument("--latent-dim", type=positive_int, default=100, help="dimension of z ~ N(0, I)")
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
                        help="Parzen sigma grid (pixels in [0, 1])")
    parser.add_argument("--classifier-epochs", type=nonnegative_int, default=3,
                        help="epochs of the MLP classifier for the classifier score (0 skips the score)")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    return add_common_arguments(parser, "question_f", epochs=30, batch_size=64, learning_rate=2e-4)


def run(args: argparse.Namespace) -> dict:
    from keras_ae.callbacks import ReconstructionFigure, standard_callbacks
    from keras_ae.data import flatten, from_signed, load_dataset, make_dataset, to_unit
    from keras_ae.errors import ConfigError
    from keras_ae.export import export_model
    from keras_ae.generative_metrics import parzen_log_likelihood, select_parzen_sigma
    from keras_ae.plots import plot_curves, plot_image_grid
    from keras_ae.reporting import write_table

    out = args.output_dir
    train = load_dataset("mnist", "train", args.data_dir)
    test = load_dataset("mnist", "test", args.data_dir)
    # GAN in [-1, 1]; Parzen window and classifier in [0, 1] (the value range of question E's decoder)
    x_all = flatten(to_unit(train.images))
    if args.validation_size >= len(x_all):
        raise ConfigError(f"--validation-size {args.validation_size} leaves none of the {len(x_all)} training "
                          "images to train on")
    x_train, y_train = x_all[:-args.validation_size], train.labels[:-args.validation_size]
    x_val = x_all[-args.validation_size:]
    if args.train_limit:
        x_train, y_train = x_train[: args.train_limit], y_train[: args.train_limit]
    x_test, y_test = flatten(to_unit(test.images[: args.test_limit])), test.labels[: args.test_limit]
    s_train, s_val = x_train * 2.0 - 1.0, x_val * 2.0 - 1.0  # to_signed of the same images
    batch = args.k * args.batch_size
    if len(x_train) < batch:
        raise ConfigError(f"{len(x_train)} training images do not fill one iteration of --k x --batch-size = "
                          f"{batch} images")
    os.makedirs(out, exist_ok=True)

    print(f"[question F] GAN on {len(x_train)} MNIST images: k = {args.k}, m = {args.batch_size}, "
          f"generator loss {args.generator_loss}, {args.epochs} epochs", flush=True)
    seed_everything(args.seed)
    with distribution_strategy(args.strategy).scope():
        # one train_step takes k * m images (k discriminator minibatches of m); fused: several of them per call
        model = compile_model(build_model(args.latent_dim, dropout=args.dropout, k=args.k,
                                          generator_loss=args.generator_loss, seed=args.seed,
                                          minibatch_size=batch if fused_minibatch_size(args) else None),
                              args.learning_rate, args.beta_1, jit_compile(args))
    z_fixed = np.random.default_rng(args.seed).standard_normal((100, args.latent_dim)).astype(np.float32)
    snapshots: dict[int, np.ndarray] = {}

    def grid_rows(gan, z):
        images = from_signed(gan.generator.predict(z, batch_size=len(z), verbose=0))
        snapshots[len(snapshots)] = images
        return [("", images[r * 10:(r + 1) * 10]) for r in range(len(z) // 10)]

    grid = ReconstructionFigure(z_fixed, os.path.join(out, "samples_epoch{epoch:03d}.png"),
                                "Question F: G(z) for the same 100 fixed z", every=args.sample_every, rows=grid_rows)
    callbacks = standard_callbacks(out, tensorboard=args.tensorboard, backup=args) + [grid]
    # fit sees batches of k * m images; train_step splits each into k minibatches of m (see GAN).
    with Timer() as timer:
        history = model.fit(make_dataset(s_train, batch_size=batch, seed=args.seed, drop_remainder=True,
                                         steps_per_batch=steps_per_call(args)),
                            epochs=args.epochs,
                            validation_data=make_dataset(s_val, batch_size=EVALUATION_BATCH_SIZE, shuffle=False),
                            callbacks=callbacks, shuffle=False, verbose=verbosity(args))
    minutes = timer.seconds / 60.0
    h = history.history
    print(f"[question F] trained in {minutes:.1f} min: final d_loss {h['d_loss'][-1]:.3f}, "
          f"g_loss {h['g_loss'][-1]:.3f}, D(x) {h['d_real'][-1]:.3f}, D(G(z)) {h['d_fake'][-1]:.3f}", flush=True)

    # Figures: samples over training (first 10 fixed z per snapshot), losses, D's outputs.
    epochs_drawn = [int(p.rsplit("epoch", 1)[1][:3]) for p in grid.paths]
    figures = list(grid.paths)
    figures.append(plot_image_grid([(f"epoch {e}", snapshots[i][:10]) for i, e in enumerate(epochs_drawn)],
                                   os.path.join(out, "samples_over_training.png"),
                                   "Question F: G(z) for the same 10 fixed z over training"))
    ep = list(range(1, len(h["d_loss"]) + 1))
    g_label = "ln(1 - D(G(z)))" if args.generator_loss == "minimax" else "-ln D(G(z))"
    figures.append(plot_curves({"D: E (train)": (ep, h["d_loss"]),
                                "D: E (held-out images, dropout off)": (ep, h["val_d_loss"]),
                                f"G: mean {g_label} (train)": (ep, h["g_loss"])},
                               os.path.join(out, "losses.png"),
                               f"Question F: losses per epoch (k = {args.k}, {args.generator_loss})", ylabel="loss"))
    figures.append(plot_curves({"mean D(x), real": (ep, h["d_real"]), "mean D(G(z)), generated": (ep, h["d_fake"])},
                               os.path.join(out, "discriminator_outputs.png"),
                               "Question F: discriminator outputs per epoch (train)", ylabel="D output"))

    print(f"[question F] Parzen window: {args.parzen_samples} samples, sigma from {len(args.sigmas)} values on "
          f"{len(x_val)} held-out images, log-likelihood of {len(x_test)} test images", flush=True)
    # z from the run's seed alone (not from the model's training stream): the same samples on every run
    samples = from_signed(model.generate(args.parzen_samples, seed=args.seed + 1))
    with Timer() as parzen_timer:
        sigma, sigma_scores = select_parzen_sigma(samples, x_val, args.sigmas)
        _, ll = parzen_log_likelihood(samples, x_test, sigma, return_per_point=True)
    figures.append(plot_curves({"validation": (list(sigma_scores), list(sigma_scores.values()))},
                               os.path.join(out, "parzen_sigma.png"),
                               "Question F: Parzen sigma selection (mean log-likelihood of held-out images)",
                               xlabel="sigma", ylabel="mean log-likelihood (nats)"))
    row = {"generator_loss": args.generator_loss, "k": args.k, "m": args.batch_size, "epochs": args.epochs,
           "train_images": len(x_train), "train_minutes": round(minutes, 1), "parzen_sigma": sigma,
           "parzen_test_ll": float(ll.mean()), "parzen_test_ll_stderr": float(ll.std(ddof=1) / np.sqrt(len(ll)))
           if len(ll) > 1 else float("nan"), "parzen_seconds": round(parzen_timer.seconds, 1)}
    print(f"[question F] Parzen log-likelihood {row['parzen_test_ll']:.1f} +- {row['parzen_test_ll_stderr']:.1f} "
          f"nats (sigma {sigma:g})", flush=True)
    if sigma in (min(args.sigmas), max(args.sigmas)):
        print(f"[question F] warning: the chosen sigma {sigma:g} is at the edge of the grid; widen --sigmas",
              flush=True)
    if args.classifier_epochs:
        clf = train_classifier(x_train, y_train, args.classifier_epochs, args.seed, args.strategy)
        p_test = clf.predict(x_test, batch_size=1000, verbose=0)
        real = classifier_score(p_test)
        fake = classifier_score(clf.predict(samples, batch_size=1000, verbose=0))
        row.update({"classifier_test_accuracy": float(np.mean(p_test.argmax(1) == y_test)),
                    "classifier_score_generated": fake["score"], "classifier_score_test": real["score"],
                    "confidence_generated": fake["confidence"], "confidence_test": real["confidence"],
                    "class_entropy_generated": fake["class_entropy"]})
        print(f"[question F] classifier score {fake['score']:.2f} on generated digits, {real['score']:.2f} on "
              f"test digits (classifier test accuracy {row['classifier_test_accuracy']:.4f})", flush=True)
    table = write_table([row], os.path.join(out, "quality"), caption=(
        f"Question F: quality of the GAN after {args.epochs} epochs. parzen_test_ll: mean over {len(x_test)} MNIST "
        f"test images of the log-likelihood (nats) under a Gaussian Parzen window on {args.parzen_samples} "
        "generated samples (Goodfellow et al. 2014's estimator; they report 225 +- 2 for their GAN), sigma chosen on "
        f"{len(x_val)} held-out training images; stderr = std / sqrt(N). classifier_score: exp(mean KL(p(y|x) || "
        "p(y))) from an MLP digit classifier (1 to 10; the same number on real test digits for reference)."))
    sigma_table = write_table([{"sigma": s, "validation_ll": v} for s, v in sigma_scores.items()],
                              os.path.join(out, "parzen_sigma"),
                              caption="Question F: mean Parzen log-likelihood (nats) of the held-out images per sigma.")

    exports = {}
    if not args.no_export:
        exports["gan"] = str(export_model(model, os.path.join(args.saved_models_dir, "question_f_gan"), metadata={
            "question": "F", "value_range": "signed", "latent_dim": args.latent_dim, "noise": "z ~ N(0, I)",
            "output": "MNIST-like digit, 784 values in [-1, 1]: (x + 1) / 2 gives [0, 1], reshape to 28 x 28",
            "discriminate_input": "784 values in [-1, 1] (uint8 images are scaled by keras-ae)",
            "label_convention": "discriminate(x) = probability that x is a real image (real = 1)",
            "k": args.k, "generator_loss": args.generator_loss, "epochs": args.epochs, "seed": args.seed,
            "parzen_test_ll": row["parzen_test_ll"], "parzen_sigma": sigma,
        }))
    print(f"[question F] figures in {out}, table {table[0]}", flush=True)
    return {"rows": [row], "figures": figures, "tables": [*table, *sigma_table], "saved_models": exports,
            "history": h, "sigma_scores": sigma_scores}


def main(argv=None) -> int:
    return question_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
