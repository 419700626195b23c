"""The PyTorch side of the benchmark: each question's network and training step written again in
plain PyTorch (:class:`TorchNet`), the same layers, activations, loss, optimizer and
hyper-parameters as the Keras model the question builds (:mod:`benchmarks.networks` pairs them).
PyTorch is imported only when a network is made (``pip install -e ".[bench]"``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# Question A's variant both sides of the benchmark train: the MSE / Xavier network.
A_VARIANT = "mse_glorot"


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


def require_torch():
    """The ``torch`` module, or a RuntimeError that says how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError('PyTorch is not installed: pip install -e ".[bench]" (torch==2.13.0 CPU)') from exc
    return torch


def _torch_mlp(widths, activations, dropout: float = 0.0):
    """Linear layers ``widths[i] -> widths[i + 1]``, each followed by its activation (None: linear)
    and, in the hidden layers, by ``dropout``."""
    torch = require_torch()
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
    torch = require_torch()
    if weight_decay:
        return torch.optim.AdamW(params, lr=learning_rate, betas=(beta_1, 0.999), eps=1e-7, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=learning_rate, betas=(beta_1, 0.999), eps=1e-7)


def _torch_loss(name: str):
    """keras_ae's losses (keras_ae/losses.py) in PyTorch: ``mse`` is a mean over all values;
    ``squared_error`` and ``cross_entropy`` sum over an image's values and average over the batch,
    ``cross_entropy`` from the output layer's logits (the network then ends without its sigmoid)."""
    torch = require_torch()
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


def torch_a(args) -> TorchNet:
    from keras_ae.questions.question_a import VARIANTS

    variant = VARIANTS[A_VARIANT]
    widths = (784, *variant.encoder_units, *variant.decoder_units, 784)
    acts = ["sigmoid"] * (len(widths) - 2) + [_dense_output("sigmoid", variant.loss)]
    net = _torch_mlp(widths, acts)
    return _torch_reconstruction(net, variant.loss, _torch_adam(net.parameters(), args.learning_rate))


def torch_b(args) -> TorchNet:
    widths = (784, *args.encoder_units, *args.decoder_units, 784)
    net = _torch_mlp(widths, ["relu"] * (len(widths) - 2) + ["tanh"])
    return _torch_reconstruction(net, "mse", _torch_adam(net.parameters(), args.learning_rate,
                                                         weight_decay=args.weight_decay))


def torch_d(args) -> TorchNet:
    """Conv2d of stride 2 and a stride-1 code Conv2d; ConvTranspose2d back (output_padding 1 gives
    the doubled size of Keras' "same" padding); sigmoid output."""
    torch = require_torch()
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


def torch_e(args) -> TorchNet:
    """Encoder 784-1000-1000-100 (linear code), decoder 100-1000-1000-784 (sigmoid), discriminator
    100-1000-1000-1 (logit); per batch (a) reconstruction, (b) discriminator on prior samples (real)
    and codes (fake), (c) encoder against the discriminator; three Adams as question E's."""
    torch = require_torch()
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


def torch_f(args) -> TorchNet:
    """Generator 100-256-512-1024-784 (LeakyReLU 0.2, tanh), discriminator 784-1024-512-256-1
    (LeakyReLU 0.2 and dropout in the hidden layers, a logit); per batch of k x m real images k
    discriminator updates (each on m real images and m fresh fakes) and one generator update."""
    import inspect

    from keras_ae.questions.question_f import build_model

    torch = require_torch()
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


def torch_h(args) -> TorchNet:
    units, act = list(args.units), args.hidden_activation
    widths = (784, *units, args.code_dim, *reversed(units), 784)
    acts = [act] * len(units) + [None] + [act] * len(units) + [_dense_output("sigmoid", "cross_entropy")]
    net = _torch_mlp(widths, acts)
    return _torch_reconstruction(net, "cross_entropy", _torch_adam(net.parameters(), args.learning_rate))


def torch_j(args) -> TorchNet:
    torch = require_torch()
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
