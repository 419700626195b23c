"""FLOP counting: the multiply-adds of a training step, exact per layer (:func:`layer_macs`),
and which passes a step makes through them (:class:`Pass`, one ``*_passes`` function per kind of
network); the parameter count of a Keras model; the Dense widths of a plain chain of Dense layers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def keras_parameter_count(model) -> int:
    """Trainable parameters of a Keras model, every variable once (GAN's logit model shares D's)."""
    variables = {id(v): v for v in model.trainable_weights}
    return int(sum(np.prod(v.shape) for v in variables.values()))
