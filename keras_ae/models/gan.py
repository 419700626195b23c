"""Generative adversarial network (Goodfellow et al. 2014) as in the 004 slides.

Label convention: **real = 1, generated = 0**. ``D(x)`` is the probability that ``x`` is a real
training image (not produced by ``G``). The slides' error of the discriminator on a minibatch of
``m`` real images ``x_i`` and ``m`` noise vectors ``z_i`` is the binary cross-entropy

    E = -(1/m) sum_i [ ln D(x_i) + ln(1 - D(G(z_i))) ]

which the discriminator minimises and the generator maximises. One training iteration (the
slides' "learning algorithm") is ``k`` discriminator updates, each on a fresh minibatch of real
images and fresh noise, then one generator update on fresh noise. The generator minimises

- ``"minimax"`` (the slides' form, the default): ``(1/m) sum_i ln(1 - D(G(z_i)))``;
- ``"non_saturating"`` (Goodfellow et al.'s practical variant): ``-(1/m) sum_i ln D(G(z_i))``,
  which has strong gradients early in training when ``D`` rejects every sample.

Inside ``fit`` one ``train_step`` is one such iteration. Keras hands a step one batch, so the
caller feeds batches of ``k * m`` real images and the step splits them into ``k`` consecutive
minibatches of ``m`` (``m = batch // k``; a remainder is dropped): every discriminator update sees
real images it has not seen in this iteration. The noise comes from a
``keras.random.SeedGenerator`` stored on the model, so runs are reproducible. Evaluation
(``test_step``) draws from a second stream derived from the model's seed and restarted at every
``evaluate`` (:mod:`keras_ae.models.random_streams`): validation does not change the noise training
sees, and every evaluation scores the same z. ``generate(n, seed)`` draws its z from ``seed`` alone.

The discriminator network ends in a Dense layer named ``logit`` without activation: its output is
the logit ``l`` of ``D(x) = sigmoid(l)``, which :meth:`GAN.discriminate` (and the exported
``discriminate`` endpoint) returns. The losses are the sigmoid cross-entropies of the logits
(``ln D = -softplus(-l)``, ``ln(1 - D) = -softplus(l)``), the same values without the ``log(0)``
of a saturated sigmoid.

``updates="simultaneous"`` (with ``k = 1``) trains as Goodfellow et al.'s published pylearn2 code
does instead (``AdversaryCost2`` under pylearn2's plain ``SGD``): one minibatch of ``m`` real images
and ``m`` samples G(z), one forward pass of D over both (one set of dropout masks), the gradients
of D's error with respect to D's weights and of G's objective with respect to G's weights taken
at the same point, and both updates applied together. ``"alternating"`` (the default) is the
slides' algorithm above.

``noise="normal"`` (the default) draws z ~ N(0, I); ``noise="uniform"`` draws each component from
U(-sqrt(3), sqrt(3)) (zero mean, unit variance: the ``uniform`` noise of Goodfellow et al.'s
pylearn2 ``Generator``, which their MNIST configuration uses).

Besides the LeakyReLU MLPs of :func:`build_generator` and :func:`build_discriminator`, the
builders :func:`build_uniform_generator` and :func:`build_maxout_discriminator` (with the
:class:`Maxout` layer) make the networks of Goodfellow et al.'s MNIST experiment (question F's
``--preset goodfellow2014``): weights uniform in (-r, r) and maxout units with dropout.

Under a ``tf.distribute`` strategy each replica splits its share of the batch into the ``k``
minibatches (each update still sees ``m`` fresh real images over all replicas) and draws its own
noise; both losses are divided by the number of replicas before differentiation, because the
optimizers sum the replicas' gradients (:mod:`keras_ae.models.distribute`). The discriminator's
Dropout masks come from Keras' ``Dropout`` layers and are the same on every replica.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ae.errors import ConfigError
from keras_ae.models.distribute import ReplicaSeedGenerator, scale_loss_for_replicas
from keras_ae.models.fused import FusedSteps
from keras_ae.models.dense import build_mlp, layer_initializer, layer_seed
from keras_ae.models.random_streams import EvaluationNoise

GENERATOR_LOSSES = ("minimax", "non_saturating")
NOISES = ("normal", "uniform")
UPDATES = ("alternating", "simultaneous")
UNIFORM_NOISE_LIMIT = float(np.sqrt(3.0))  # U(-sqrt 3, sqrt 3) has variance 1, as pylearn2's "uniform" noise


def discriminator_loss(real_logits, fake_logits):
    """``-mean ln D(real) - mean ln(1 - D(fake))`` (real labelled 1, fake 0) from the discriminator's
    logits ``l``, ``D = sigmoid(l)``: the sigmoid cross-entropies ``softplus(-l)`` and ``softplus(l)``."""
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def draw_noise(rng: np.random.Generator, n: int, latent_dim: int, noise: str = "normal") -> np.ndarray:
    """``n`` noise vectors z (float32, shape (n, latent_dim)) from the numpy generator ``rng``:
    N(0, I) for ``"normal"`` (``rng.standard_normal``, what question F always drew), or uniform in
    (-sqrt 3, sqrt 3) for ``"uniform"``."""
    if noise not in NOISES:
        raise ConfigError(f"unknown noise {noise!r}; choose one of {', '.join(NOISES)}")
    if noise == "uniform":
        return rng.uniform(-UNIFORM_NOISE_LIMIT, UNIFORM_NOISE_LIMIT, (int(n), int(latent_dim))).astype(np.float32)
    return rng.standard_normal((int(n), int(latent_dim))).astype(np.float32)


def build_generator(latent_dim: int = 100, units: Sequence[int] = (256, 512, 1024), output_dim: int = 784,
                    activation: str = "leaky_relu", output_activation: str = "tanh", seed: int | None = None,
                    name: str = "generator") -> keras.Model:
    """Functional MLP ``z -> G(z)``: hidden ``units`` (LeakyReLU 0.2) then ``output_dim`` pixels.

    ``output_activation="tanh"`` gives pixels in [-1, 1] (train on ``to_signed`` images);
    ``"sigmoid"`` gives [0, 1].
    """
    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for i, n in enumerate(units):
        h = keras.layers.Dense(n, kernel_initializer=_glorot(seed, f"{name}_dense_{i}"), name=f"{name}_dense_{i}")(h)
        h = _activation(activation, f"{name}_act_{i}")(h)
    x = keras.layers.Dense(output_dim, activation=output_activation, kernel_initializer=_glorot(seed, f"{name}_output"),
                           name=f"{name}_output")(h)
    return keras.Model(z, x, name=name)


def build_discriminator(input_dim: int = 784, units: Sequence[int] = (1024, 512, 256), activation: str = "leaky_relu",
                        dropout: float = 0.3, seed: int | None = None, name: str = "discriminator") -> keras.Model:
    """Functional MLP ``x -> l(x)``, the logit of D(x) = sigmoid(l(x)).

    Hidden ``units`` (with dropout), then one linear unit named ``logit``."""
    x = keras.Input(shape=(input_dim,), name="x")
    h = x
    for i, n in enumerate(units):
        h = keras.layers.Dense(n, kernel_initializer=_glorot(seed, f"{name}_dense_{i}"), name=f"{name}_dense_{i}")(h)
        h = _activation(activation, f"{name}_act_{i}")(h)
        if dropout:
            h = keras.layers.Dropout(dropout, seed=None if seed is None else layer_seed(seed, f"{name}_dropout_{i}"),
                                     name=f"{name}_dropout_{i}")(h)
    logit = keras.layers.Dense(1, kernel_initializer=_glorot(seed, f"{name}_logit"), name="logit")(h)
    return keras.Model(x, logit, name=name)


def _glorot(seed: int | None, layer_name: str):
    """Glorot-uniform weights of the layer's own (seeded per layer from ``seed``)."""
    return layer_initializer(keras.initializers.GlorotUniform(seed), f"{layer_name}/kernel")


def _activation(name: str, layer_name: str):
    if name == "leaky_relu":  # the slope GAN papers use; Keras' default is 0.3
        return keras.layers.LeakyReLU(negative_slope=0.2, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


@keras.saving.register_keras_serializable(package="keras_ae")
class Maxout(keras.layers.Layer):
    """``units`` maxout units of ``pieces`` linear pieces each (Goodfellow et al. 2013):
    ``h_i = max_j (x W[:, i * pieces + j] + b[i * pieces + j])``.

    One kernel of shape (input_dim, units * pieces) and one bias of units * pieces; unit ``i``
    takes the maximum over the ``pieces`` consecutive columns ``i * pieces ... (i + 1) * pieces - 1``
    (pylearn2's ``Maxout`` layout with ``pool_stride = num_pieces``). Inputs of shape (batch, input_dim).
    """

    def __init__(self, units: int, pieces: int, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 1:
            raise ConfigError(f"Maxout needs at least one unit and one piece, got units={units}, pieces={pieces}")
        self.units, self.pieces = int(units), int(pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        width = self.units * self.pieces
        self.kernel = self.add_weight(shape=(int(input_shape[-1]), width), initializer=self.kernel_initializer,
                                      name="kernel")
        self.bias = self.add_weight(shape=(width,), initializer=self.bias_initializer, name="bias")

    def call(self, inputs):
        z = ops.add(ops.matmul(inputs, self.kernel), self.bias)
        return ops.max(ops.reshape(z, (-1, self.units, self.pieces)), axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, pieces=self.pieces,
                      kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
                      bias_initializer=keras.initializers.serialize(self.bias_initializer))
        return config


def uniform_initializer(init_range: float, seed: int | None, layer_name: str):
    """Weights uniform in (-init_range, init_range) (pylearn2's ``irange``), the layer's own draw."""
    return layer_initializer(keras.initializers.RandomUniform(-init_range, init_range, seed=seed),
                             f"{layer_name}/kernel")


def build_maxout_discriminator(input_dim: int = 784, units: Sequence[int] = (240, 240), pieces: int = 5,
                               input_dropout: float = 0.2, dropout: float = 0.5, init_range: float | None = 0.005,
                               seed: int | None = None, name: str = "discriminator") -> keras.Model:
    """Functional ``x -> l(x)``, the logit of D(x) = sigmoid(l(x)), of maxout layers (Goodfellow et al.
    2014's MNIST discriminator: two layers of 240 units x 5 pieces): dropout of ``input_dropout`` on the
    input, then per entry of ``units`` a :class:`Maxout` layer followed by dropout of ``dropout``, then
    one linear unit named ``logit``.

    Keras' ``Dropout(rate)`` keeps a unit with probability 1 - rate and scales it by 1 / (1 - rate):
    pylearn2's include probability p with input scale 1 / p (0.8 and 1.25 on the input, 0.5 and 2
    elsewhere in the paper's configuration). Weights uniform in (-init_range, init_range) (Glorot
    uniform when ``init_range`` is None), zero biases.
    """
    def kernel(layer_name):
        if init_range is None:
            return _glorot(seed, layer_name)
        return uniform_initializer(init_range, seed, layer_name)

    def drop(rate, layer_name):
        return keras.layers.Dropout(rate, seed=None if seed is None else layer_seed(seed, layer_name), name=layer_name)

    x = keras.Input(shape=(input_dim,), name="x")
    h = drop(input_dropout, f"{name}_input_dropout")(x) if input_dropout else x
    for i, n in enumerate(units):
        h = Maxout(n, pieces, kernel_initializer=kernel(f"{name}_maxout_{i}"), name=f"{name}_maxout_{i}")(h)
        if dropout:
            h = drop(dropout, f"{name}_dropout_{i}")(h)
    logit = keras.layers.Dense(1, kernel_initializer=kernel(f"{name}_logit"), name="logit")(h)
    return keras.Model(x, logit, name=name)


def build_uniform_generator(latent_dim: int = 100, units: Sequence[int] = (1200, 1200), output_dim: int = 784,
                            activation: str = "relu", output_activation: str = "sigmoid", init_range: float = 0.05,
                            output_bias=None, seed: int | None = None, name: str = "generator") -> keras.Model:
    """Functional MLP ``z -> G(z)`` with pylearn2's initialisation (Goodfellow et al. 2014's MNIST
    generator: 100 -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid): weights uniform in
    (-init_range, init_range), zero biases, except the output layer's biases when ``output_bias``
    (an array of ``output_dim`` values, e.g. :func:`marginal_output_bias` of the training images) is given.
    """
    initializer = keras.initializers.RandomUniform(-init_range, init_range, seed=seed)
    generator = build_mlp(latent_dim, (*units, output_dim), (activation,) * len(units) + (output_activation,),
                          name=name, kernel_initializer=initializer, input_name="z")
    if output_bias is not None:
        set_output_bias(generator, output_bias)
    return generator


def marginal_output_bias(images, output_activation: str = "sigmoid") -> np.ndarray:
    """Output biases with which a generator that outputs only its biases draws the training images'
    mean image: pylearn2's ``init_sigmoid_bias_from_marginals`` (the log-odds of the mean of every
    pixel, clipped to [1e-7, 1 - 1e-7]) for a sigmoid output and images in [0, 1]; for a tanh output
    and images in [-1, 1] the same thing, atanh of the mean."""
    mean = np.asarray(images, np.float64).mean(axis=0)
    if output_activation == "sigmoid":
        p = np.clip(mean, 1e-7, 1.0 - 1e-7)
        return np.log(p / (1.0 - p)).astype(np.float32)
    if output_activation == "tanh":
        return np.arctanh(np.clip(mean, -1.0 + 2e-7, 1.0 - 2e-7)).astype(np.float32)
    raise ConfigError(f"no marginal output bias for the output activation {output_activation!r} (sigmoid or tanh)")


def set_output_bias(generator: keras.Model, bias) -> None:
    """Set the biases of the generator's last (output) Dense layer."""
    layer = generator.layers[-1]
    bias = np.asarray(bias, np.float32)
    if tuple(layer.bias.shape) != bias.shape:
        raise ConfigError(f"output bias of shape {bias.shape} for a layer of {tuple(layer.bias.shape)} biases")
    layer.bias.assign(bias)


@keras.saving.register_keras_serializable(package="keras_ae")
class GAN(FusedSteps, EvaluationNoise, keras.Model):
    """``G`` and ``D`` trained by the slides' algorithm; see the module docstring.

    ``d_steps`` is the slides' ``k``. ``generator_loss`` is ``"minimax"`` (slides) or
    ``"non_saturating"``. Compile with ``compile(d_optimizer=..., g_optimizer=...)``.
    Metrics per step: ``d_loss`` (E, averaged over the k updates), ``g_loss`` (the generator's
    objective as minimised), ``d_real`` (mean D(x)) and ``d_fake`` (mean D(G(z))).
    ``minibatch_size`` (the rows of one ``train_step``: k discriminator minibatches) fuses several
    of these steps into one compiled call (:mod:`keras_ae.models.fused`). ``noise`` is the
    distribution of z: ``"normal"`` (N(0, I)) or ``"uniform"`` (U(-sqrt 3, sqrt 3) per component).
    ``updates``: ``"alternating"`` (the slides' k D updates, then one G update on fresh noise
    through the updated D) or ``"simultaneous"`` (k = 1: D's and G's gradients from the same
    samples and dropout masks, both applied at once; see the module docstring).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, d_steps: int = 1,
                 generator_loss: str = "minimax", seed: int | None = None, minibatch_size: int | None = None,
                 noise: str = "normal", updates: str = "alternating", **kwargs):
        super().__init__(**kwargs)
        self._init_fused_steps(minibatch_size)
        if int(d_steps) < 1:
            raise ConfigError(f"d_steps (the slides' k) must be at least 1, got {d_steps}")
        if generator_loss not in GENERATOR_LOSSES:
            raise ConfigError(f"unknown generator_loss {generator_loss!r}; choose one of {', '.join(GENERATOR_LOSSES)}")
        if noise not in NOISES:
            raise ConfigError(f"unknown noise {noise!r}; choose one of {', '.join(NOISES)}")
        if updates not in UPDATES:
            raise ConfigError(f"unknown updates {updates!r}; choose one of {', '.join(UPDATES)}")
        if updates == "simultaneous" and int(d_steps) != 1:
            raise ConfigError(f"simultaneous updates need k = 1 (one D and one G update per minibatch), got k = {d_steps}")
        if getattr(getattr(discriminator.layers[-1], "activation", None), "__name__", None) == "sigmoid":
            raise ConfigError(f"the discriminator {discriminator.name!r} ends in a sigmoid; it must output the logit "
                              "of D(x) (a GAN saved by an older keras_ae: build and train it again)")
        self.noise, self.updates = noise, updates
        self.generator = generator
        self.discriminator = discriminator
        self.d_steps = int(d_steps)
        self.generator_loss = generator_loss
        self.seed = seed
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.seed_generator = ReplicaSeedGenerator(seed)
        self._init_evaluation_noise(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # G and D are functional and already built

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def build(self, input_shape=None):
        self.built = True  # G and D are functional and already built

    def call(self, z, training=False):
        return self.generator(z, training=training)

    # --- optimisers -------------------------------------------------------------------------------
    def compile(self, d_optimizer="adam", g_optimizer="adam", **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        # A fresh Adam per network (a shared string would give one object to both).
        if self.d_optimizer is self.g_optimizer:
            self.g_optimizer = self.d_optimizer.from_config(self.d_optimizer.get_config())
        # Their variables now, not in the first train_step: under a tf.distribute strategy they
        # cannot be created inside the replicas' step (Keras builds only ``self.optimizer``).
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self):
        if not getattr(self, "compiled", False) or not hasattr(self, "d_optimizer"):
            return {}
        return {"d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
                "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer)}

    def named_optimizers(self) -> dict:
        """D's and G's optimizers by attribute name (``model.optimizer``, Keras' default of
        ``compile``, trains nothing): what a :class:`keras_ae.callbacks.TrainingBackup` saves and
        restores. A method, not a property: Keras' weights file walks the model's attributes."""
        return {name: getattr(self, name) for name in ("d_optimizer", "g_optimizer") if hasattr(self, name)}

    def compile_from_config(self, config):
        self.compile(d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
                     g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]))  # builds them

    # --- the slides' losses -----------------------------------------------------------------------
    def sample_noise(self, n, seed_generator=None):
        """``n`` vectors z of ``latent_dim`` (N(0, I), or uniform: ``noise``) from ``seed_generator``
        (default: the model's training stream, ``self.seed_generator``)."""
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        if self.noise == "uniform":
            return keras.random.uniform((n, self.latent_dim), minval=-UNIFORM_NOISE_LIMIT, maxval=UNIFORM_NOISE_LIMIT,
                                        seed=seed_generator)
        return keras.random.normal((n, self.latent_dim), seed=seed_generator)

    def discriminator_error(self, real, fake, training=False):
        """The slides' E = -(1/m) sum [ln D(x) + ln(1 - D(G(z)))], plus mean D(x) and D(G(z))."""
        return self._error_from_logits(self.discriminator(real, training=training),
                                       self.discriminator(fake, training=training))

    @staticmethod
    def _error_from_logits(l_real, l_fake):
        return discriminator_loss(l_real, l_fake), ops.mean(ops.sigmoid(l_real)), ops.mean(ops.sigmoid(l_fake))

    def generator_objective(self, fake, training=False):
        """What the generator minimises: mean ln(1 - D(G(z))) (minimax) or -mean ln D(G(z))."""
        return self._objective_from_logits(self.discriminator(fake, training=training))

    def _objective_from_logits(self, l_fake):
        if self.generator_loss == "minimax":
            return -ops.mean(ops.softplus(l_fake))
        return ops.mean(ops.softplus(-l_fake))

    # --- training ---------------------------------------------------------------------------------
    @staticmethod
    def _real_images(data):
        return data[0] if isinstance(data, (tuple, list)) else data

    def train_step(self, data):
        real = self._real_images(data)
        if self.updates == "simultaneous":
            return self._simultaneous_step(real)
        m = ops.shape(real)[0] // self.d_steps
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        d_total, p_real, p_fake = 0.0, 0.0, 0.0
        for i in range(self.d_steps):  # k discriminator updates, each on fresh real data and noise
            x = real[i * m:(i + 1) * m]
            z = self.sample_noise(m)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                d_error, p_real, p_fake = self.discriminator_error(x, fake, training=True)
                scaled = scale_loss_for_replicas(d_error)  # the optimizer sums the replicas' gradients
            self.d_optimizer.apply(tape.gradient(scaled, d_vars), d_vars)
            d_total += d_error
        z = self.sample_noise(m)  # one generator update on fresh noise
        with tf.GradientTape() as tape:
            g_objective = self.generator_objective(self.generator(z, training=True), training=True)
            scaled = scale_loss_for_replicas(g_objective)
        self.g_optimizer.apply(tape.gradient(scaled, g_vars), g_vars)
        return self._update_metrics(d_total / self.d_steps, g_objective, p_real, p_fake)

    def _simultaneous_step(self, real):
        """One minibatch, one pass of D over the real images and the samples, D's and G's gradients
        at the same weights, both updates at once (pylearn2's ``AdversaryCost2`` with plain SGD)."""
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        z = self.sample_noise(ops.shape(real)[0])
        with tf.GradientTape(persistent=True) as tape:
            l_fake = self.discriminator(self.generator(z, training=True), training=True)
            d_error, p_real, p_fake = self._error_from_logits(self.discriminator(real, training=True), l_fake)
            g_objective = self._objective_from_logits(l_fake)  # the same samples and dropout masks
            d_scaled, g_scaled = scale_loss_for_replicas(d_error), scale_loss_for_replicas(g_objective)
        d_grads, g_grads = tape.gradient(d_scaled, d_vars), tape.gradient(g_scaled, g_vars)
        del tape
        self.d_optimizer.apply(d_grads, d_vars)
        self.g_optimizer.apply(g_grads, g_vars)
        return self._update_metrics(d_error, g_objective, p_real, p_fake)

    def test_step(self, data):
        real = self._real_images(data)
        fake = self.generator(self.sample_noise(ops.shape(real)[0], self.evaluation_seed_generator), training=False)
        d_error, p_real, p_fake = self.discriminator_error(real, fake)
        return self._update_metrics(d_error, self.generator_objective(fake), p_real, p_fake)

    def _update_metrics(self, d_loss, g_loss, p_real, p_fake):
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(p_real)
        self.d_fake_tracker.update_state(p_fake)
        return {m.name: m.result() for m in self.metrics}

    # --- inference and saving ---------------------------------------------------------------------
    def generate(self, n: int, seed: int, batch_size: int = 1000):
        """``n`` images G(z) (numpy) for z drawn from ``seed`` alone.

        ``z = draw_noise(numpy.random.default_rng(seed), n, latent_dim, noise)`` (for N(0, I):
        ``standard_normal((n, latent_dim))`` as float32): the same seed gives the same z whatever
        the model did before (training does not move it) and on any device, so samples repeat
        exactly with the run's seed.
        """
        z = draw_noise(np.random.default_rng(seed), n, self.latent_dim, self.noise)
        return self.generator.predict(z, batch_size=batch_size, verbose=0)

    def discriminate(self, x):
        """D(x) = sigmoid(discriminator(x)): the probability that ``x`` is a real training image."""
        return ops.sigmoid(self.discriminator(x, training=False))

    def export_endpoints(self) -> dict:
        """``generate`` (z -> ``images`` G(z)) and ``discriminate`` (x -> ``probabilities`` D(x) of "real")
        for :func:`keras_ae.export.export_model`."""
        z_spec = [tf.TensorSpec((None, self.latent_dim), tf.float32, name="z")]
        x_spec = [tf.TensorSpec((None, *self.discriminator.inputs[0].shape[1:]), tf.float32, name="x")]
        return {
            "generate": (lambda z: {"images": self.generator(z, training=False)}, z_spec),
            "discriminate": (lambda x: {"probabilities": self.discriminate(x)}, x_spec),
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            d_steps=self.d_steps, generator_loss=self.generator_loss, seed=self.seed, noise=self.noise,
            updates=self.updates,
            **self._fused_config(),
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"), custom_objects=custom_objects)
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"),
                                                              custom_objects=custom_objects)
        return cls(generator=generator, discriminator=discriminator, **config)
