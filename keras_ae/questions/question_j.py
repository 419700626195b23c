"""Question J: a variational autoencoder that shows what the written answers (docs/answers.md) say.

Trains a VAE on MNIST (2-D latent space by default, so it can be drawn), then:
- plots the test set's posterior means coloured by digit, the decoded 2-D latent grid and
  decoded samples of the prior;
- measures the reparameterization trick against the score-function (REINFORCE) estimator: the
  variance of per-sample estimates of d/d(mu) E_q[log p(x|z)] on test images (answer ii);
- trains VAEs with latent sizes below and above the input's 784 dimensions and counts active
  latent units (Burda et al. 2015: Cov_x(E_q[z]) > 0.01) (answer iii).
Exports the VAE with encode / decode / reconstruct / generate.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from keras_ae.questions.common import (data_options, EVALUATION_BATCH_SIZE, QuestionParser, Timer, add_backup_argument,
                                      add_common_arguments, add_speed_arguments, distribution_strategy,
                                      fused_minibatch_size, int_at_least, jit_compile, positive_int,
                                      seed_everything, verbosity)
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick
from keras_ae.verdicts import difference


QUICK_ARGS = ["--epochs", "2", "--train-limit", "4000", "--test-limit", "1000", "--latent-sweep", "2", "1000",
              "--sweep-epochs", "1", "--gradient-samples", "200"]
CAPTIONS = {
    "elbo.png": "Negative ELBO (reconstruction cross-entropy + KL, nats per image) on the training and test sets, "
                "and the KL term, over epochs.",
    "latent_space.png": "Posterior means E[z|x] of 5,000 MNIST test digits in the 2-D latent space, coloured by "
                        "digit: the KL term keeps the codes near the N(0, I) prior while classes form regions.",
    "manifold.png": "Decoder outputs on a 15x15 grid of latent points at the prior's 5%..95% quantiles: "
                    "every point of the prior decodes to a digit-like image (answer i).",
    "samples.png": "Decoded samples z ~ N(0, I): the VAE is a generative model.",
}
REFERENCE_NOTE = ("Kingma & Welling (2013), Fig. 4: 2-D latent manifold of MNIST; their MLP VAEs reach a lower "
             "bound around -100 nats with larger latent spaces.")


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run J", description=__doc__)
    parser.add_argument("--latent-dim", type=positive_int, default=2, help="latent size of the main VAE (default: 2)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[512, 256], help="encoder hidden layers")
    parser.add_argument("--latent-sweep", type=positive_int, nargs="*", default=[2, 20, 1000],
                        help="latent sizes for the active-units experiment (empty: skip)")
    parser.add_argument("--sweep-epochs", type=positive_int, default=10, help="epochs of each sweep model")
    parser.add_argument("--gradient-samples", type=int_at_least(2), default=1000,
                        help="Monte-Carlo samples per image in the gradient-variance experiment (at least 2)")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    return add_common_arguments(parser, "question_j", epochs=30, batch_size=128, learning_rate=1e-3)


def gradient_estimator_variance(model, x: np.ndarray, samples: int = 1000, seed: int = 0) -> dict:
    """Variance of three unbiased estimators of d/d(mu) E_{q(z|x)}[f(z)], f = log p(x|z), per latent unit.

    score function: f(z) * (z - mu) / sigma^2; the same with a baseline: (f(z) - b) * (z - mu) / sigma^2,
    b the running mean of f over the samples drawn before (the first sample, which has none, is left
    out); reparameterization: grad_z f(z) at z = mu + sigma * eps. All are unbiased, so they differ
    only in variance: a ratio of variances is how many samples of one estimator buy the precision
    of one sample of the other. Without a baseline the score function's variance is dominated by
    f^2 (log-likelihoods near -100 nats), so the baseline is the fair comparison.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    mean, log_var = (np.asarray(a) for a in model.encoder(x, training=False))
    sigma = np.exp(0.5 * log_var)
    var_sf, var_bl, var_rp = [], [], []
    for i in range(len(x)):
        eps = rng.standard_normal((samples, mean.shape[1])).astype(np.float32)
        z = tf.constant(mean[i] + sigma[i] * eps)
        target = tf.constant(np.repeat(x[i : i + 1], samples, axis=0))
        with tf.GradientTape() as tape:
            tape.watch(z)
            p = tf.clip_by_value(model.decoder(z, training=False), 1e-7, 1 - 1e-7)
            log_lik = tf.reduce_sum(target * tf.math.log(p) + (1 - target) * tf.math.log(1 - p), axis=1)
        reparam = tape.gradient(log_lik, z).numpy()  # dz/dmu = 1
        f = log_lik.numpy().astype(np.float64)
        score = f[:, None] * eps / sigma[i]  # (z - mu) / sigma^2 = eps / sigma
        baseline = np.cumsum(f)[:-1] / np.arange(1, samples)  # mean of f over the samples before each one
        with_baseline = (f[1:] - baseline)[:, None] * eps[1:] / sigma[i]
        var_sf.append(score.var(axis=0).mean())
        var_bl.append(with_baseline.var(axis=0).mean())
        var_rp.append(reparam.var(axis=0).mean())
    return {
        "score_function_variance": float(np.mean(var_sf)),
        "baseline_score_function_variance": float(np.mean(var_bl)),
        "reparameterization_variance": float(np.mean(var_rp)),
        "variance_ratio": float(np.mean(var_sf) / np.mean(var_rp)),
        "baseline_variance_ratio": float(np.mean(var_bl) / np.mean(var_rp)),
    }


def active_units(model, x: np.ndarray, threshold: float = 0.01) -> int:
    """Latent units whose posterior mean varies across inputs: Cov_x(E_q[z_k]) > threshold."""
    mean = np.asarray(model.encoder.predict(x, batch_size=1024, verbose=0)[0])
    return int(np.sum(mean.var(axis=0) > threshold))


def neg_elbo_std_error(model, x: np.ndarray, seed: int, batch_size: int = 1024) -> float:
    """The standard error over the images ``x`` of the per-image -ELBO (nats): its standard
    deviation / sqrt(N), each image's z drawn once from a stream of its own (``seed``)."""
    import keras

    stream = keras.random.SeedGenerator(seed)
    per_image = []
    for start in range(0, len(x), batch_size):
        reconstruction, kl = model.elbo_terms(x[start:start + batch_size], seed_generator=stream)
        per_image.append(keras.ops.convert_to_numpy(reconstruction + model.beta * kl))
    values = np.concatenate(per_image).astype(np.float64)
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def build_model(args, latent_dim: int, minibatch_size: int | None = None):
    """The VAE of ``latent_dim``, compiled as J trains it (Adam, XLA unless ``--no-xla``)."""
    import keras

    from keras_ae.models.variational import build_vae

    model = build_vae(784, args.hidden, latent_dim, seed=args.seed, name=f"question_j_vae_{latent_dim}d",
                      minibatch_size=minibatch_size)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), jit_compile=jit_compile(args))
    return model


def train_vae(args, x_train, x_test, latent_dim: int, epochs: int, callbacks=()):
    from keras_ae.callbacks import resume_from
    from keras_ae.data import make_dataset

    seed_everything(args.seed)
    with distribution_strategy(args.strategy).scope():
        model = build_model(args, latent_dim, fused_minibatch_size(args))
    start = resume_from(callbacks, model, epochs)
    history = model.fit(make_dataset(x_train, batch_size=args.batch_size, **data_options(args, start)),
                        initial_epoch=start, epochs=epochs,
                        validation_data=(x_test, x_test), validation_batch_size=EVALUATION_BATCH_SIZE,
                        callbacks=list(callbacks), shuffle=False,
                        verbose=verbosity(args))
    return model, history


def write_gradient_variance(grads: dict, args: argparse.Namespace) -> list:
    """``gradient_variance.md``/``.csv``: the three estimators' variances and ratios (answer ii)."""
    from keras_ae.reporting import write_table

    k = args.gradient_samples
    estimators = (("score function (REINFORCE)", "score_function_variance"),
                  ("score function with a baseline (running mean of f)", "baseline_score_function_variance"),
                  ("reparameterization", "reparameterization_variance"))
    return list(write_table([{"estimator": name, "variance": grads[key],
                                f"std_error_with_{k}_samples": (grads[key] / k) ** 0.5} for name, key in estimators],
                              os.path.join(args.output_dir, "gradient_variance"), caption=(
        f"Question J: variance of single-sample estimates of d/d(mu) E_q[log p(x|z)] over "
        f"{args.gradient_samples} samples, averaged over 50 test digits and {args.latent_dim} latent units. "
        f"Ratio to the reparameterization trick's: score function {grads['variance_ratio']:.1f}, score function "
        f"with a baseline {grads['baseline_variance_ratio']:.1f}.")))


def run(args: argparse.Namespace) -> RunResult:
    from scipy.stats import norm

    from keras_ae.callbacks import standard_callbacks
    from keras_ae.data import MNIST_CLASSES, flatten, load_dataset, to_unit
    from keras_ae.export import export_model
    from keras_ae.plots import plot_curves, plot_embedding, plot_tiles
    from keras_ae.reporting import write_table

    out = args.output_dir
    os.makedirs(out, exist_ok=True)
    train, test = load_dataset("mnist", "train", args.data_dir), load_dataset("mnist", "test", args.data_dir)
    x_train, x_test = flatten(to_unit(train.images[: args.train_limit])), flatten(to_unit(test.images[: args.test_limit]))
    y_test = test.labels[: args.test_limit]

    print(f"[question J] VAE 784-{'-'.join(map(str, args.hidden))}-{args.latent_dim}, {args.epochs} epochs", flush=True)
    callbacks = standard_callbacks(os.path.join(out, "vae"), tensorboard=args.tensorboard, backup=args)
    with Timer(callbacks) as timer:
        model, history = train_vae(args, x_train, x_test, args.latent_dim, args.epochs, callbacks)
    h = history.history
    epochs = list(range(1, len(h["loss"]) + 1))
    figures = [plot_curves({"train -ELBO": (epochs, h["loss"]), "test -ELBO": (epochs, h["val_loss"]),
                            "train KL": (epochs, h["kl_loss"])}, os.path.join(out, "elbo.png"),
                           "Question J: VAE loss (negative ELBO, nats per image)", ylabel="nats per image")]
    final = model.evaluate(x_test, x_test, batch_size=1024, verbose=0, return_dict=True)
    rows = [{"model": model.name, "latent_dim": args.latent_dim, "epochs": args.epochs,
             "test_neg_elbo": final["loss"], "test_reconstruction": final["reconstruction_loss"],
             "test_kl": final["kl_loss"], "active_units": active_units(model, x_test),
             "train_seconds": round(timer.seconds, 1),
             "test_neg_elbo_std_error": neg_elbo_std_error(model, x_test, args.seed + 3)}]

    mean = np.asarray(model.encoder.predict(x_test, batch_size=1024, verbose=0)[0])
    if args.latent_dim == 2:
        figures.append(plot_embedding(mean[:5000], y_test[:5000], MNIST_CLASSES, os.path.join(out, "latent_space.png"),
                                      "Question J: posterior means of MNIST test digits (2-D VAE)",
                                      xlabel="z1 (posterior mean)", ylabel="z2 (posterior mean)"))
        n = 15
        ticks = norm.ppf(np.linspace(0.05, 0.95, n))  # equal prior mass between rows/columns
        grid = np.array([[z1, z2] for z2 in ticks[::-1] for z1 in ticks], np.float32)
        figures.append(plot_tiles(model.decoder.predict(grid, verbose=0), (n, n), os.path.join(out, "manifold.png"),
                                  "Question J: decoded 2-D latent grid (prior quantiles 5%..95%)",
                                  xlabel="z1", ylabel="z2", xticklabels=[f"{t:.1f}".replace("-0.0", "0.0") for t in ticks],
                                  yticklabels=[f"{t:.1f}".replace("-0.0", "0.0") for t in ticks[::-1]]))
    z = np.random.default_rng(args.seed).standard_normal((100, args.latent_dim)).astype(np.float32)
    figures.append(plot_tiles(model.decoder.predict(z, verbose=0), (10, 10), os.path.join(out, "samples.png"),
                              "Question J: decoded samples of the prior N(0, I)"))

    print("[question J] gradient variance: score function vs reparameterization", flush=True)
    grads = gradient_estimator_variance(model, x_test[:50], args.gradient_samples, seed=args.seed)
    tables = write_gradient_variance(grads, args)

    for latent in args.latent_sweep:
        print(f"[question J] latent-size sweep: {latent} dimensions, {args.sweep_epochs} epochs", flush=True)
        with Timer() as t:
            sweep_model, _ = train_vae(args, x_train, x_test, latent, args.sweep_epochs)
        res = sweep_model.evaluate(x_test, x_test, batch_size=1024, verbose=0, return_dict=True)
        rows.append({"model": sweep_model.name, "latent_dim": latent, "epochs": args.sweep_epochs,
                     "test_neg_elbo": res["loss"], "test_reconstruction": res["reconstruction_loss"],
                     "test_kl": res["kl_loss"], "active_units": active_units(sweep_model, x_test),
                     "train_seconds": round(t.seconds, 1),
                     "test_neg_elbo_std_error": neg_elbo_std_error(sweep_model, x_test, args.seed + 3)})
    tables += write_table(rows, os.path.join(out, "vae_results"), caption=(
        "Question J: VAEs on MNIST. test_neg_elbo = reconstruction cross-entropy + KL (nats per test "
        "image; lower is better); test_neg_elbo_std_error: its standard error over the test images (the "
        "per-image -ELBO with one draw of z each). active_units: latent units with Cov_x(E_q[z]) > 0.01."))
    exports = {}
    if not args.no_export:
        exports["vae"] = str(export_model(model, os.path.join(args.saved_models_dir, "question_j_vae"), metadata={
            "question": "J", "value_range": "unit", "latent_dim": args.latent_dim, "epochs": args.epochs,
            "input": "MNIST digit flattened to 784 values in [0, 1]; generate takes z ~ N(0, I)"}))
    print(f"[question J] -ELBO {final['loss']:.2f} nats, gradient variance ratio {grads['variance_ratio']:.1f} "
          f"({grads['baseline_variance_ratio']:.1f} with a baseline)", flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=tables, models=exports,
                        details={"rows": rows, "gradients": grads})


def _variance_answer(tables) -> Answer | None:
    variances = {str(r.get("estimator", "")).split(" (")[0]: number(r.get("variance"))
                 for r in tables.get("gradient_variance", [])}
    plain, base, rep = (variances.get(k) for k in ("score function", "score function with a baseline",
                                                    "reparameterization"))
    if not (plain and rep):
        return None
    evidence = f"variance per latent unit: score function {plain:.4g}, reparameterization {rep:.4g}"
    if not base:
        return Answer(f"The reparameterization trick's gradient has {plain / rep:.3g} times less variance than the "
                      "score function's (without a baseline, which overstates the gain).", evidence + ".")
    verdict = (f"it has {base / rep:.3g} times less variance than the score function with a running-mean baseline "
               if base > rep else f"the score function with a running-mean baseline has {rep / base:.3g} times less "
               "variance than the reparameterization trick here, ")
    return Answer(f"Against the fair comparison, {verdict}and {plain / rep:.3g} times less than the plain score "
                  "function, whose variance is dominated by f^2 (log-likelihoods of about -100 nats).",
                  f"{evidence}, score function with a baseline {base:.4g} (single-sample estimates of "
                  "d/d(mu) E_q[log p(x|z)], 50 test digits, the sample count in the table).")


def _large_latent_answer(tables) -> Answer | None:
    rows = [r for r in tables.get("vae_results", []) if number(r.get("latent_dim")) is not None]
    large = [r for r in rows if number(r["latent_dim"]) > 784]
    if not large:
        return None
    big = large[-1]
    peers = [r for r in rows if r is not big and r.get("epochs") == big.get("epochs") and number(r["latent_dim"]) <= 784]
    if not peers:
        return None
    best = min(peers, key=lambda r: number(r["test_neg_elbo"]))
    d_big, d_best = int(number(big["latent_dim"])), int(number(best["latent_dim"]))
    se_big, se_best = number(big.get("test_neg_elbo_std_error")), number(best.get("test_neg_elbo_std_error"))
    if se_big is None or se_best is None:
        return None  # a run before the standard errors: no uncertainty, no verdict
    d = difference(number(big["test_neg_elbo"]), se_big, number(best["test_neg_elbo"]), se_best)
    gap = abs(d.difference)
    verdict = {"higher": f"buys nothing here: the {d_big}-d VAE's bound is {gap:.1f} nats worse than the {d_best}-d one's",
               "lower": f"helps here: the {d_big}-d VAE's bound is {gap:.1f} nats better than the {d_best}-d one's",
               "tie": f"makes no measurable difference here: the {d_big}-d and {d_best}-d VAEs' bounds differ by "
                      f"{gap:.1f} nats, within the uncertainty"}[d.verdict]
    kl_big, kl_best = number(big["test_kl"]), number(best["test_kl"])
    same_order = kl_best > 0 and 0.5 < kl_big / kl_best < 2
    return Answer(f"A latent space larger than the input {verdict} after the same {big['epochs']} epoch"
                  f"{'' if str(big['epochs']) == '1' else 's'}; its KL term "
                  f"({kl_big:.1f} nats) is {'of the same order as' if same_order else 'far from'} the "
                  f"{d_best}-d one's ({kl_best:.1f}): the KL cost bounds what the code holds, not its dimension.",
                  f"-ELBO on the test digits {number(big['test_neg_elbo']):.1f} ({d_big}-d) against "
                  f"{number(best['test_neg_elbo']):.1f} ({d_best}-d), nats per image, one seed each; {d.text('.3g')} "
                  "(standard errors over the test images, conservative for the same images); active units "
                  f"{big['active_units']} of {d_big} and {best['active_units']} of {d_best} (posterior-mean variance "
                  "above 0.01, after a short training).")


ASKS = (
    Ask("003 problem 2 (ii)", "How much does the reparameterization trick lower the gradient's variance?",
        _variance_answer),
    Ask("003 problem 2 (iii)", "What happens when the latent space is larger than the input?", _large_latent_answer),
)


def headline(tables) -> dict:
    """``test_neg_elbo`` (nats per test image), ``gradient_variance_ratio`` (score function / reparameterization)
    and ``gradient_variance_ratio_baseline`` (the score function with a running-mean baseline / reparameterization)."""
    out = {}
    rows = tables.get("vae_results", [])
    if rows:
        out.update(pick(rows[0], {"test_neg_elbo": "test_neg_elbo"}))
    variances = {str(r.get("estimator", "")).split(" (")[0]: number(r.get("variance"))
                 for r in tables.get("gradient_variance", [])}
    reparameterization = variances.get("reparameterization")
    for name, metric in (("score function", "gradient_variance_ratio"),
                         ("score function with a baseline", "gradient_variance_ratio_baseline")):
        if variances.get(name) and reparameterization:
            out[metric] = variances[name] / reparameterization
    return out


QUESTION = Question(
    id="J", title="variational autoencoder backing the written answers (docs/answers.md)",
    sheet="001 question 1; 003 problems 1-2", build_parser=build_parser, run=run, quick_args=tuple(QUICK_ARGS),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0], reference_note=REFERENCE_NOTE,
    headline=headline, readme_metrics=("test_neg_elbo",), asks=ASKS,
    metric_labels={"test_neg_elbo": "VAE: -ELBO of the test digits (nats per image)",
                   "gradient_variance_ratio": "gradient variance, score function / reparameterization",
                   "gradient_variance_ratio_baseline": "gradient variance, score function with a baseline / "
                                                       "reparameterization"},
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
