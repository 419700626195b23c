"""The adversarial autoencoder (Makhzani et al. 2015) of sheet 002 problem 2.

An MLP encoder q(z|x), an MLP decoder and an MLP discriminator on codes. The encoder is
deterministic (one output, the code) or Gaussian (two outputs, the mean and the log-variance of
q(z|x); every phase then trains on a reparameterised draw
z = mean + exp(log_var / 2) * eps, eps ~ N(0, encoder_noise_stddev^2 I), see
:meth:`AdversarialAutoencoder.encode`). Every batch runs the sheet's three phases, each with its
own optimizer:

(a) reconstruction: encoder and decoder minimise the reconstruction loss;
(b) discriminator: minimise L_D = -E_{z~p(z)}[log D(z)] - E_x[log(1 - D(Enc(x)))], prior samples
    labelled real (1), encoded data labelled fake (0); only the discriminator's weights move;
(c) generator: the encoder minimises L_Enc = E_x[log(1 - D(Enc(x)))] (the sheet's saturating
    form) or, with ``generator_loss="non_saturating"``, -E_x[log D(Enc(x))]; only the encoder's
    weights move. The discriminator runs in inference mode (no dropout) unless
    ``generator_phase_discriminator_training`` (its dropout then active, as in phase (b)).

Dropout: the encoder and decoder run in training mode in (a), the encoder in (c); in (b) the
encoder runs in inference mode (a Gaussian encoder still draws its codes there: the
discriminator sees the same kind of codes that (c) trains).

The discriminator network outputs a logit l; D(z) = sigmoid(l), and the losses are computed
from logits (log D = -softplus(-l), log(1 - D) = -softplus(l)), which is exact and never takes
log(0).

Under a ``tf.distribute`` strategy (several replicas, each with part of the batch) every phase
differentiates its loss divided by the number of replicas, because the optimizer sums the
replicas' gradients; the reconstruction loss, a ``keras.losses.Loss``, is divided by Keras
itself. The phases return, and the metrics log, the undivided loss. Each replica draws its own
prior samples. See :mod:`keras_ae.models.distribute`.

Training draws its prior samples (and a Gaussian encoder's eps) from the model's seed generator
(seeded with ``seed``); evaluation (``test_step``) from a second stream derived from ``seed`` and
restarted at every ``evaluate`` (:mod:`keras_ae.models.random_streams`): validation does not
change the samples training sees, and every evaluation compares the codes with the same prior
samples.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf
from keras import ops

from keras_ae.errors import ConfigError
from keras_ae.losses import get_loss
from keras_ae.models.autoencoder import Autoencoder
from keras_ae.models.dense import build_mlp, layer_initializer, layer_seed
from keras_ae.models.distribute import (ReplicaSeedGenerator, scale_loss_for_replicas,
                                         unscale_loss_for_replicas)
from keras_ae.models.gan import discriminator_loss
from keras_ae.models.random_streams import EvaluationNoise

GENERATOR_LOSSES = ("saturating", "non_saturating")


def generator_loss(fake_logits, mode: str = "saturating"):
    """The encoder's adversarial loss: E[log(1 - D)] (saturating, the sheet) or -E[log D]."""
    if mode == "saturating":
        return -ops.mean(ops.softplus(fake_logits))
    if mode == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    raise ConfigError(f"unknown generator loss {mode!r}; choose one of {', '.join(GENERATOR_LOSSES)}")


def _unpack_x(data):
    return data[0] if isinstance(data, (tuple, list)) else data


@keras.saving.register_keras_serializable(package="keras_ae")
class AdversarialAutoencoder(EvaluationNoise, Autoencoder):
    """Autoencoder whose aggregated posterior q(z) is pushed towards N(0, prior_stddev^2 I).

    ``compile(reconstruction_optimizer, discriminator_optimizer, generator_optimizer,
    reconstruction_loss="squared_error", generator_loss="saturating",
    generator_phase_discriminator_training=False)`` sets the three phases up;
    ``fit`` then runs them on every batch (see the module docstring). The three losses are the
    metrics ``reconstruction_loss``, ``discriminator_loss`` and ``generator_loss``.
    ``reconstruction_step``, ``discriminator_step`` and ``generator_step`` run one phase alone.

    ``encoder`` with one output is deterministic; with two, ``[mean, log_var]``, it is Gaussian
    and ``encoder_noise_stddev`` scales its eps (1: the textbook reparameterisation).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, discriminator: keras.Model,
                 prior_stddev: float = 1.0, seed: int | None = None, encoder_noise_stddev: float = 1.0,
                 **kwargs):
        if len(encoder.outputs) not in (1, 2):
            raise ConfigError(f"the encoder must have 1 output (the code) or 2 (mean, log-variance), "
                              f"not {len(encoder.outputs)}")
        super().__init__(encoder, decoder, **kwargs)
        self.discriminator = discriminator
        self.prior_stddev = float(prior_stddev)
        self.encoder_noise_stddev = float(encoder_noise_stddev)
        self.seed = seed
        self.seed_generator = ReplicaSeedGenerator(seed, name="prior_seed")
        self._init_evaluation_noise(seed)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.discriminator_tracker = keras.metrics.Mean(name="discriminator_loss")
        self.generator_tracker = keras.metrics.Mean(name="generator_loss")

    # ------------------------------------------------------------------ compile
    def compile(self, reconstruction_optimizer=None, discriminator_optimizer=None, generator_optimizer=None,
                reconstruction_loss: str = "squared_error", generator_loss: str = "saturating",
                generator_phase_discriminator_training: bool = False, **kwargs):
        """Three optimizers (Adam(1e-3) each by default), the reconstruction loss by name
        (``squared_error``, ``mse``, ``cross_entropy`` or ``cross_entropy_mean``), the generator
        loss form and whether phase (c) runs the discriminator in training mode (its dropout on)."""
        if generator_loss not in GENERATOR_LOSSES:
            raise ConfigError(f"unknown generator loss {generator_loss!r}; choose one of {', '.join(GENERATOR_LOSSES)}")
        super().compile(optimizer=None, **kwargs)
        self.reconstruction_optimizer = keras.optimizers.get(reconstruction_optimizer or keras.optimizers.Adam(1e-3))
        self.discriminator_optimizer = keras.optimizers.get(discriminator_optimizer or keras.optimizers.Adam(1e-3))
        self.generator_optimizer = keras.optimizers.get(generator_optimizer or keras.optimizers.Adam(1e-3))
        if len({id(self.reconstruction_optimizer), id(self.discriminator_optimizer), id(self.generator_optimizer)}) < 3:
            raise ValueError("each phase needs its own optimizer instance")
        self.reconstruction_loss_name = reconstruction_loss
        self.reconstruction_loss_fn = get_loss(reconstruction_loss)
        self.generator_loss_mode = generator_loss
        self.generator_phase_discriminator_training = bool(generator_phase_discriminator_training)
        # Create the optimizers' variables now (Keras does it for ``self.optimizer`` only): under a
        # tf.distribute strategy they cannot be created lazily inside the replicas' first step,
        # and a saved optimizer state loads into them.
        for optimizer, variables in self._phase_variables().values():
            optimizer.build(variables)

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "reconstruction_optimizer"):
            return None
        return {
            "reconstruction_optimizer": keras.saving.serialize_keras_object(self.reconstruction_optimizer),
            "discriminator_optimizer": keras.saving.serialize_keras_object(self.discriminator_optimizer),
            "generator_optimizer": keras.saving.serialize_keras_object(self.generator_optimizer),
            "reconstruction_loss": self.reconstruction_loss_name,
            "generator_loss": self.generator_loss_mode,
            "generator_phase_discriminator_training": self.generator_phase_discriminator_training,
        }

    def named_optimizers(self) -> dict:
        """The three phases' optimizers by attribute name (``model.optimizer`` is None): what a
        :class:`keras_ae.callbacks.TrainingBackup` saves and restores. A method, not a property:
        Keras' weights file walks the model's attributes, and a dict of them would move where
        they are saved."""
        names = ("reconstruction_optimizer", "discriminator_optimizer", "generator_optimizer")
        return {name: getattr(self, name) for name in names if hasattr(self, name)}  # none before compile

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("reconstruction_optimizer", "discriminator_optimizer", "generator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)  # which builds the optimizers

    def _phase_variables(self) -> dict:
        return {
            "reconstruction": (self.reconstruction_optimizer,
                               self.encoder.trainable_variables + self.decoder.trainable_variables),
            "discriminator": (self.discriminator_optimizer, self.discriminator.trainable_variables),
            "generator": (self.generator_optimizer, self.encoder.trainable_variables),
        }

    # ------------------------------------------------------------------ model pieces
    @property
    def metrics(self):
        return [self.reconstruction_tracker, self.discriminator_tracker, self.generator_tracker]

    @property
    def code_dim(self) -> int:
        return int(self.code_shape[-1])

    @property
    def gaussian_encoder(self) -> bool:
        """Whether the encoder gives the mean and log-variance of a Gaussian q(z|x)."""
        return len(self.encoder.outputs) == 2

    def encode(self, x, training=False, sample: bool = False, seed_generator=None):
        """The codes of ``x``. A deterministic encoder's output; a Gaussian encoder's mean or, with
        ``sample``, a draw ``mean + exp(log_var / 2) * eps``, eps ~ N(0, encoder_noise_stddev^2 I)
        from ``seed_generator`` (default: the training stream), differentiable in mean and log_var."""
        if not self.gaussian_encoder:
            return self.encoder(x, training=training)
        mean, log_var = self.encoder(x, training=training)
        if not sample:
            return mean
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        eps = keras.random.normal(ops.shape(mean), stddev=self.encoder_noise_stddev, seed=seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def call(self, inputs, training=False):
        """decoder(codes): a Gaussian encoder's draw in training, its mean otherwise."""
        return self.decoder(self.encode(inputs, training=training, sample=bool(training)), training=training)

    def sample_prior(self, batch_size, seed_generator=None):
        """``batch_size`` codes drawn from the prior N(0, prior_stddev^2 I), from ``seed_generator``
        (default: the training stream, ``self.seed_generator``)."""
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        return keras.random.normal((batch_size, self.code_dim), stddev=self.prior_stddev, seed=seed_generator)

    def generate(self, noise, training=False):
        """Images decoded from standard-normal ``noise``, scaled to the prior: decode(stddev * noise)."""
        return self.decoder(noise * self.prior_stddev, training=training)

    def discriminate(self, z):
        """D(z): the discriminator's probability that ``z`` came from the prior."""
        return ops.sigmoid(self.discriminator(z, training=False))

    # ------------------------------------------------------------------ the three phases
    def phase_losses(self, x, training: bool = False, seed_generator=None):
        """The three losses on ``x`` without updating anything: (reconstruction, discriminator, generator);
        the prior samples (and a Gaussian encoder's codes) come from ``seed_generator`` (default:
        the training stream)."""
        z_fake = self.encode(x, training=training, sample=True, seed_generator=seed_generator)
        x_hat = self.decoder(z_fake, training=training)
        z_real = self.sample_prior(ops.shape(x)[0], seed_generator)
        real_logits = self.discriminator(z_real, training=training)
        fake_logits = self.discriminator(z_fake, training=training)
        return (unscale_loss_for_replicas(self.reconstruction_loss_fn(x, x_hat)),
                discriminator_loss(real_logits, fake_logits),
                generator_loss(fake_logits, self.generator_loss_mode))

    def reconstruction_step(self, x):
        """Phase (a): one update of encoder + decoder on the reconstruction loss."""
        optimizer, variables = self._phase_variables()["reconstruction"]
        with tf.GradientTape() as tape:
            loss = self.reconstruction_loss_fn(x, self(x, training=True))  # already / replicas (Keras)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return unscale_loss_for_replicas(loss)

    def discriminator_step(self, x):
        """Phase (b): one update of the discriminator; prior samples are real, Enc(x) is fake."""
        optimizer, variables = self._phase_variables()["discriminator"]
        z_fake = ops.stop_gradient(self.encode(x, training=False, sample=True))
        z_real = self.sample_prior(ops.shape(x)[0])
        with tf.GradientTape() as tape:
            loss = discriminator_loss(self.discriminator(z_real, training=True),
                                      self.discriminator(z_fake, training=True))
            scaled = scale_loss_for_replicas(loss)
        optimizer.apply(tape.gradient(scaled, variables), variables)
        return loss

    def generator_step(self, x):
        """Phase (c): one update of the encoder (the generator) to fool the discriminator."""
        optimizer, variables = self._phase_variables()["generator"]
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.encode(x, training=True, sample=True),
                                             training=self.generator_phase_discriminator_training)
            loss = generator_loss(fake_logits, self.generator_loss_mode)
            scaled = scale_loss_for_replicas(loss)
        optimizer.apply(tape.gradient(scaled, variables), variables)
        return loss

    def train_step(self, data):
        x = _unpack_x(data)
        self.reconstruction_tracker.update_state(self.reconstruction_step(x))
        self.discriminator_tracker.update_state(self.discriminator_step(x))
        self.generator_tracker.update_state(self.generator_step(x))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        rec, disc, gen = self.phase_losses(_unpack_x(data), training=False,
                                           seed_generator=self.evaluation_seed_generator)
        self.reconstruction_tracker.update_state(rec)
        self.discriminator_tracker.update_state(disc)
        self.generator_tracker.update_state(gen)
        return {m.name: m.result() for m in self.metrics}

    # ------------------------------------------------------------------ export, config
    def export_endpoints(self) -> dict:
        endpoints = super().export_endpoints()
        x_spec = endpoints["encode"][1]
        endpoints["encode"] = (lambda x: {"codes": self.encode(x, training=False)}, x_spec)
        if self.gaussian_encoder:  # encode: the mean; encode_distribution: mean and log-variance
            endpoints["encode_distribution"] = (
                lambda x: dict(zip(("mean", "log_var"), self.encoder(x, training=False))), x_spec)
        noise_spec = [tf.TensorSpec((None, self.code_dim), tf.float32, name="noise")]
        endpoints["generate"] = (lambda noise: {"images": self.generate(noise, training=False)}, noise_spec)
        return endpoints

    def get_config(self):
        config = super().get_config()
        config.update(discriminator=keras.saving.serialize_keras_object(self.discriminator),
                      prior_stddev=self.prior_stddev, seed=self.seed, encoder_noise_stddev=self.encoder_noise_stddev)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        nets = {key: keras.saving.deserialize_keras_object(config.pop(key), custom_objects=custom_objects)
                for key in ("encoder", "decoder", "discriminator")}
        return cls(**nets, **config)


def _with_dropout(mlp: keras.Model, rate: float, seed: int | None) -> keras.Model:
    """``mlp`` (a :func:`~keras_ae.models.dense.build_mlp` stack) with a ``Dropout(rate)`` after
    every hidden layer, i.e. before every Dense layer but the first. The Dense layers are ``mlp``'s
    own (same weights, names and initializers); each Dropout layer draws its masks from a seed of
    its own derived from ``seed`` (None: unseeded). ``rate`` 0 returns ``mlp`` itself."""
    if not rate:
        return mlp
    dense = [layer for layer in mlp.layers if isinstance(layer, keras.layers.Dense)]
    inputs = keras.Input(shape=tuple(mlp.inputs[0].shape[1:]), name=mlp.layers[0].name)
    h = inputs
    for i, layer in enumerate(dense):
        if i:
            name = f"{mlp.name}_dropout_{i - 1}"
            h = keras.layers.Dropout(rate, seed=None if seed is None else layer_seed(seed, name), name=name)(h)
        h = layer(h)
    return keras.Model(inputs, h, name=mlp.name)


ENCODERS = ("deterministic", "gaussian")


def _with_log_variance_head(encoder: keras.Model, init: dict) -> keras.Model:
    """``encoder`` (its last Dense layer the code) as a Gaussian encoder: the code layer becomes the
    mean head, and a second linear head of the same size, ``encoder_log_var`` (initialised as
    the other layers, with its own seed), reads the same features; outputs ``[mean, log_var]``."""
    layers = [layer for layer in encoder.layers if not isinstance(layer, keras.layers.InputLayer)]
    inputs = keras.Input(shape=tuple(encoder.inputs[0].shape[1:]), name=encoder.layers[0].name)
    h = inputs
    for layer in layers[:-1]:  # a chain: Dense and Dropout layers in order
        h = layer(h)
    mean_head = layers[-1]
    init = {key: layer_initializer(value, f"encoder_log_var/{key}") for key, value in init.items()}
    log_var = keras.layers.Dense(mean_head.units, name="encoder_log_var", **init)(h)
    return keras.Model(inputs, [mean_head(h), log_var], name=encoder.name)


def build_adversarial_autoencoder(input_dim: int = 784, code_dim: int = 100,
                                  hidden_units: Sequence[int] = (1000, 1000),
                                  discriminator_units: Sequence[int] = (1000, 1000),
                                  activation: str = "relu", output_activation: str = "sigmoid",
                                  prior_stddev: float = 1.0, seed: int | None = None,
                                  name: str = "adversarial_autoencoder",
                                  minibatch_size: int | None = None, dropout: float = 0.0,
                                  discriminator_dropout: float = 0.0,
                                  init_stddev: float | None = None, encoder: str = "deterministic",
                                  encoder_noise_stddev: float = 1.0) -> AdversarialAutoencoder:
    """The adversarial autoencoder of question E: an MLP encoder, decoder and code discriminator.

    Three MLPs: encoder input_dim -> hidden_units -> code_dim (linear code), decoder
    code_dim -> reversed(hidden_units) -> input_dim (``output_activation``), discriminator
    code_dim -> discriminator_units -> 1 logit. Defaults: Makhzani et al.'s MNIST networks
    (two hidden layers of 1000 ReLU units in each). ``minibatch_size``: fused steps
    (:mod:`keras_ae.models.fused`).

    ``dropout``: a Dropout layer of that rate after every hidden layer of the encoder and the
    decoder; ``discriminator_dropout``: the same in the discriminator (active only where a phase
    calls the network with ``training=True``: the encoder in phases (a) and (c), the decoder in
    (a), the discriminator in (b)). ``init_stddev``: every weight matrix drawn from
    N(0, init_stddev^2) (seeded by ``seed``) and every bias 0, as Makhzani et al. (2015)
    initialise; None keeps Keras' Glorot-uniform weights and zero biases.

    ``encoder="gaussian"``: the code layer is the mean of q(z|x) and a second linear head gives
    its log-variance (dropout, when on, sits after every hidden layer, so before both heads);
    the phases train on draws with eps ~ N(0, encoder_noise_stddev^2 I)
    (:meth:`AdversarialAutoencoder.encode`)."""
    if encoder not in ENCODERS:
        raise ConfigError(f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}")
    kind = encoder
    hidden_units, discriminator_units = tuple(hidden_units), tuple(discriminator_units)
    init = {} if init_stddev is None else {
        "kernel_initializer": keras.initializers.RandomNormal(0.0, float(init_stddev), seed=seed),
        "bias_initializer": "zeros"}
    encoder = build_mlp(input_dim, [*hidden_units, code_dim], [activation] * len(hidden_units) + [None],
                        name="encoder", **init)
    decoder = build_mlp(code_dim, [*reversed(hidden_units), input_dim],
                        [activation] * len(hidden_units) + [output_activation], name="decoder", input_name="z",
                        **init)
    discriminator = build_mlp(code_dim, [*discriminator_units, 1], [activation] * len(discriminator_units) + [None],
                              name="discriminator", input_name="z", **init)
    encoder, decoder = _with_dropout(encoder, dropout, seed), _with_dropout(decoder, dropout, seed)
    if kind == "gaussian":
        encoder = _with_log_variance_head(encoder, init or {"kernel_initializer": "glorot_uniform",
                                                            "bias_initializer": "zeros"})
    discriminator = _with_dropout(discriminator, discriminator_dropout, seed)
    return AdversarialAutoencoder(encoder, decoder, discriminator, prior_stddev=prior_stddev, seed=seed, name=name,
                                  minibatch_size=minibatch_size, encoder_noise_stddev=encoder_noise_stddev)
