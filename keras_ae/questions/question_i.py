"""Question I: unsupervised pretraining (004 slides, "Autoencoders - Pretraining").

An MLP autoencoder (encoder 784-256-64, decoder 64-256-784, ReLU, sigmoid output, cross-entropy
loss) is trained on the MNIST training images without their labels. A classifier is the
pretrained encoder (a copy of the functional sub-model) under a small softmax head; it is trained
on a few labelled images (100 and 1,000 by default, balanced over the classes) and compared
with the same architecture trained from random weights on the same labels. Two more uses of
the pretrained encoder are reported: kept frozen (a linear probe of the code: the head alone,
fitted to the optimum of an L2-penalised logistic regression on the codes, the penalty chosen on
the validation split) and "LP-FT" (probe first, then fine-tune everything; Kumar et al. 2022).
Each runs with a Glorot-initialised and with a zero-initialised head, because for the methods
trained by Adam the head's initialisation turns out to matter as much as the pretraining (the
probe, fitted to its optimum, ends the same from either). Every (labels, seed) pair uses the
same labelled subset, head initialisation and batch order for all methods. Reports mean and
standard deviation of the test accuracy over the seeds (all 10,000 test images), figures of
accuracy against labels, the pretraining figures, and SavedModels of the autoencoder and of a
fine-tuned classifier (endpoint ``classify``).

No choice looks at the test set. ``--validation-size`` training images (5,000 by default, drawn
by ``--seed``) are held out before anything trains: the autoencoder is not pretrained on them and
no labelled subset is drawn from them. Every classifier is scored on them, and the exported
classifier is the (head initialisation, use of the pretrained encoder) with the best mean
*validation* accuracy at the largest label count; its test accuracy is reported as the outcome
only (table ``classifier_selection``).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import numpy as np

from keras_ae.questions.common import (data_options, EVALUATION_BATCH_SIZE, QuestionParser, Timer, activation_name,
                                      add_backup_argument, add_common_arguments, add_speed_arguments,
                                      distribution_strategy, fused_minibatch_size, jit_compile, positive_float,
                                      positive_int, seed_everything, seed_int, steps_per_call,
                                      verbosity)
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick

METHODS = {
    "scratch": "random init, all layers trained",
    "pretrained": "pretrained encoder, fine-tuned",
    "frozen": "pretrained encoder frozen (linear probe at its optimum)",
    "lp_ft": "pretrained encoder, probe then fine-tune (LP-FT)",
}
PRETRAINED_METHODS = ("pretrained", "frozen", "lp_ft")
HEAD_NAMES = {"glorot": "Glorot-uniform initialised", "zeros": "zero-initialised"}
DEFAULT_VALIDATION_SIZE = 5000


def validation_split(num_rows: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indices ``(training, validation)`` of ``num_rows`` training images: ``size`` of
    them, drawn without replacement by ``seed``, are the validation split; the rest train."""
    from keras_ae.errors import ConfigError

    if not 1 <= size < num_rows:
        raise ConfigError(f"--validation-size {size} must leave some of the {num_rows} training images to train on")
    order = np.random.default_rng(seed).permutation(num_rows)
    return np.sort(order[size:]), np.sort(order[:size])


def select_classifier(rows: list[dict], labels: int) -> tuple[dict, list[dict]]:
    """``(chosen row, candidate rows)`` of the classifier to export: the candidates are the uses of
    the pretrained encoder (every method when none ran) at ``labels`` labelled images; the chosen
    one has the best ``mean_validation_accuracy``, the first in table order on a tie. Test
    accuracies play no part."""
    candidates = [r for r in rows if r["labels"] == labels and r["method"] in PRETRAINED_METHODS] or \
        [r for r in rows if r["labels"] == labels]
    return max(candidates, key=lambda r: r["mean_validation_accuracy"]), candidates


def stratified_subset(labels: np.ndarray, count: int, seed: int, num_classes: int = 10) -> np.ndarray:
    """Indices of ``count`` examples, as equal as possible per class (the first ``count % classes``
    classes get one more), drawn without replacement by ``seed``; sorted."""
    from keras_ae.errors import ConfigError

    labels = np.asarray(labels)
    if not 1 <= count <= len(labels):
        raise ConfigError(f"cannot draw {count} labelled examples from {len(labels)}")
    rng = np.random.default_rng(seed)
    per_class = [count // num_classes + (c < count % num_classes) for c in range(num_classes)]
    chosen = []
    for c, k in enumerate(per_class):
        pool = np.flatnonzero(labels == c)
        if len(pool) < k:
            raise ConfigError(f"class {c} has {len(pool)} examples, {k} are needed")
        chosen.append(rng.choice(pool, size=k, replace=False))
    return np.sort(np.concatenate(chosen))


def build_encoder(units, activation: str = "relu", seed: int | None = None, input_dim: int = 784):
    import keras

    from keras_ae.models import build_mlp

    return build_mlp(input_dim, units, [activation] * len(units), name="encoder",
                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed))


def build_pretraining_autoencoder(units, activation: str = "relu", seed: int | None = None, input_dim: int = 784,
                                  minibatch_size: int | None = None):
    """Encoder ``input_dim-units``; decoder mirrors it and ends in ``input_dim`` sigmoid units."""
    import keras

    from keras_ae.models import Autoencoder, build_mlp

    hidden = list(reversed(units[:-1]))
    decoder = build_mlp(units[-1], [*hidden, input_dim], [activation] * len(hidden) + ["sigmoid"], name="decoder",
                        kernel_initializer=keras.initializers.GlorotUniform(seed=None if seed is None else seed + 1),
                        input_name="z")
    return Autoencoder(build_encoder(units, activation, seed, input_dim), decoder, name="question_i_autoencoder",
                       minibatch_size=minibatch_size)


def build_classifier(method: str, pretrained_encoder, units, activation: str, seed: int,
                     head_init: str = "glorot", minibatch_size: int | None = None):
    """The classifier of ``method``: ``scratch`` builds a fresh encoder of the same shape; the
    others copy the pretrained encoder (the copy starts from its weights; ``frozen`` and the
    first phase of ``lp_ft`` keep it fixed)."""
    from keras_ae.models import build_encoder_classifier

    if method == "scratch":
        encoder, copy = build_encoder(units, activation, seed=10_000 + seed), False
    elif method in PRETRAINED_METHODS:
        encoder, copy = pretrained_encoder, True
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return build_encoder_classifier(encoder, 10, freeze_encoder=method in ("frozen", "lp_ft"), copy=copy,
                                    seed=seed, head_init=head_init, name=f"question_i_classifier_{method}",
                                    minibatch_size=minibatch_size)


PROBE_L2 = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
PROBE_MAX_ITERATIONS = 5000
PROBE_GRADIENT_TOLERANCE = 1e-6


@dataclass
class ProbeFit:
    """A softmax head fitted on fixed codes: ``kernel`` (code_dim, classes) and ``bias`` of the raw
    codes, the ``l2`` it was fitted with, its training ``loss`` (mean cross-entropy + l2/2 *
    |kernel|^2, the kernel of the standardised codes: :func:`fit_softmax_head`), the L-BFGS
    ``iterations``, whether it ``converged`` (largest gradient entry at most
    :data:`PROBE_GRADIENT_TOLERANCE`) and, once chosen, its ``validation_loss``."""

    kernel: np.ndarray
    bias: np.ndarray
    l2: float
    loss: float
    iterations: int
    converged: bool
    validation_loss: float = float("nan")


def _softmax_cross_entropy(kernel, bias, codes, labels) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of ``softmax(codes @ kernel + bias)`` and its gradient w.r.t. the logits."""
    logits = codes @ kernel + bias
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    grad = np.exp(log_p)
    grad[rows, labels] -= 1.0
    return float(-log_p[rows, labels].mean()), grad / len(labels)


def fit_softmax_head(codes, labels, l2: float, kernel, bias, max_iterations: int = PROBE_MAX_ITERATIONS) -> ProbeFit:
    """The softmax head ``codes @ kernel + bias`` minimising mean cross-entropy + ``l2``/2 *
    |kernel * scale|^2 on the fixed ``codes``, full batch by L-BFGS from ``kernel, bias``.

    It is fitted in float64 on the codes standardised per unit (centred; divided by the unit's
    standard deviation ``scale``, 1 for a unit that never changes): a logistic regression on
    standardised features whose kernel is penalised (the bias is not), mapped back to the raw
    codes. The objective is strictly convex in the kernel, so where it converges the fit does not
    depend on the start. Prints a warning when ``max_iterations`` stop it before the largest
    gradient entry is below :data:`PROBE_GRADIENT_TOLERANCE`."""
    from scipy.optimize import minimize

    codes, labels = np.asarray(codes, np.float64), np.asarray(labels, np.int64)
    mean, scale = codes.mean(axis=0), codes.std(axis=0)
    scale[scale < 1e-8] = 1.0
    z, shape = (codes - mean) / scale, np.shape(kernel)

    def objective(params):
        w, b = params[:-shape[1]].reshape(shape), params[-shape[1]:]
        loss, grad = _softmax_cross_entropy(w, b, z, labels)
        return loss + 0.5 * l2 * float(np.sum(w * w)), np.concatenate([(z.T @ grad + l2 * w).ravel(),
                                                                       grad.sum(axis=0)])

    kernel, bias = np.asarray(kernel, np.float64), np.asarray(bias, np.float64)  # the start, on standardised codes
    start = np.concatenate([(kernel * scale[:, None]).ravel(), bias + mean @ kernel])
    result = minimize(objective, start, jac=True, method="L-BFGS-B",
                      options={"maxiter": max_iterations, "maxfun": 2 * max_iterations, "ftol": 0.0,
                               "gtol": PROBE_GRADIENT_TOLERANCE / 10})
    loss, grad = objective(result.x)
    converged = float(np.abs(grad).max()) <= PROBE_GRADIENT_TOLERANCE
    if not converged:
        print(f"[question I] warning: the linear probe (l2 {l2:g}) stopped after {result.nit} L-BFGS iterations "
              f"with gradient {np.abs(grad).max():.2g} > {PROBE_GRADIENT_TOLERANCE:g}: not at its optimum", flush=True)
    w = result.x[:-shape[1]].reshape(shape) / scale[:, None]
    return ProbeFit(w, result.x[-shape[1]:] - mean @ w, l2, loss, int(result.nit), converged)


def fit_probe(clf, x, y, x_val, y_val, l2_grid=PROBE_L2, max_iterations: int = PROBE_MAX_ITERATIONS) -> ProbeFit:
    """Fit ``clf``'s softmax head (its encoder frozen) to the optimum of an L2-penalised logistic
    regression on the codes of the labelled ``x, y``, starting from the head's own weights, for
    every penalty of ``l2_grid``; keep the one with the lowest cross-entropy on the validation
    images ``x_val, y_val`` (never the test set) and load it into ``clf.head``."""
    kernel, bias = (np.asarray(w) for w in clf.head.get_weights())
    codes, val_codes = _codes(clf.encoder, x), _codes(clf.encoder, x_val)
    best = None
    for l2 in l2_grid:
        probe = fit_softmax_head(codes, y, l2, kernel, bias, max_iterations)
        probe.validation_loss = _softmax_cross_entropy(probe.kernel, probe.bias, val_codes, np.asarray(y_val))[0]
        if best is None or probe.validation_loss < best.validation_loss:
            best = probe
    if len(l2_grid) > 1 and best.l2 in (min(l2_grid), max(l2_grid)):
        print(f"[question I] note: the linear probe's l2 {best.l2:g} is at the end of the grid "
              f"({', '.join(f'{v:g}' for v in l2_grid)}); a wider one may fit better", flush=True)
    clf.head.set_weights([best.kernel.astype(kernel.dtype), best.bias.astype(bias.dtype)])
    return best


def _codes(encoder, x) -> np.ndarray:
    """The encoder's codes of ``x``, in batches of :data:`EVALUATION_BATCH_SIZE`, as float64."""
    return np.concatenate([np.asarray(encoder(x[i:i + EVALUATION_BATCH_SIZE], training=False), np.float64)
                           for i in range(0, len(x), EVALUATION_BATCH_SIZE)])


class FineTuner:
    """Trains question I's classifiers, one after another, on two compiled models that it reuses.

    Every classifier of a run has the same architecture; only its starting weights and which
    layers learn differ. Building, compiling and tracing (with XLA, compiling) a model per run
    took about as long as the run's 100 epochs, so the training happens in one of two *workers*
    built and compiled once: encoder trainable, or encoder frozen (the probe, and LP-FT's first
    phase). :meth:`fit` loads the classifier's weights into the worker, starts a fresh Adam (its
    state set back to zeros and its step count to 0: what a new ``Adam`` starts from), fits, and
    copies the trained weights back into the classifier; the updates are those of compiling and
    fitting the classifier itself (``tests/test_question_i.py`` checks it).

    ``strategy``: the ``--strategy`` the workers are built and compiled under; ``steps_per_batch``
    > 1 fuses that many minibatches of ``batch_size`` rows per compiled call (workers built with
    ``minibatch_size=batch_size``).
    """

    def __init__(self, units, activation: str, batch_size: int, learning_rate: float, strategy: str = "none",
                 steps_per_batch: int = 1, jit_compile: bool = False):
        self.units, self.activation = list(units), activation
        self.batch_size, self.learning_rate = batch_size, learning_rate
        self.strategy, self.steps_per_batch, self.jit_compile = strategy, steps_per_batch, jit_compile
        self._workers = {}

    def worker(self, frozen: bool):
        """The compiled model whose encoder is frozen (``frozen``) or trained with the head."""
        import keras

        from keras_ae.models import build_encoder_classifier

        if frozen not in self._workers:
            with distribution_strategy(self.strategy).scope():
                model = build_encoder_classifier(
                    build_encoder(self.units, self.activation), 10, freeze_encoder=frozen, copy=False,
                    head_init="zeros", name=f"question_i_classifier_{'frozen' if frozen else 'trained'}_encoder",
                    minibatch_size=self.batch_size if self.steps_per_batch > 1 else None)
                model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                              loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                              jit_compile=self.jit_compile)
            self._workers[frozen] = model
        return self._workers[frozen]

    def _load(self, worker, clf, fresh_optimizer: bool = False):
        if [tuple(w.shape) for w in worker.weights] != [tuple(w.shape) for w in clf.weights]:
            raise ValueError("the classifier's architecture differs from the fine-tuner's (--encoder-units)")
        worker.set_weights(clf.get_weights())
        if fresh_optimizer:  # a new Adam: zero moments, step 0, the same learning rate
            optimizer = worker.optimizer
            rate = float(np.asarray(optimizer.learning_rate))
            for v in optimizer.variables:
                v.assign(np.zeros(v.shape, v.dtype))
            optimizer.learning_rate = rate

    def fit(self, clf, method: str, x, y, epochs: int, seed: int) -> float:
        """Train ``clf`` (built by :func:`build_classifier` for ``method``) on the labelled
        ``x, y`` for ``epochs`` passes; ``lp_ft`` spends the first half of them on the head alone,
        then trains the encoder too with a fresh Adam. Returns the training accuracy of the last
        epoch. ``clf`` ends with the trained weights (and, after LP-FT, a trainable encoder).
        ``frozen`` is no Adam run: :func:`fit_probe` fits its head to the optimum."""
        from keras_ae.data import batches_per_epoch, make_dataset

        if method == "frozen":
            raise ValueError("the frozen encoder's head is fitted by fit_probe, not by the fine-tuner")
        phases = [epochs] if method != "lp_ft" else [max(1, epochs // 2), max(1, epochs - epochs // 2)]
        for i, n in enumerate(phases):
            worker = self.worker(frozen=method == "lp_ft" and i == 0)
            self._load(worker, clf, fresh_optimizer=True)
            # one iterator through all n epochs (repeat + steps_per_epoch): no new one per epoch
            history = worker.fit(make_dataset(x, y, batch_size=self.batch_size, seed=seed + i,
                                              steps_per_batch=self.steps_per_batch, repeat=True),
                                 epochs=n, steps_per_epoch=batches_per_epoch(len(x), self.batch_size,
                                                                             self.steps_per_batch),
                                 shuffle=False, verbose=0)
            clf.set_weights(worker.get_weights())
        if method == "lp_ft":
            clf.encoder.trainable = True
        return float(history.history["accuracy"][-1])

    def accuracy(self, clf, x, y) -> float:
        """``clf``'s accuracy on ``x, y``, evaluated by a compiled worker in batches of 1,000."""
        worker = self.worker(frozen=False)
        self._load(worker, clf)
        return float(worker.evaluate(x, y, batch_size=EVALUATION_BATCH_SIZE, verbose=0)[1])


QUICK_ARGS = ["--epochs", "1", "--train-limit", "5000", "--test-limit", "1000", "--labels", "100", "--seeds", "0",
              "--finetune-epochs", "5"]
CAPTIONS = {
    "pretraining_loss.png": "Reconstruction loss of the autoencoder during unsupervised pretraining.",
    "reconstructions.png": "Test digits and the pretrained autoencoder's reconstructions.",
    **{f"test_accuracy_{head}_head.png": f"Test accuracy against the number of labelled images, pretrained encoder "
                                         f"vs the same network from random weights, {name} softmax head (mean and "
                                         f"spread over seeds)." for head, name in HEAD_NAMES.items()},
}
REFERENCE_NOTE = "The slides describe the method only (no numbers)."


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run I", description=__doc__)
    parser.add_argument("--encoder-units", type=positive_int, nargs="+", default=[256, 64],
                        help="encoder layer sizes, the last is the code (default: 256 64)")
    parser.add_argument("--activation", type=activation_name, default="relu",
                        help="hidden and code activation (default: %(default)s)")
    parser.add_argument("--labels", type=positive_int, nargs="+", default=[100, 1000],
                        help="numbers of labelled training images, balanced over classes (default: 100 1000)")
    parser.add_argument("--seeds", type=seed_int, nargs="+", default=[0, 1, 2, 3, 4],
                        help="fine-tuning seeds: labelled subset, head init, batch order (default: 0 1 2 3 4)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
                        help="classifiers to compare (default: all: "
                        + "; ".join(f"{k}: {v}" for k, v in METHODS.items()) + ")")
    parser.add_argument("--head-inits", nargs="+", default=["glorot", "zeros"], choices=["glorot", "zeros"],
                        help="initialisations of the softmax head's kernel to run (default: both)")
    parser.add_argument("--finetune-epochs", type=positive_int, default=100,
                        help="epochs over the labelled images (default: %(default)s)")
    parser.add_argument("--finetune-batch-size", type=positive_int, default=32, help="default: %(default)s")
    parser.add_argument("--finetune-learning-rate", type=positive_float, default=1e-3,
                        help="Adam (default: %(default)s)")
    parser.add_argument("--probe-l2", type=positive_float, nargs="+", default=list(PROBE_L2),
                        help="frozen method: L2 penalties of the linear probe (a logistic regression on the "
                             "standardised codes, fitted to its optimum); the one with the lowest validation "
                             "cross-entropy is kept (default: %(default)s)")
    parser.add_argument("--pretrain-per-seed", action="store_true",
                        help="pretrain a new autoencoder for every seed (default: one, seeded by --seed)")
    parser.add_argument("--validation-size", type=positive_int, default=DEFAULT_VALIDATION_SIZE,
                        help="training images held out (drawn by --seed) from pretraining and from the labelled "
                             "subsets; they alone choose the exported classifier (default: %(default)s)")
    parser.add_argument("--num-images", type=positive_int, default=10, help="test digits in the reconstruction figure")
    add_speed_arguments(parser)
    add_backup_argument(parser)
    return add_common_arguments(parser, "question_i", epochs=20, batch_size=128, learning_rate=1e-3)


def _pretrain(args, x_train, x_test, seed: int, out: str):
    import keras

    from keras_ae.callbacks import ReconstructionFigure, resume_from, standard_callbacks
    from keras_ae.data import make_dataset
    from keras_ae.losses import get_loss

    seed_everything(seed)
    with distribution_strategy(args.strategy).scope():
        ae = build_pretraining_autoencoder(args.encoder_units, args.activation, seed=seed,
                                           minibatch_size=fused_minibatch_size(args))
        ae.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=get_loss("cross_entropy"),
                   metrics=[keras.metrics.MeanSquaredError(name="mse")], jit_compile=jit_compile(args))
    run_dir = os.path.join(out, f"pretraining_seed{seed}")
    recon = ReconstructionFigure(x_test[: args.num_images], os.path.join(run_dir, "reconstructions.png"),
                                 "Question I: pretraining autoencoder, test digits over reconstructions")
    callbacks = standard_callbacks(run_dir, backup=args) + [recon]
    start = resume_from(callbacks, ae, args.epochs)
    with Timer(callbacks) as timer:
        history = ae.fit(make_dataset(x_train, batch_size=args.batch_size, **data_options(args, start, seed)),
                         initial_epoch=start, epochs=args.epochs,
                         validation_data=(x_test, x_test), validation_batch_size=EVALUATION_BATCH_SIZE, shuffle=False,
                         callbacks=callbacks, verbose=verbosity(args))
    return ae, history.history, timer.seconds, recon.paths[-1]


@dataclass
class Splits:
    """Question I's images (flattened, in [0, 1]) and labels: ``train`` (pretraining and the labelled
    subsets), ``val`` (held out from both; it alone chooses anything) and ``test``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_data(args: argparse.Namespace) -> Splits:
    """MNIST split into training, validation (``--validation-size`` training images drawn by
    ``--seed``) and test images; refuses label counts the training images cannot supply."""
    from keras_ae.data import flatten, load_dataset, to_unit
    from keras_ae.errors import ConfigError

    train = load_dataset("mnist", "train", args.data_dir)
    test = load_dataset("mnist", "test", args.data_dir)
    # the validation split is held out of everything that trains: pretraining and the labelled subsets
    train_rows, val_rows = validation_split(len(train.images), args.validation_size, args.seed)
    train_rows = train_rows[: args.train_limit]
    data = Splits(x_train=flatten(to_unit(train.images[train_rows])), y_train=np.asarray(train.labels[train_rows]),
                  x_val=flatten(to_unit(train.images[val_rows])), y_val=np.asarray(train.labels[val_rows]),
                  x_test=flatten(to_unit(test.images[: args.test_limit])),
                  y_test=np.asarray(test.labels[: args.test_limit]))
    for n in args.labels:  # refuse impossible label counts before any training
        try:
            stratified_subset(data.y_train, n, 0)
        except ConfigError as exc:
            raise ConfigError(f"--labels {n}: {exc} (training images left after --train-limit and "
                              f"--validation-size: {len(data.y_train)})") from None
    return data


def _architecture(args) -> str:
    return "784-" + "-".join(map(str, args.encoder_units))


def pretrain(args: argparse.Namespace, data: Splits, out: str) -> tuple[dict, list[dict], list[str]]:
    """``(autoencoders by seed, pretraining rows, figures)``: one autoencoder seeded by ``--seed``
    (or one per fine-tuning seed with ``--pretrain-per-seed``) trained on the unlabelled images."""
    from keras_ae.plots import plot_curves

    arch = _architecture(args)
    pretrained, figures, pretrain_rows = {}, [], []
    pretrain_seeds = args.seeds if args.pretrain_per_seed else [args.seed]
    for s in pretrain_seeds:
        print(f"[question I] pretraining autoencoder {arch} (seed {s}) on {len(data.x_train)} unlabelled MNIST "
              f"training images for {args.epochs} epochs", flush=True)
        ae, hist, seconds, recon_fig = _pretrain(args, data.x_train, data.x_test, s, out)
        pretrained[s] = ae
        pretrain_rows.append({"seed": s, "train_cross_entropy": float(hist["loss"][-1]),
                              "test_cross_entropy": float(hist["val_loss"][-1]),
                              "test_mse": float(hist["val_mse"][-1]), "seconds": round(seconds, 1)})
        print(f"[question I] pretrained in {seconds:.1f} s: test cross-entropy {hist['val_loss'][-1]:.2f} nats/image, "
              f"test MSE {hist['val_mse'][-1]:.5f}", flush=True)
        if s == pretrain_seeds[0]:
            epochs = list(range(1, len(hist["loss"]) + 1))
            figures += [recon_fig, plot_curves(
                {"training": (epochs, hist["loss"]), "test": (epochs, hist["val_loss"])},
                os.path.join(out, "pretraining_loss.png"),
                f"Question I: autoencoder {arch} pretraining on unlabelled MNIST",
                ylabel="cross-entropy (nats per image)")]
    return pretrained, pretrain_rows, figures


def _configs(args) -> list[tuple[str, str]]:
    """The (head initialisation, method) pairs of a run, in table order."""
    return [(h, m) for h in args.head_inits for m in args.methods]


def fine_tune(args: argparse.Namespace, data: Splits, pretrained: dict) -> tuple[list[dict], dict, float]:
    """``(runs, kept classifiers, seconds)``: every (labels, seed, head, method) classifier trained
    on its labelled subset and scored on the validation and test images. Kept: the first seed's
    classifiers at the largest label count, by (head, method)."""
    runs, keep = [], {}
    # fine-tuning minibatches of --finetune-batch-size, --fused-steps of them per compiled call
    tuner = FineTuner(args.encoder_units, args.activation, args.finetune_batch_size, args.finetune_learning_rate,
                      args.strategy, steps_per_call(args), jit_compile(args))
    configs = _configs(args)
    total = len(args.labels) * len(args.seeds) * len(configs)
    with Timer() as timer:
        for n in args.labels:
            for seed in args.seeds:
                idx = stratified_subset(data.y_train, n, seed)
                ae = pretrained[seed if args.pretrain_per_seed else args.seed]
                for head_init, method in configs:
                    seed_everything(seed)
                    clf = build_classifier(method, ae.encoder, args.encoder_units, args.activation, seed, head_init)
                    if method != "scratch" and not all(
                            np.array_equal(a, b) for a, b in zip(clf.encoder.get_weights(), ae.encoder.get_weights())):
                        raise RuntimeError("the classifier's encoder does not start from the pretrained weights")
                    probe = _train(tuner, clf, method, data, idx, seed, args)
                    val_acc = tuner.accuracy(clf, data.x_val, data.y_val)
                    acc = tuner.accuracy(clf, data.x_test, data.y_test)
                    runs.append({"labels": n, "seed": seed, "head_init": head_init, "method": method,
                                 "validation_accuracy": float(val_acc), "test_accuracy": float(acc),
                                 "train_accuracy": probe.pop("train_accuracy"), **probe})
                    if n == max(args.labels) and seed == args.seeds[0]:
                        keep[(head_init, method)] = clf
                    l2 = f" (l2 {probe['probe_l2']:g})" if method == "frozen" else ""
                    print(f"[question I] {len(runs)}/{total}: {n} labels, seed {seed}, {head_init} head, "
                          f"{METHODS[method]}{l2}: validation accuracy {val_acc:.4f}, test accuracy {acc:.4f}",
                          flush=True)
    return runs, keep, timer.seconds


def _train(tuner: FineTuner, clf, method: str, data: Splits, idx, seed: int, args) -> dict:
    """Train ``clf`` on the labelled images ``idx``: the ``frozen`` encoder's head by
    :func:`fit_probe` (penalty chosen on the validation images), the others by ``tuner``. Returns
    the run's ``train_accuracy`` and the probe's columns (empty for the other methods)."""
    x, y = data.x_train[idx], data.y_train[idx]
    if method != "frozen":
        return {"train_accuracy": tuner.fit(clf, method, x, y, args.finetune_epochs, seed),
                "probe_l2": "", "probe_training_loss": ""}
    probe = fit_probe(clf, x, y, data.x_val, data.y_val, args.probe_l2)
    return {"train_accuracy": tuner.accuracy(clf, x, y), "probe_l2": probe.l2,
            "probe_training_loss": round(probe.loss, 6)}


def summarise(runs: list[dict], labels, configs) -> list[dict]:
    """One row per (labels, head, method) in table order: the mean validation accuracy and the
    mean, sample standard deviation, min and max of the test accuracy over the seeds' ``runs``."""
    rows = []
    for n in labels:
        for head_init, method in configs:
            sel = [r for r in runs if (r["labels"], r["head_init"], r["method"]) == (n, head_init, method)]
            accs = np.array([r["test_accuracy"] for r in sel])
            rows.append({"labels": n, "head_init": head_init, "method": method, "description": METHODS[method],
                         "mean_validation_accuracy": round(float(np.mean([r["validation_accuracy"] for r in sel])), 4),
                         "mean_test_accuracy": round(float(accs.mean()), 4),
                         "std_test_accuracy": round(float(accs.std(ddof=1)) if len(accs) > 1 else 0.0, 4),
                         "min": round(float(accs.min()), 4), "max": round(float(accs.max()), 4),
                         "seeds": len(accs)})
    return rows


def choose_export(rows: list[dict], runs: list[dict], labels: int, seed: int, validation_images: int) -> dict:
    """The classifier to export, chosen on the validation split (its test accuracy is only the
    outcome): ``best`` and ``candidates`` (rows of :func:`select_classifier` at ``labels``), the
    exported ``seed``'s run and the ``selection`` record."""
    best, candidates = select_classifier(rows, labels)
    chosen_run = next(r for r in runs if (r["labels"], r["seed"], r["head_init"], r["method"])
                      == (labels, seed, best["head_init"], best["method"]))
    selection = {"chosen_by": f"mean validation accuracy on {validation_images} held-out training images",
                 "validation_images": validation_images, "labels": labels, "head_init": best["head_init"],
                 "method": best["method"], "mean_validation_accuracy": best["mean_validation_accuracy"],
                 "mean_test_accuracy": best["mean_test_accuracy"], "exported_seed": seed,
                 "exported_validation_accuracy": chosen_run["validation_accuracy"],
                 "exported_test_accuracy": chosen_run["test_accuracy"]}
    return {"best": best, "candidates": candidates, "run": chosen_run, "selection": selection}


def _accuracy_caption(args, data: Splits) -> str:
    return (f"Question I: MNIST test accuracy ({len(data.x_test)} test images) of a classifier = encoder "
            f"{_architecture(args)} + softmax head (kernel initialised Glorot-uniform or zeros), trained on a balanced "
            f"subset of labelled training images for {args.finetune_epochs} epochs (Adam "
            f"{args.finetune_learning_rate:g}, batch {args.finetune_batch_size}; LP-FT: half of them with the encoder "
            f"frozen; frozen: the encoder fixed and the head fitted to the optimum of a logistic regression on the "
            f"codes, its L2 penalty chosen from {', '.join(f'{v:g}' for v in args.probe_l2)} by the validation "
            f"cross-entropy); mean and sample standard deviation over seeds {', '.join(map(str, args.seeds))}. The "
            f"autoencoder was pretrained on {len(data.x_train)} training images without labels for {args.epochs} "
            f"epochs. mean_validation_accuracy: the same classifiers on {len(data.x_val)} training images held out "
            f"(by seed {args.seed}) from pretraining and from the labelled subsets; only these images choose anything.")


def _write_selection(args, choice: dict, validation_images: int, out: str) -> tuple[str, str]:
    from keras_ae.reporting import write_table

    best, run_ = choice["best"], choice["run"]
    n, seed = choice["selection"]["labels"], choice["selection"]["exported_seed"]
    return write_table(
        [{"labels": r["labels"], "head_init": r["head_init"], "method": r["method"], "description": r["description"],
          "mean_validation_accuracy": r["mean_validation_accuracy"], "mean_test_accuracy": r["mean_test_accuracy"],
          "chosen": "yes" if r is best else ""} for r in choice["candidates"]],
        os.path.join(out, "classifier_selection"), caption=(
            f"Question I: the exported classifier ({n} labels, seed {seed}) is the use of the pretrained encoder "
            f"and head initialisation with the best mean accuracy on the validation split: {validation_images} MNIST "
            f"training images held out (by seed {args.seed}) from pretraining and from every labelled subset. "
            f"Chosen: {METHODS[best['method']]}, {HEAD_NAMES[best['head_init']]} head, mean validation accuracy "
            f"{best['mean_validation_accuracy']:.4f}. The test accuracy (mean {best['mean_test_accuracy']:.4f}; "
            f"the exported seed-{seed} model: {run_['test_accuracy']:.4f}) is the outcome, not the criterion."))


def write_outputs(args: argparse.Namespace, data: Splits, rows: list[dict], runs: list[dict],
                  pretrain_rows: list[dict], choice: dict, out: str) -> tuple[list[str], list[str]]:
    """Write the tables (test accuracy, every run, pretraining, the export's selection) and the
    accuracy-against-labels figures (one per head initialisation); return ``(tables, figures)``:
    the figures in the order they go before the pretraining's."""
    from keras_ae.plots import plot_curves
    from keras_ae.reporting import write_table

    table = write_table(rows, os.path.join(out, "test_accuracy"), caption=_accuracy_caption(args, data))
    runs_table = write_table(runs, os.path.join(out, "test_accuracy_per_run"),
                             caption="Question I: every fine-tuning run (validation and test accuracy).")
    write_table(pretrain_rows, os.path.join(out, "pretraining"), caption="Question I: pretraining autoencoder(s).")
    figures = []
    for head_init in args.head_inits:
        series = {}
        for method in args.methods:
            sel = [r for r in rows if (r["head_init"], r["method"]) == (head_init, method)]
            series[METHODS[method]] = ([r["labels"] for r in sel], [r["mean_test_accuracy"] for r in sel],
                                       [r["std_test_accuracy"] for r in sel])
        figures.insert(0, plot_curves(
            series, os.path.join(out, f"test_accuracy_{head_init}_head.png"),
            f"Question I: pretraining vs random init, {HEAD_NAMES[head_init]} head\n"
            f"(MNIST test accuracy, mean +- std over {len(args.seeds)} seed{'' if len(args.seeds) == 1 else 's'})",
            xlabel="labelled training images (log scale)", ylabel="test accuracy", logx=True))
    selection_table = _write_selection(args, choice, len(data.x_val), out)
    return [*table, *runs_table, *selection_table], figures


def export_models(args: argparse.Namespace, autoencoder, classifier, choice: dict, test_images: int) -> dict:
    """SavedModels of the (first) pretrained autoencoder and of the chosen classifier; ``{}`` with
    ``--no-export``."""
    from keras_ae.export import export_model

    if args.no_export:
        return {}
    sel, run_ = choice["selection"], choice["run"]
    unit = {"question": "I", "value_range": "unit", "input": "MNIST digit flattened to 784 values in [0, 1]"}
    return {
        "autoencoder": str(export_model(autoencoder, os.path.join(args.saved_models_dir, "question_i_autoencoder"),
                                        metadata={**unit, "encoder_units": args.encoder_units,
                                                  "activation": args.activation, "epochs": args.epochs,
                                                  "seed": (args.seeds if args.pretrain_per_seed else [args.seed])[0]})),
        "classifier": str(export_model(classifier, os.path.join(args.saved_models_dir, "question_i_classifier"),
                                       metadata={
            **unit, "output": "classify: probabilities of the digits 0..9; predict_class: the digit",
            "method": sel["method"], "description": METHODS[sel["method"]], "head_init": sel["head_init"],
            "labels": sel["labels"], "seed": sel["exported_seed"], "finetune_epochs": args.finetune_epochs,
            "pretraining_epochs": args.epochs, "chosen_by": sel["chosen_by"],
            "validation_accuracy": run_["validation_accuracy"],
            "mean_validation_accuracy": sel["mean_validation_accuracy"],
            "test_accuracy": run_["test_accuracy"], "test_images": test_images})),
    }


def run(args: argparse.Namespace) -> RunResult:
    out = args.output_dir
    data = load_data(args)
    os.makedirs(out, exist_ok=True)
    pretrained, pretrain_rows, pretrain_figures = pretrain(args, data, out)
    runs, keep, seconds = fine_tune(args, data, pretrained)
    rows = summarise(runs, args.labels, _configs(args))
    choice = choose_export(rows, runs, max(args.labels), args.seeds[0], len(data.x_val))
    tables, figures = write_outputs(args, data, rows, runs, pretrain_rows, choice, out)
    sel = choice["selection"]
    exports = export_models(args, next(iter(pretrained.values())), keep[(sel["head_init"], sel["method"])], choice,
                            len(data.x_test))
    print(f"[question I] {len(runs)} fine-tuning runs in {seconds:.1f} s; table {tables[0]}", flush=True)
    for r in rows:
        print(f"[question I] {r['labels']} labels, {r['head_init']} head, {r['description']}: test "
              f"{r['mean_test_accuracy']:.4f} +- {r['std_test_accuracy']:.4f} (validation "
              f"{r['mean_validation_accuracy']:.4f})", flush=True)
    print(f"[question I] chosen on the validation split ({len(data.x_val)} held-out training images): "
          f"{METHODS[sel['method']]}, {sel['head_init']} head, {sel['labels']} labels (mean validation accuracy "
          f"{sel['mean_validation_accuracy']:.4f}; test accuracy {sel['mean_test_accuracy']:.4f})", flush=True)
    return RunResult.of(QUESTION, figures=[*figures, *pretrain_figures], tables=tables, models=exports,
                        details={"rows": rows, "runs": runs, "pretraining": pretrain_rows, "selection": sel,
                                 "finetune_seconds": seconds})


def _best_by_validation(rows, labels: str, pretrained: bool):
    """The (method, head) of one side with the best mean *validation* accuracy at ``labels`` labels."""
    side = [r for r in rows if r["labels"] == labels and (r["method"] in PRETRAINED_METHODS) == pretrained
            and number(r.get("mean_validation_accuracy")) is not None]
    return max(side, key=lambda r: number(r["mean_validation_accuracy"]), default=None)


def _pretraining_helps(tables) -> Answer | None:
    """Per label count: the best pretrained method against the best from scratch, both chosen on the
    validation split, compared on the test set seed by seed (the same labelled images per seed)."""
    from scipy.stats import t as student_t

    summary, runs = tables.get("test_accuracy", []), tables.get("test_accuracy_per_run", [])
    parts, evidence = [], []
    for labels in sorted({r["labels"] for r in summary}, key=int):
        best = {side: _best_by_validation(summary, labels, side) for side in (True, False)}
        if None in best.values():
            continue
        acc = {side: {r["seed"]: number(r["test_accuracy"]) for r in runs if r["labels"] == labels
                      and r["method"] == best[side]["method"] and r["head_init"] == best[side]["head_init"]}
               for side in (True, False)}
        seeds = sorted(set(acc[True]) & set(acc[False]))
        if not seeds:
            continue
        diffs = [acc[True][k] - acc[False][k] for k in seeds]
        mean = sum(diffs) / len(diffs)
        if len(diffs) > 1:
            se = (sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs)) ** 0.5
            half = float(student_t.ppf(0.975, len(diffs) - 1)) * se
            verdict = "helps" if mean - half > 0 else "hurts" if mean + half < 0 else "cannot be told from no effect"
            interval = f"95 % interval {mean - half:+.3f} to {mean + half:+.3f} over {len(diffs)} seeds"
        else:
            verdict, interval = "cannot be told from no effect (one seed)", "one seed"
        parts.append(f"with {labels} labels pretraining {verdict}")
        evidence.append(f"{labels} labels: {METHODS[best[True]['method']]} ({best[True]['head_init']} head) "
                        f"{number(best[True]['mean_test_accuracy']):.4f} against {METHODS[best[False]['method']]} "
                        f"({best[False]['head_init']} head) {number(best[False]['mean_test_accuracy']):.4f}, "
                        f"paired difference {mean:+.4f} ({interval})")
    if not parts:
        return None
    text = "; ".join(parts)
    return Answer(text[0].upper() + text[1:] + " (the best of each side chosen on held-out training images, "
                  "compared on the test set).", "; ".join(evidence) + ".")


ASKS = (Ask("004 slides 'Autoencoders - Pretraining'",
            "Does unsupervised pretraining help a classifier trained on few labels?", _pretraining_helps),)


def headline(tables) -> dict:
    """``<labels>_labels_<head>_<method>_test_accuracy``: the mean over seeds."""
    out = {}
    for row in tables.get("test_accuracy", []):
        name = f"{row['labels']}_labels_{row['head_init']}_{row['method']}_test_accuracy"
        out.update(pick(row, {name: "mean_test_accuracy"}))
    return out


QUESTION = Question(
    id="I", title="unsupervised pretraining on MNIST, fine-tuning with 100 / 1,000 labels",
    sheet="004 slides 'Autoencoders - Pretraining'", build_parser=build_parser, run=run,
    quick_args=tuple(QUICK_ARGS),
    doc_figures=("test_accuracy_zeros_head.png", "test_accuracy_glorot_head.png", "pretraining_loss.png",
                 "reconstructions.png"),
    captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note=REFERENCE_NOTE, headline=headline,
    readme_metrics=("100_labels_glorot_pretrained_test_accuracy", "100_labels_glorot_scratch_test_accuracy"),
    asks=ASKS,
    metric_labels={f"{n}_labels_{head}_{method}_test_accuracy":
                   f"{n} labels, {HEAD_NAMES[head].split()[0].lower()} head, {METHODS[method]}: test accuracy"
                   for n in (100, 1000) for head in HEAD_NAMES for method in METHODS},
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
