"""Training-throughput benchmark: keras_ae's training path against a plain PyTorch loop.

For every question's main network (:data:`NETWORKS`: A, B, D, E, F, H and J) it measures, in one
process, one after the other, steady-state images per second (epochs after a warm-up epoch,
median) of

- **keras_ae's training path**, the model the question builds (the question's own builder,
  compile settings and defaults: batch size, optimizer, learning rate, loss, read from the
  question's own parser), compiled as the question compiles it (XLA unless the question's
  default is ``--no-xla``), fed by the in-memory ``tf.data`` pipeline
  (:func:`keras_ae.data.make_dataset`), with the question's ``--fused-steps`` training steps
  fused into one compiled call;
- the **identical network and step in a plain PyTorch loop** (``pip install -e ".[bench]"``): the
  same layers, activations, loss, optimizer and hyper-parameters, the same batch, the data in
  memory, a shuffled index per epoch, ``torch.set_num_threads`` at the machine's core count; for
  E the three phases (reconstruction, discriminator, generator), each with its own Adam; for F
  the k discriminator updates and the generator update;

and prints ``ratio <net> <keras_ae images/s / PyTorch images/s>`` per network. From an exact count
of a training step's multiply-adds (:class:`Pass`, :func:`layer_macs`) it also prints the FLOP
rate keras_ae achieves, against the machine's attainable float32 peak measured in the same run
as a large matrix multiply.

Optional extras: Keras configurations one change at a time (:data:`KERAS_CONFIGS`: ``fit`` on
numpy arrays, ``tf.data``, XLA, ``steps_per_execution``, fused steps, and a ceiling: the compiled
step on batches cut in advance), and, for the networks that are one chain of Dense layers (A, B,
H), the step's matrix products alone timed in XLA, TensorFlow's oneDNN kernels and PyTorch.

An "image" is one training image consumed: F's rate counts real images (k minibatches of m per
iteration), E's counts the images of its batches (each goes through all three phases).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# The targets of issue 14: keras_ae at least this many times the PyTorch loop's images/s on every
# network, and at least this fraction of the measured peak on the networks named.
TARGET_RATIO = 1.5
TARGET_PEAK_FRACTION = {"H": 0.5}


# ---------------------------------------------------------------------------------------------
# FLOP counting


@dataclass(frozen=True)
class Pass:
    """One pass of a training step through a chain of layers, counted per image of the rate.

    ``macs``: forward multiply-adds per example of each layer, input to output (:func:`layer_macs`);
    ``examples``: examples that go through the chain per image of the rate (2 for a discriminator
    that sees a real and a fake batch, 1/k for F's generator update); ``backward``: whether the
    pass is differentiated at all; ``weights``: whether the layers' weight gradients are needed
    (the optimizer of this phase updates them); ``to_input``: whether the gradient flows on to the
    chain's input (to a trainable network below it). Without it the first layer's input gradient
    is never computed.
    """

    macs: tuple[int, ...]
    examples: float = 1.0
    backward: bool = True
    weights: bool = True
    to_input: bool = False

    def __post_init__(self):
        if self.backward and not (self.weights or self.to_input):
            raise ValueError("a backward pass needs weight gradients or a gradient to its input")

    @property
    def flops(self) -> float:
        """2 FLOPs per multiply-add of the forward pass, the weight gradients (one product per
        layer, as many multiply-adds as its forward product) and the input gradients (the same
        again, for every layer whose input needs a gradient). Element-wise work (activations,
        losses, dropout, the reparameterization's sampling) and the optimizer's update are left
        out: they grow with a layer's width, not with its multiply-adds."""
        forward = sum(self.macs)
        if not self.backward:
            return 2.0 * self.examples * forward
        weights = forward if self.weights else 0
        inputs = forward if self.to_input else forward - (self.macs[0] if self.macs else 0)
        return 2.0 * self.examples * (forward + weights + inputs)


def flops_per_image(passes) -> float:
    """FLOPs of a training step per image of the rate: the sum over its passes."""
    return float(sum(p.flops for p in passes))


def layer_macs(model) -> tuple[int, ...]:
    """Forward multiply-adds per example of each Dense, Conv2D and Conv2DTranspose layer of a
    built functional ``model`` (nested models included), in the model's layer order.

    Dense: the kernel's size (inputs x units). Conv2D: output height x width x the kernel's size
    (k x k x input channels x filters). Conv2DTranspose: *input* height x width x the kernel's
    size (every input pixel scatters a k x k x filters patch). Positions in the zero padding of
    "same" convolutions count, as in the usual convention. Any other layer with weights is refused.
    """
    import keras

    macs = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            macs.extend(layer_macs(layer))
        elif isinstance(layer, keras.layers.Dense):
            if len(layer.input.shape) != 2:
                raise ValueError(f"{layer.name}: Dense on a {len(layer.input.shape)}-D input is not counted")
            macs.append(int(np.prod(layer.kernel.shape)))
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            h, w = layer.input.shape[1:3]
            macs.append(int(h * w * np.prod(layer.kernel.shape)))
        elif isinstance(layer, keras.layers.Conv2D):
            h, w = layer.output.shape[1:3]
            macs.append(int(h * w * np.prod(layer.kernel.shape)))
        elif layer.weights:
            raise ValueError(f"{layer.name}: no FLOP count for {type(layer).__name__} layers")
    return tuple(macs)


def autoencoder_passes(model, args=None) -> list[Pass]:
    """Encoder then decoder, every weight trained (A, B, D, H; J's VAE, whose encoder ends in its
    two heads, mean and log-variance, both differentiated)."""
    return [Pass(layer_macs(model.encoder) + layer_macs(model.decoder))]


def adversarial_passes(model, args=None) -> list[Pass]:
    """E's three phases per image: (a) encoder + decoder trained on the reconstruction; (b) the
    encoder's codes (forward only), the discriminator trained on them and on as many prior
    samples; (c) the encoder trained through the discriminator (gradients through its layers,
    none for its weights)."""
    enc, dec, disc = (layer_macs(m) for m in (model.encoder, model.decoder, model.discriminator))
    return [Pass(enc + dec),
            Pass(enc, backward=False), Pass(disc, examples=2),
            Pass(enc), Pass(disc, weights=False, to_input=True)]


def gan_passes(model, args=None) -> list[Pass]:
    """F per real image: each of the k discriminator updates generates as many fakes (generator
    forward only) and trains the discriminator on real and fake; the one generator update per k
    real minibatches trains the generator through the discriminator (no weight gradients for it)."""
    g, d = layer_macs(model.generator), layer_macs(model.discriminator)
    k = model.d_steps
    return [Pass(g, backward=False), Pass(d, examples=2),
            Pass(g, examples=1 / k), Pass(d, examples=1 / k, weights=False, to_input=True)]


def dense_widths(model) -> tuple[int, ...] | None:
    """The widths of an autoencoder that is one chain of Dense layers (input to output), else None."""
    import keras

    layers = [layer for m in (model.encoder, model.decoder) for layer in m.layers if layer.weights]
    if not layers or not all(isinstance(layer, keras.layers.Dense) for layer in layers):
        return None
    widths = [int(layers[0].kernel.shape[0])] + [int(layer.kernel.shape[1]) for layer in layers]
    if any(int(a.kernel.shape[1]) != int(b.kernel.shape[0]) for a, b in zip(layers[:-1], layers[1:])):
        return None
    return tuple(widths)


# ---------------------------------------------------------------------------------------------
# The networks: the question's Keras model and the same network and step in PyTorch


@dataclass
class TorchNet:
    """The PyTorch side of a network: its modules (for the parameter count), ``step(batch)`` that
    makes one training step on a batch of ``rows_per_step`` rows, and ``layout`` that turns the
    images into PyTorch's layout (NCHW for convolutions)."""

    modules: list
    step: Callable
    layout: Callable | None = None

    @property
    def parameter_count(self) -> int:
        params = {id(p): p for m in self.modules for p in m.parameters()}
        return int(sum(p.numel() for p in params.values()))


def keras_parameter_count(model) -> int:
    """Trainable parameters of a Keras model, every variable once (GAN's logit model shares D's)."""
    variables = {id(v): v for v in model.trainable_weights}
    return int(sum(np.prod(v.shape) for v in variables.values()))


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
    the question's ``--fused-steps`` steps per compiled call (:func:`fit_dataset`).
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


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError('PyTorch is not installed: pip install -e ".[bench]" (torch==2.13.0 CPU)') from exc
    return torch


def _torch_mlp(widths, activations, dropout: float = 0.0):
    """Linear layers ``widths[i] -> widths[i + 1]``, each followed by its activation (None: linear)
    and, in the hidden layers, by ``dropout``."""
    torch = _torch()
    make = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
            "leaky_relu": lambda: torch.nn.LeakyReLU(0.2)}  # keras_ae's LeakyReLU slope (gan.py)
    if len(activations) != len(widths) - 1:
        raise ValueError(f"{len(widths) - 1} layers but {len(activations)} activations")
    layers = []
    for i, (a, b, act) in enumerate(zip(widths[:-1], widths[1:], activations)):
        layers.append(torch.nn.Linear(a, b))
        if act:
            layers.append(make[act]())
        if dropout and i < len(widths) - 2:
            layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers)


def _torch_adam(params, learning_rate: float, beta_1: float = 0.9, weight_decay: float = 0.0):
    """Keras' Adam in PyTorch: its epsilon (1e-7); Keras' ``weight_decay`` is decoupled, as AdamW's."""
    torch = _torch()
    if weight_decay:
        return torch.optim.AdamW(params, lr=learning_rate, betas=(beta_1, 0.999), eps=1e-7, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=learning_rate, betas=(beta_1, 0.999), eps=1e-7)


def _torch_loss(name: str):
    """keras_ae's losses (keras_ae/losses.py) in PyTorch: ``mse`` is a mean over all values;
    ``squared_error`` and ``cross_entropy`` sum over an image's values and average over the batch,
    ``cross_entropy`` from the output layer's logits (the network then ends without its sigmoid)."""
    torch = _torch()
    functional = torch.nn.functional
    losses = {
        "mse": functional.mse_loss,
        "squared_error": lambda out, x: (out - x).square().flatten(1).sum(1).mean(),
        "cross_entropy": lambda logits, x: functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        / len(x),
    }
    return losses[name]


def _torch_reconstruction(net, loss: str, optimizer) -> TorchNet:
    """A plain autoencoder's step: one update of every weight on ``loss(net(x), x)``."""
    loss_fn = _torch_loss(loss)

    def step(x):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(x), x).backward()
        optimizer.step()

    return TorchNet([net], step)


def _dense_output(activation: str, loss: str):
    """The PyTorch network's last activation: none where the loss takes logits."""
    return None if loss == "cross_entropy" else activation


# --- A: question A's MSE / Xavier network, 784-256-128-256-784, sigmoid everywhere

A_VARIANT = "mse_glorot"


def _parser_a():
    from keras_ae.questions import question_a

    return question_a.build_parser()


def _keras_a(args, minibatch_size=None):
    from keras_ae.questions import question_a as q

    variant = q.VARIANTS[A_VARIANT]
    return q.compile_model(q.build_model(variant, args.normal_stddev, minibatch_size), variant, args.learning_rate)


def _torch_a(args) -> TorchNet:
    from keras_ae.questions.question_a import VARIANTS

    variant = VARIANTS[A_VARIANT]
    widths = (784, *variant.encoder_units, *variant.decoder_units, 784)
    acts = ["sigmoid"] * (len(widths) - 2) + [_dense_output("sigmoid", variant.loss)]
    net = _torch_mlp(widths, acts)
    return _torch_reconstruction(net, variant.loss, _torch_adam(net.parameters(), args.learning_rate))


# --- B: question B's sheet network 784-128-64-32-16-8 / 8-8-32-64-128-784, ReLU, tanh output,
# MSE, Adam with decoupled weight decay 1e-5

def _parser_b():
    from keras_ae.questions import question_b

    return question_b.build_parser()


def _keras_b(args, minibatch_size=None):
    from keras_ae.questions import question_b, question_bc

    model = question_b.build_model(args.encoder_units, args.decoder_units, minibatch_size=minibatch_size)
    return question_bc.compile_model(model, args.learning_rate, args.weight_decay)


def _torch_b(args) -> TorchNet:
    widths = (784, *args.encoder_units, *args.decoder_units, 784)
    net = _torch_mlp(widths, ["relu"] * (len(widths) - 2) + ["tanh"])
    return _torch_reconstruction(net, "mse", _torch_adam(net.parameters(), args.learning_rate,
                                                         weight_decay=args.weight_decay))


# --- D: question D's convolutional autoencoder on MNIST-M (28x28x3)

def _parser_d():
    from keras_ae.questions import question_d

    return question_d.build_parser()


def _keras_d(args, minibatch_size=None):
    from keras_ae.questions import question_d as q

    return q.compile_model(q.build_model(args, minibatch_size), args)


def _torch_d(args) -> TorchNet:
    """Conv2d of stride 2 and a stride-1 code Conv2d; ConvTranspose2d back (output_padding 1 gives
    the doubled size of Keras' "same" padding); sigmoid output."""
    torch = _torch()
    nn = torch.nn
    k = args.kernel_size
    if k % 2 == 0:
        raise ValueError("the PyTorch version of D's network needs an odd kernel size")
    pad = k // 2
    layers, channels = [], 3
    for f in args.filters:
        layers += [nn.Conv2d(channels, f, k, stride=2, padding=pad), nn.ReLU()]
        channels = f
    layers.append(nn.Conv2d(channels, args.code_channels, k, stride=1, padding=pad))
    channels = args.code_channels
    for f in reversed(args.filters):
        layers += [nn.ConvTranspose2d(channels, f, k, stride=2, padding=pad, output_padding=1), nn.ReLU()]
        channels = f
    layers += [nn.ConvTranspose2d(channels, 3, k, stride=1, padding=pad), nn.Sigmoid()]
    net = nn.Sequential(*layers)
    result = _torch_reconstruction(net, args.loss, _torch_adam(net.parameters(), args.learning_rate))
    result.layout = lambda x: np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))  # NHWC -> NCHW
    return result


# --- E: question E's adversarial autoencoder, three phases per batch

def _parser_e():
    from keras_ae.questions import question_e

    return question_e.build_parser()


def _keras_e(args, minibatch_size=None):
    from keras_ae.questions import question_e as q

    return q.compile_model(q.build_model(args, minibatch_size), args)


def _torch_e(args) -> TorchNet:
    """Encoder 784-1000-1000-100 (linear code), decoder 100-1000-1000-784 (sigmoid), discriminator
    100-1000-1000-1 (logit); per batch (a) reconstruction, (b) discriminator on prior samples (real)
    and codes (fake), (c) encoder against the discriminator; three Adams as question E's."""
    torch = _torch()
    softplus = torch.nn.functional.softplus
    if args.generator_loss != "saturating":
        raise ValueError("the PyTorch version of E's step has the saturating generator loss (E's default)")
    hidden, disc = list(args.hidden_units), list(args.discriminator_units)
    enc = _torch_mlp((784, *hidden, args.code_dim), ["relu"] * len(hidden) + [None])
    dec_out = _dense_output("sigmoid", args.reconstruction_loss)
    dec = _torch_mlp((args.code_dim, *reversed(hidden), 784), ["relu"] * len(hidden) + [dec_out])
    dis = _torch_mlp((args.code_dim, *disc, 1), ["relu"] * len(disc) + [None])
    reconstruction_loss = _torch_loss(args.reconstruction_loss)
    opt_rec = _torch_adam([*enc.parameters(), *dec.parameters()], args.learning_rate)
    opt_dis = _torch_adam(dis.parameters(), args.adversarial_learning_rate, args.adversarial_beta1)
    opt_gen = _torch_adam(enc.parameters(), args.adversarial_learning_rate, args.adversarial_beta1)
    enc_params = list(enc.parameters())

    def step(x):
        opt_rec.zero_grad(set_to_none=True)  # (a)
        reconstruction_loss(dec(enc(x)), x).backward()
        opt_rec.step()
        with torch.no_grad():  # (b)
            z_fake = enc(x)
        z_real = torch.randn(len(x), args.code_dim) * args.prior_stddev
        opt_dis.zero_grad(set_to_none=True)
        (softplus(-dis(z_real)).mean() + softplus(dis(z_fake)).mean()).backward()
        opt_dis.step()
        opt_gen.zero_grad(set_to_none=True)  # (c): gradients for the encoder's weights only
        (-softplus(dis(enc(x))).mean()).backward(inputs=enc_params)
        opt_gen.step()

    return TorchNet([enc, dec, dis], step)


# --- F: question F's GAN, k discriminator updates and one generator update per iteration

def _parser_f():
    from keras_ae.questions import question_f

    return question_f.build_parser()


def _keras_f(args, minibatch_size=None):
    from keras_ae.questions import question_f as q

    model = q.build_model(args.latent_dim, dropout=args.dropout, k=args.k, generator_loss=args.generator_loss,
                          seed=args.seed, minibatch_size=minibatch_size)
    return q.compile_model(model, args.learning_rate, args.beta_1, q.jit_compile(args))


def _torch_f(args) -> TorchNet:
    """Generator 100-256-512-1024-784 (LeakyReLU 0.2, tanh), discriminator 784-1024-512-256-1
    (LeakyReLU 0.2 and dropout in the hidden layers, a logit); per batch of k x m real images k
    discriminator updates (each on m real images and m fresh fakes) and one generator update."""
    import inspect

    from keras_ae.questions.question_f import build_model

    torch = _torch()
    softplus = torch.nn.functional.softplus
    defaults = inspect.signature(build_model).parameters  # question F's layer sizes (no options for them)
    g_units, d_units = defaults["generator_units"].default, defaults["discriminator_units"].default
    gen = _torch_mlp((args.latent_dim, *g_units, 784), ["leaky_relu"] * len(g_units) + ["tanh"])
    dis = _torch_mlp((784, *d_units, 1), ["leaky_relu"] * len(d_units) + [None], dropout=args.dropout)
    opt_d = _torch_adam(dis.parameters(), args.learning_rate, args.beta_1)
    opt_g = _torch_adam(gen.parameters(), args.learning_rate, args.beta_1)
    gen_params = list(gen.parameters())
    k, m = args.k, args.batch_size

    def generator_objective(logits):
        if args.generator_loss == "minimax":
            return -softplus(logits).mean()
        return softplus(-logits).mean()

    def step(real):
        for i in range(k):
            with torch.no_grad():
                fake = gen(torch.randn(m, args.latent_dim))
            opt_d.zero_grad(set_to_none=True)
            (softplus(-dis(real[i * m:(i + 1) * m])).mean() + softplus(dis(fake)).mean()).backward()
            opt_d.step()
        opt_g.zero_grad(set_to_none=True)  # gradients for the generator's weights only
        generator_objective(dis(gen(torch.randn(m, args.latent_dim)))).backward(inputs=gen_params)
        opt_g.step()

    return TorchNet([gen, dis], step)


# --- H: question H's deep autoencoder 784-1000-500-250-30-250-500-1000-784, sigmoid units,
# linear code, cross-entropy

def _parser_h():
    from keras_ae.questions import question_h

    return question_h.build_parser()


def _keras_h(args, minibatch_size=None):
    from keras_ae.questions import question_h as q

    return q.compile_model(q.build_model(args.units, args.code_dim, args.hidden_activation, minibatch_size),
                           args.learning_rate, q.jit_compile(args))


def _torch_h(args) -> TorchNet:
    units, act = list(args.units), args.hidden_activation
    widths = (784, *units, args.code_dim, *reversed(units), 784)
    acts = [act] * len(units) + [None] + [act] * len(units) + [_dense_output("sigmoid", "cross_entropy")]
    net = _torch_mlp(widths, acts)
    return _torch_reconstruction(net, "cross_entropy", _torch_adam(net.parameters(), args.learning_rate))


# --- J: question J's VAE, encoder 784-512-256 -> (mean, log-variance) of 2, decoder 2-256-512-784

def _parser_j():
    from keras_ae.questions import question_j

    return question_j.build_parser()


def _keras_j(args, minibatch_size=None):
    from keras_ae.questions import question_j as q

    return q.build_model(args, args.latent_dim, minibatch_size)


def _torch_j(args) -> TorchNet:
    torch = _torch()
    hidden = list(args.hidden)
    trunk = _torch_mlp((784, *hidden), ["relu"] * len(hidden))
    mean_head = torch.nn.Linear(hidden[-1], args.latent_dim)
    log_var_head = torch.nn.Linear(hidden[-1], args.latent_dim)
    dec = _torch_mlp((args.latent_dim, *reversed(hidden), 784), ["relu"] * len(hidden) + [None])  # logits
    modules = [trunk, mean_head, log_var_head, dec]
    optimizer = _torch_adam([p for m in modules for p in m.parameters()], args.learning_rate)
    functional = torch.nn.functional

    def step(x):
        h = trunk(x)
        mean, log_var = mean_head(h), log_var_head(h)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        reconstruction = functional.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(1)
        kl = -0.5 * (1.0 + log_var - mean.square() - log_var.exp()).sum(1)
        optimizer.zero_grad(set_to_none=True)
        (reconstruction + kl).mean().backward()
        optimizer.step()

    return TorchNet(modules, step)


NETWORKS = {
    spec.name: spec
    for spec in (
        NetworkSpec("A", "question A's MLP autoencoder 784-256-128-256-784 (sigmoid, MSE)", _parser_a,
                    ("mnist", "unit", True), _keras_a, _torch_a),
        NetworkSpec("B", "question B's autoencoder 784-128-64-32-16-8-8-32-64-128-784 (ReLU, tanh, MSE)", _parser_b,
                    ("fashion_mnist", "signed", True), _keras_b, _torch_b),
        NetworkSpec("D", "question D's convolutional autoencoder on MNIST-M 28x28x3", _parser_d,
                    ("mnist_m", "unit", False), _keras_d, _torch_d),
        NetworkSpec("E", "question E's adversarial autoencoder (three phases per batch)", _parser_e,
                    ("mnist", "unit", True), _keras_e, _torch_e, passes=adversarial_passes),
        NetworkSpec("F", "question F's GAN (k discriminator updates + 1 generator update)", _parser_f,
                    ("mnist", "signed", True), _keras_f, _torch_f, passes=gan_passes,
                    rows_per_step=lambda args: args.k * args.batch_size, drop_remainder=True),
        NetworkSpec("H", "question H's deep autoencoder 784-1000-500-250-30-250-500-1000-784", _parser_h,
                    ("mnist", "unit", True), _keras_h, _torch_h),
        NetworkSpec("J", "question J's VAE 784-512-256-(2+2) / 2-256-512-784", _parser_j,
                    ("mnist", "unit", True), _keras_j, _torch_j),
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


# ---------------------------------------------------------------------------------------------
# Timing


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _median_rate(epoch_seconds: list[float], images: int) -> float:
    return images / statistics.median(epoch_seconds)


def _best_seconds(run, repeats: int) -> float:
    """The shortest of ``repeats`` timed calls of ``run``, after one untimed call (warm-up,
    tracing, compilation)."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak_gflops(n: int = 4096, repeats: int = 5) -> float:
    """Attainable float32 rate (GFLOP/s) of an n x n matrix multiply in TensorFlow: the best of
    ``repeats`` timed runs each of TensorFlow's own kernel (oneDNN) and of XLA's."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    best = min(_best_seconds(lambda: matmul(a, b).numpy(), repeats)
               for matmul in (tf.linalg.matmul, tf.function(tf.linalg.matmul, jit_compile=True)))
    return 2 * n**3 / best / 1e9


def step_matmuls(widths, batch_size: int) -> list[tuple[tuple[int, int], tuple[int, int], bool, bool]]:
    """The matrix products of one training step of a chain of Dense layers of ``widths``: per
    layer ``a -> b`` the forward product (batch x a)(a x b), the weight gradient (a x batch)(batch x b)
    and, for every layer but the first, the input gradient (batch x b)(b x a). Each item: (lhs
    shape, rhs shape, transpose_a, transpose_b) as the backward pass computes them (x^T g and g W^T)."""
    products = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        products.append(((batch_size, a), (a, b), False, False))
        products.append(((batch_size, a), (batch_size, b), True, False))
        if i:
            products.append(((batch_size, b), (a, b), False, True))
    return products


def matmul_rates(widths, batch_size: int = 128, loops: int = 64, repeats: int = 5) -> dict:
    """GFLOP/s of the step's matrix products alone (no activations, no optimizer), each backend
    running all of them ``loops`` times: XLA (what keras_ae's compiled step uses), TensorFlow's
    own kernels (oneDNN) in graph mode, and PyTorch (MKL) when it is installed. This separates
    the matrix-product speed of a backend at these small shapes from everything else."""
    import tensorflow as tf

    products = step_matmuls(widths, batch_size)
    flops = loops * sum(2 * lhs[0] * lhs[1] * (rhs[0] if tb else rhs[1]) for lhs, rhs, _, tb in products)
    rng = np.random.default_rng(0)
    operands = [(rng.random(lhs, dtype=np.float32), rng.random(rhs, dtype=np.float32)) for lhs, rhs, _, _ in products]
    rates = {}
    # the left operands come in 4 versions, one per loop index mod 4, so that no product is
    # loop-invariant (a compiler would hoist it out of the loop); every output is summed
    variants = 4
    tensors = [(tf.constant(np.stack([np.roll(a, k, axis=0) for k in range(variants)])), tf.constant(b))
               for a, b in operands]
    for name, jit in (("XLA", True), ("TensorFlow oneDNN (graph)", False)):
        @tf.function(jit_compile=jit)
        def all_products():
            def body(i, total):
                for (a, b), (_, _, ta, tb) in zip(tensors, products):
                    total += tf.reduce_sum(tf.matmul(a[i % variants], b, transpose_a=ta, transpose_b=tb))
                return i + 1, total
            return tf.while_loop(lambda i, total: i < loops, body, (tf.constant(0), tf.constant(0.0)))[1]

        rates[name] = flops / _best_seconds(lambda: all_products().numpy(), repeats) / 1e9
    try:
        import torch
    except ImportError:
        return rates
    pairs = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in operands]

    def torch_products():
        for _ in range(loops):
            for (a, b), (_, _, ta, tb) in zip(pairs, products):
                (a.t() if ta else a) @ (b.t() if tb else b)

    rates["PyTorch (MKL)"] = flops / _best_seconds(torch_products, repeats) / 1e9
    return rates


class _EpochTimer:
    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._t)

        self.callback = Timer()


TRAINING_PATH = "training path"
REFERENCE_CONFIG = "ceiling: XLA + 64 fused steps, no input pipeline"
# Extra Keras configurations, one change at a time (``--configs``).
KERAS_CONFIGS = {
    "numpy fit": dict(pipeline="numpy", jit_compile=False),
    "tf.data": dict(pipeline="tf.data", jit_compile=False),
    "tf.data + XLA": dict(pipeline="tf.data", jit_compile=True),
    "tf.data + XLA + steps/exec 32": dict(pipeline="tf.data", jit_compile=True, steps_per_execution=32),
    "tf.data + XLA + 16 fused steps": dict(pipeline="tf.data", jit_compile=True, fused_steps=16),
    "tf.data + XLA + 64 fused steps": dict(pipeline="tf.data", jit_compile=True, fused_steps=64),
    # a reference, not a training path: the same compiled step fed batches cut once, in advance
    # (no per-epoch shuffle, no tf.data, no fit loop); what the model's step costs on its own
    REFERENCE_CONFIG: dict(pipeline="blocks", jit_compile=True, fused_steps=64),
}


def training_path(spec: NetworkSpec) -> dict:
    """keras_ae's training path, what the question uses: ``tf.data``, its ``--xla`` and
    ``--fused-steps`` defaults."""
    args = spec.defaults()
    return dict(pipeline="tf.data", jit_compile=bool(args.xla), fused_steps=int(args.fused_steps))


def describe(config: dict) -> str:
    text = {"numpy": "numpy fit", "tf.data": "tf.data", "blocks": "pre-cut batches"}[config["pipeline"]]
    if config.get("jit_compile"):
        text += " + XLA"
    if config.get("steps_per_execution", 1) > 1:
        text += f" + steps/exec {config['steps_per_execution']}"
    if config.get("fused_steps", 1) > 1:
        text += f" + {config['fused_steps']} fused steps"
    return text


def fit_dataset(x: np.ndarray, rows: int, fused_steps: int = 1, drop_remainder: bool = False, seed: int = 0):
    """What ``fit`` is fed: the shuffled in-memory pipeline in batches of ``rows`` (one training
    step's rows), or, with fused steps, ``fused_steps`` such batches together, which the model
    (built with ``minibatch_size=rows``) cuts into its steps. The one place that knows how fused
    batches are made."""
    from keras_ae.data import make_dataset

    return make_dataset(x, batch_size=rows, seed=seed, drop_remainder=drop_remainder, steps_per_batch=fused_steps)


def keras_epoch_seconds(spec: NetworkSpec, args, x: np.ndarray, epochs: int, pipeline: str = "tf.data",
                        jit_compile: bool = True, steps_per_execution: int = 1, fused_steps: int = 1,
                        seed: int = 0) -> list[float]:
    """Seconds of each of ``epochs`` epochs of the question's model after a first one (warm-up,
    tracing, compilation). ``pipeline``: ``"tf.data"`` (:func:`fit_dataset`), ``"numpy"`` (``fit``
    on arrays) or ``"blocks"`` (the compiled ``train_step`` called on batches cut in advance).
    ``jit_compile`` and ``steps_per_execution`` are Keras' own options, set on the model the
    question compiled (Keras reads them when it makes the train function, at the first ``fit``)."""
    import keras

    keras.utils.set_random_seed(seed)
    rows = spec.rows_per_step(args)
    model = spec.keras_model(args, rows if fused_steps > 1 else None)
    model.jit_compile = jit_compile
    model.steps_per_execution = steps_per_execution
    x = x[: epoch_images(spec, args, len(x))]
    if pipeline == "blocks":
        import tensorflow as tf

        block = rows * fused_steps
        blocks = [tf.constant(x[i : i + block]) for i in range(0, len(x), block)]
        step = tf.function(model.train_step, jit_compile=jit_compile)
        seconds = []
        for _ in range(epochs + 1):
            start = time.perf_counter()
            for b in blocks:
                logs = step(b)
            float(next(iter(logs.values())))  # wait for the last step
            seconds.append(time.perf_counter() - start)
        return seconds[1:]
    timer = _EpochTimer().callback
    if pipeline == "numpy":
        model.fit(x, x, batch_size=rows * fused_steps, epochs=epochs + 1, verbose=0, callbacks=[timer])
    else:
        model.fit(fit_dataset(x, rows, fused_steps, spec.drop_remainder, seed), epochs=epochs + 1, verbose=0,
                  shuffle=False, callbacks=[timer])
    return timer.seconds[1:]


def torch_epoch_seconds(spec: NetworkSpec, args, x: np.ndarray, epochs: int, seed: int = 0,
                        threads: int | None = None) -> list[float]:
    """Seconds of each of ``epochs`` epochs of the same network and step in a plain PyTorch loop,
    after a first one: the images in memory, a shuffled index per epoch, one step per batch of
    ``rows_per_step`` rows, ``threads`` threads (default: the machine's cores)."""
    torch = _torch()
    torch.set_num_threads(threads or cpu_cores())
    torch.manual_seed(seed)
    net = spec.torch_model(args)
    x = x[: epoch_images(spec, args, len(x))]
    data = torch.from_numpy(np.ascontiguousarray(net.layout(x) if net.layout else x, dtype=np.float32))
    rows = spec.rows_per_step(args)
    seconds = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(data))
        for i in range(0, len(data), rows):
            net.step(data[order[i : i + rows]])
        seconds.append(time.perf_counter() - start)
    return seconds[1:]


# ---------------------------------------------------------------------------------------------
# The whole benchmark


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


def _fmt_epochs(secs) -> str:
    return ", ".join(f"{s:.2f}" for s in secs)


def run_benchmark(networks=tuple(NETWORKS), epochs: int = 3, configs=(), torch_baseline: bool = True,
                  train_limit: int | None = None, data_dir=None, peak: bool = True, peak_size: int = 4096,
                  peak_repeats: int = 5, matmuls: bool = True, seed: int = 0, log=print) -> dict:
    """Measure everything; return a dict of results (also printed line by line through ``log``).

    For each network: keras_ae's training path, the extra ``configs`` (names of
    :data:`KERAS_CONFIGS`), the PyTorch loop, and the lines ``images/s <net> keras_ae|torch <rate>``,
    ``ratio <net> <keras_ae / torch>`` and ``flops <net> <GFLOP/s> <percent of peak>``."""
    results = {"peak_gflops": None, "cores": cpu_cores(), "epochs": epochs, "train_limit": train_limit,
               "networks": {}}
    if peak:
        results["peak_gflops"] = matmul_peak_gflops(peak_size, peak_repeats)
        log(f"attainable float32 peak ({peak_size}x{peak_size} matmul): {results['peak_gflops']:.1f} GFLOP/s")
    for name in networks:
        spec = NETWORKS[name]
        args = spec.defaults()
        x = load_images(spec, args, data_dir, train_limit)
        images = epoch_images(spec, args, len(x))
        row = network_facts(spec, args)
        row.update(images_per_epoch=images, keras={}, torch=None)
        log(f"network {name}: {spec.title}; {images} images per epoch, {row['rows_per_step']} per step, "
            f"{row['flops_per_image'] / 1e6:.2f} MFLOP per image, {row['keras_parameters']:,} parameters")
        widths = row.pop("dense_widths")
        if matmuls and widths:
            row["matmul_gflops"] = matmul_rates(widths, row["rows_per_step"])
            log(f"network {name}: the step's {len(step_matmuls(widths, 1))} matrix products alone: "
                + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in row["matmul_gflops"].items()))
        runs = {TRAINING_PATH: training_path(spec)}
        runs.update((c, KERAS_CONFIGS[c]) for c in configs)
        for config, options in runs.items():
            secs = keras_epoch_seconds(spec, args, x, epochs, seed=seed, **options)
            rate = row["keras"][config] = _median_rate(secs, images)
            label = f"{config}: {describe(options)}" if config == TRAINING_PATH else config
            log(f"network {name}: keras_ae [{label}]: {rate:,.0f} images/s "
                f"({row['flops_per_image'] * rate / 1e9:.1f} GFLOP/s; epochs {_fmt_epochs(secs)} s)")
        row["training_path"] = describe(runs[TRAINING_PATH])
        rate = row["keras_rate"] = row["keras"][TRAINING_PATH]
        if torch_baseline:
            secs = torch_epoch_seconds(spec, args, x, epochs, seed=seed)
            row["torch"] = _median_rate(secs, images)
            log(f"network {name}: PyTorch loop ({cpu_cores()} threads): {row['torch']:,.0f} images/s "
                f"({row['flops_per_image'] * row['torch'] / 1e9:.1f} GFLOP/s; epochs {_fmt_epochs(secs)} s)")
        row["gflops"] = row["flops_per_image"] * rate / 1e9
        log(f"images/s {name} keras_ae {rate:.1f}")
        if row["torch"]:
            row["ratio_vs_torch"] = rate / row["torch"]
            log(f"images/s {name} torch {row['torch']:.1f}")
            log(f"ratio {name} {row['ratio_vs_torch']:.2f}")
        percent = "n/a"
        if results["peak_gflops"]:
            row["fraction_of_peak"] = row["gflops"] / results["peak_gflops"]
            percent = f"{100 * row['fraction_of_peak']:.1f}%"
        log(f"flops {name} {row['gflops']:.2f} {percent}")
        results["networks"][name] = row
    results["targets"] = check_targets(results)
    for line in results["targets"]["lines"]:
        log(line)
    return results


def check_targets(results: dict) -> dict:
    """Issue 14's targets against the results: ratio >= TARGET_RATIO on every network measured
    against PyTorch, and the fractions of peak of TARGET_PEAK_FRACTION."""
    rows = results["networks"]
    ratios = {n: r["ratio_vs_torch"] for n, r in rows.items() if r.get("ratio_vs_torch") is not None}
    met = sorted(n for n, v in ratios.items() if v >= TARGET_RATIO)
    missed = sorted(n for n, v in ratios.items() if v < TARGET_RATIO)
    lines = []
    if ratios:
        lines.append(f"target ratio >= {TARGET_RATIO}: met by {' '.join(met) or 'none'}; "
                     f"missed by {' '.join(missed) or 'none'}")
    peaks = {}
    for name, fraction in TARGET_PEAK_FRACTION.items():
        if name in rows and rows[name].get("fraction_of_peak") is not None:
            peaks[name] = rows[name]["fraction_of_peak"] >= fraction
            lines.append(f"target {name} >= {100 * fraction:.0f}% of peak: "
                         f"{'met' if peaks[name] else 'missed'} ({100 * rows[name]['fraction_of_peak']:.1f}%)")
    return {"ratio_met": met, "ratio_missed": missed, "peak_met": peaks, "lines": lines}
