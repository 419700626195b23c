"""The networks of the benchmark (:data:`NETWORKS`): for each question's main network, the
question's own parser (its defaults are both sides' settings), its Keras model built and compiled
as the question does, the same network in PyTorch (:mod:`benchmarks.torch_networks`), how its
step's FLOPs are counted (:mod:`benchmarks.flops`), and its training images."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmarks.flops import (adversarial_passes, autoencoder_passes, dense_widths, flops_per_image, gan_passes,
                              keras_parameter_count)
from benchmarks.torch_networks import (A_VARIANT, torch_a, torch_b, torch_d, torch_e, torch_f, torch_h,
                                       torch_j)


@dataclass(frozen=True)
class NetworkSpec:
    """One network of the benchmark.

    ``parser`` makes the question's own argument parser: its defaults are the settings of both
    sides. ``data`` is (dataset, value range, flatten). ``keras_model(args, minibatch_size)``
    builds and compiles the model as the question does;
    ``torch_model(args)`` writes the same network and step in PyTorch; ``passes(model, args)``
    counts the step's FLOPs. ``rows_per_step(args)``: rows of one training step (F: k x m);
    ``drop_remainder``: whether the question drops the last, short batch of an epoch (F).
    keras_ae's training path builds the model with ``minibatch_size=rows_per_step`` and feeds it
    the question's ``--fused-steps`` steps per compiled call (:func:`benchmarks.timing.fit_dataset`).
    """

    name: str
    title: str
    parser: Callable[[], argparse.ArgumentParser]
    data: tuple[str, str, bool]
    keras_model: Callable
    torch_model: Callable
    passes: Callable = autoencoder_passes
    rows_per_step: Callable = field(default=lambda args: args.batch_size)
    drop_remainder: bool = False

    def defaults(self) -> argparse.Namespace:
        return self.parser().parse_args([])


# --- A: question A's MSE / Xavier network, 784-256-128-256-784, sigmoid everywhere

def _parser_a():
    from keras_ae.questions import question_a

    return question_a.build_parser()


def _keras_a(args, minibatch_size=None):
    from keras_ae.questions import question_a as q

    variant = q.VARIANTS[A_VARIANT]
    return q.compile_model(q.build_model(variant, args.normal_stddev, minibatch_size), variant, args.learning_rate)


# --- B: question B's sheet network 784-128-64-32-16-8 / 8-8-32-64-128-784, ReLU, tanh output,
# MSE, Adam with decoupled weight decay 1e-5

def _parser_b():
    from keras_ae.questions import question_b

    return question_b.build_parser()


def _keras_b(args, minibatch_size=None):
    from keras_ae.questions import question_b, question_bc

    model = question_b.build_model(args.encoder_units, args.decoder_units, minibatch_size=minibatch_size)
    return question_bc.compile_model(model, args.learning_rate, args.weight_decay)


# --- D: question D's convolutional autoencoder on MNIST-M (28x28x3)

def _parser_d():
    from keras_ae.questions import question_d

    return question_d.build_parser()


def _keras_d(args, minibatch_size=None):
    from keras_ae.questions import question_d as q

    return q.compile_model(q.build_model(args, minibatch_size), args)


# --- E: question E's adversarial autoencoder, three phases per batch

def _parser_e():
    from keras_ae.questions import question_e

    return question_e.build_parser()


def _keras_e(args, minibatch_size=None):
    from keras_ae.questions import question_e as q

    return q.compile_model(q.build_model(args, minibatch_size), args)


# --- F: question F's GAN, k discriminator updates and one generator update per iteration

def _parser_f():
    from keras_ae.questions import question_f

    return question_f.build_parser()


def _keras_f(args, minibatch_size=None):
    from keras_ae.questions import question_f as q

    model = q.build_model(args.latent_dim, dropout=args.dropout, k=args.k, generator_loss=args.generator_loss,
                          seed=args.seed, minibatch_size=minibatch_size)
    return q.compile_model(model, args.learning_rate, args.beta_1, q.jit_compile(args))


# --- H: question H's deep autoencoder 784-1000-500-250-30-250-500-1000-784, sigmoid units,
# linear code, cross-entropy

def _parser_h():
    from keras_ae.questions import question_h

    return question_h.build_parser()


def _keras_h(args, minibatch_size=None):
    from keras_ae.questions import question_h as q

    return q.compile_model(q.build_model(args.units, args.code_dim, args.hidden_activation, minibatch_size),
                           args.learning_rate, q.jit_compile(args))


# --- J: question J's VAE, encoder 784-512-256 -> (mean, log-variance) of 2, decoder 2-256-512-784

def _parser_j():
    from keras_ae.questions import question_j

    return question_j.build_parser()


def _keras_j(args, minibatch_size=None):
    from keras_ae.questions import question_j as q

    return q.build_model(args, args.latent_dim, minibatch_size)


NETWORKS = {
    spec.name: spec
    for spec in (
        NetworkSpec("A", "question A's MLP autoencoder 784-256-128-256-784 (sigmoid, MSE)", _parser_a,
                    ("mnist", "unit", True), _keras_a, torch_a),
        NetworkSpec("B", "question B's autoencoder 784-128-64-32-16-8-8-32-64-128-784 (ReLU, tanh, MSE)", _parser_b,
                    ("fashion_mnist", "signed", True), _keras_b, torch_b),
        NetworkSpec("D", "question D's convolutional autoencoder on MNIST-M 28x28x3", _parser_d,
                    ("mnist_m", "unit", False), _keras_d, torch_d),
        NetworkSpec("E", "question E's adversarial autoencoder (three phases per batch)", _parser_e,
                    ("mnist", "unit", True), _keras_e, torch_e, passes=adversarial_passes),
        NetworkSpec("F", "question F's GAN (k discriminator updates + 1 generator update)", _parser_f,
                    ("mnist", "signed", True), _keras_f, torch_f, passes=gan_passes,
                    rows_per_step=lambda args: args.k * args.batch_size, drop_remainder=True),
        NetworkSpec("H", "question H's deep autoencoder 784-1000-500-250-30-250-500-1000-784", _parser_h,
                    ("mnist", "unit", True), _keras_h, torch_h),
        NetworkSpec("J", "question J's VAE 784-512-256-(2+2) / 2-256-512-784", _parser_j,
                    ("mnist", "unit", True), _keras_j, torch_j),
    )
}


def load_images(spec: NetworkSpec, args, data_dir=None, train_limit: int | None = None) -> np.ndarray:
    """The question's training images, scaled as it trains on them, float32, held in memory."""
    from keras_ae.data import flatten, load_dataset, load_mnist_m, scale

    dataset, value_range, flat = spec.data
    if dataset == "mnist_m":
        images = load_mnist_m("train", data_dir, seed=args.mnist_m_seed).images
    else:
        images = load_dataset(dataset, "train", data_dir).images
    images = scale(images[:train_limit], value_range)
    return flatten(images) if flat else images


def epoch_images(spec: NetworkSpec, args, n: int) -> int:
    """Images one epoch trains on (F drops the last, short batch)."""
    rows = spec.rows_per_step(args)
    return n - n % rows if spec.drop_remainder else n


def network_facts(spec: NetworkSpec, args=None) -> dict:
    """What is counted without timing: FLOPs per image, both sides' parameter counts (equal: the
    same network), the rows of a step, and the Dense widths for the matrix-product timing."""
    import keras

    args = args or spec.defaults()
    keras.utils.set_random_seed(0)
    model = spec.keras_model(args)
    facts = {"title": spec.title, "rows_per_step": spec.rows_per_step(args),
             "flops_per_image": flops_per_image(spec.passes(model, args)),
             "keras_parameters": keras_parameter_count(model), "torch_parameters": None,
             "dense_widths": dense_widths(model) if spec.passes is autoencoder_passes else None}
    try:
        facts["torch_parameters"] = spec.torch_model(args).parameter_count
    except RuntimeError:  # PyTorch not installed
        pass
    return facts
