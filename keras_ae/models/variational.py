"""Variational autoencoder (Kingma & Welling 2013) with the reparameterization trick.

The encoder outputs the mean and log-variance of q(z|x) = N(mu, diag sigma^2); the
``Sampling`` layer draws z = mu + sigma * eps with eps ~ N(0, I) from its own
``keras.random.SeedGenerator``, so the sample is a differentiable function of (mu, log_var).
``train_step`` maximises the ELBO: it minimises the Bernoulli reconstruction cross-entropy
(summed over pixels) plus KL(q(z|x) || N(0, I)), both tracked as metrics. ``test_step`` draws its
eps from the model's evaluation stream instead (derived from ``seed`` and restarted at every
``evaluate``, :mod:`keras_ae.models.random_streams`): validation does not change the eps training
sees, and every evaluation estimates the ELBO with the same eps. Under a
``tf.distribute`` strategy the step differentiates the loss divided by the number of replicas
(the optimizer sums their gradients) and each replica draws its own eps
(:mod:`keras_ae.models.distribute`).
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
from keras import ops

from keras_ae.losses import BernoulliCrossEntropy
from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.dense import build_mlp
from keras_ae.models.distribute import ReplicaSeedGenerator, scale_loss_for_replicas
from keras_ae.models.random_streams import EvaluationNoise


@keras.saving.register_keras_serializable(package="keras_ae")
class Sampling(keras.layers.Layer):
    """z = mu + exp(log_var / 2) * eps, eps ~ N(0, I): the reparameterization trick.

    eps comes from the layer's own seed generator (seeded with ``seed``), or from the
    ``seed_generator`` passed to the call (the VAE's evaluation stream in ``test_step``).
    """

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = ReplicaSeedGenerator(seed)

    def call(self, inputs, seed_generator=None):
        mean, log_var = inputs
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        eps = keras.random.normal(ops.shape(mean), seed=seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def kl_to_standard_normal(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over latent dimensions."""
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)


def build_vae_encoder(input_dim: int, hidden: Sequence[int], latent_dim: int) -> keras.Model:
    """MLP trunk, then two linear heads: z_mean and z_log_var."""
    trunk = build_mlp(input_dim, hidden, ["relu"] * len(hidden), name="encoder_trunk")
    h = trunk.output
    mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model(trunk.input, [mean, log_var], name="encoder")


@keras.saving.register_keras_serializable(package="keras_ae")
class VariationalAutoencoder(EvaluationNoise, Autoencoder):
    """VAE on flattened images in [0, 1]. ``encoder`` gives [mean, log_var]; ``decoder`` p(x|z)."""

    def __init__(self, encoder, decoder, beta: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(encoder, decoder, **kwargs)
        self.beta, self.seed = beta, seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self._init_evaluation_noise(seed)
        self.reconstruction_loss_fn = BernoulliCrossEntropy(reduction=None)
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        return [self.total_tracker, self.reconstruction_tracker, self.kl_tracker]

    @property
    def code_shape(self) -> tuple:
        return tuple(self.encoder.outputs[0].shape[1:])

    def call(self, inputs, training=False):
        """Deterministic reconstruction: decode the posterior mean."""
        mean, _ = self.encoder(inputs, training=training)
        return self.decoder(mean, training=training)

    def elbo_terms(self, x, training=False, seed_generator=None):
        """Per-example reconstruction cross-entropy and KL, with z drawn by the trick (eps from
        ``seed_generator``; default: the ``Sampling`` layer's own, the training stream)."""
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var], seed_generator=seed_generator)
        reconstruction = self.reconstruction_loss_fn(x, self.decoder(z, training=training))
        return reconstruction, kl_to_standard_normal(mean, log_var)

    def _update_trackers(self, reconstruction, kl, total):
        self.total_tracker.update_state(total)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            reconstruction, kl = self.elbo_terms(x, training=True)
            total = ops.mean(reconstruction + self.beta * kl)
            scaled = scale_loss_for_replicas(total)  # the optimizer sums the replicas' gradients
        weights = self.trainable_weights
        self.optimizer.apply(tape.gradient(scaled, weights), weights)
        return self._update_trackers(reconstruction, kl, total)

    def test_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        reconstruction, kl = self.elbo_terms(x, training=False, seed_generator=self.evaluation_seed_generator)
        return self._update_trackers(reconstruction, kl, ops.mean(reconstruction + self.beta * kl))

    def export_endpoints(self) -> dict:
        endpoints = super().export_endpoints()
        x_spec = endpoints["encode"][1]
        z_spec = [tf.TensorSpec((None, *self.code_shape), tf.float32, name="z")]
        endpoints["encode"] = (lambda x: {"codes": self.encoder(x, training=False)[0]}, x_spec)
        endpoints["encode_distribution"] = (lambda x: dict(zip(("mean", "log_var"), self.encoder(x, training=False))),
                                            x_spec)
        endpoints["generate"] = (lambda z: {"images": self.decoder(z, training=False)}, z_spec)
        return endpoints

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "seed": self.seed}


def build_vae(input_dim: int = 784, hidden: Sequence[int] = (512, 256), latent_dim: int = 2,
              beta: float = 1.0, seed: int | None = None, name: str = "vae",
              minibatch_size: int | None = None) -> VariationalAutoencoder:
    """MLP VAE: encoder input-hidden-(mean, log_var), decoder latent-reversed(hidden)-input (sigmoid).

    ``minibatch_size``: fused steps (:mod:`keras_ae.models.fused`)."""
    encoder = build_vae_encoder(input_dim, hidden, latent_dim)
    decoder = build_mlp(latent_dim, [*reversed(hidden), input_dim],
                        ["relu"] * len(hidden) + ["sigmoid"], name="decoder", input_name="z")
    return VariationalAutoencoder(encoder, decoder, beta=beta, seed=seed, name=name, minibatch_size=minibatch_size)
