"""Restricted Boltzmann machines trained by 1-step contrastive divergence (CD-1), and the layer-wise
pretraining of a deep autoencoder by a stack of them (Hinton & Salakhutdinov 2006).

An :class:`RBM` has visible units ``v`` (Bernoulli: values in [0, 1], pixel intensities or the
hidden probabilities of the RBM below, used as probabilities as the published code does) and
hidden units ``h``, connected by the weights ``W`` (visible x hidden), with biases ``b`` (visible)
and ``c`` (hidden). Its hidden units are

- ``"bernoulli"``: binary stochastic, ``p(h_j = 1 | v) = sigmoid(c_j + v W_:j)``; energy
  ``E(v, h) = -v.b - h.c - v W h`` and free energy ``F(v) = -v.b - sum_j softplus(c_j + v W_:j)``;
- ``"gaussian"``: linear units with unit-variance Gaussian noise, ``h_j | v ~ N(c_j + v W_:j, 1)``
  (the 30-unit code layer of the paper); energy ``E = -v.b - h.c - v W h + |h|^2 / 2`` and free
  energy ``F(v) = -v.b - sum_j (c_j + v W_:j)^2 / 2 - (H / 2) ln(2 pi)``.

In both, ``p(v_i = 1 | h) = sigmoid(b_i + W_i: h)``.

One training step on a minibatch of ``n`` rows ``v0`` is Hinton and Salakhutdinov's CD-1 as in
their published Matlab code (``rbm.m``, ``rbmhidlinear.m``): ``h0 = E[h | v0]`` (probabilities or
linear means), a sample ``hs`` of ``h | v0``, the reconstruction ``v1 = p(v = 1 | hs)`` (probabilities,
not sampled), ``h1 = E[h | v1]``. The statistics ``(v0' h0 - v1' h1) / n``, ``sum(h0 - h1) / n``,
``sum(v0 - v1) / n`` are the ascent directions of the log-likelihood; the step hands their negatives,
plus the weight cost ``weight_cost * W`` on the weights only, as *gradients* to the compiled optimizer
(``optimizer.apply``). With ``keras.optimizers.SGD(learning_rate=eps, momentum=mu)`` (Keras' update
``m <- mu m - eps g; w <- w + m``) that is exactly the Matlab update
``inc <- mu inc + eps ((pos - neg) / n - weightcost W); W <- W + inc``. The momentum of the published
code, 0.5 for the first five epochs and 0.9 after them, is :func:`rbm_momentum`, applied by
:class:`keras_ae.callbacks.MomentumSchedule`; :func:`compile_rbm` and :func:`rbm_callbacks` set both up.

Logged metrics: ``reconstruction_error``, the sum over the visible units of ``(v0 - v1)^2`` per row
(the error ``rbm.m`` prints, per row instead of summed over the epoch) and ``free_energy``, the mean
``F(v0)`` of the training rows; both from the parameters before the step's update. Evaluation
(``test_step``) reports the deterministic (mean-field) reconstruction error
``|v - decode(encode(v))|^2`` and the mean free energy.

The stack (:func:`build_rbm_stack`, :func:`hidden_probabilities`, :func:`unroll_rbm_stack`): RBM ``k + 1``
is trained on the hidden probabilities of RBM ``k`` for the training rows; the trained stack unrolls
into a :class:`~keras_ae.models.Autoencoder` (built by :func:`~keras_ae.models.build_dense_autoencoder`)
whose encoder layers have the RBMs' ``W`` and hidden biases and whose decoder layers have ``W'`` and
visible biases, in reverse order, ready for fine-tuning.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_ae.errors import ConfigError
from keras_ae.models.dense import build_dense_autoencoder, layer_seed
from keras_ae.models.distribute import ReplicaSeedGenerator, num_replicas
from keras_ae.models.fused import FusedSteps

HIDDEN_TYPES = ("bernoulli", "gaussian")

# Hinton & Salakhutdinov's published Matlab code (rbm.m, rbmhidlinear.m, makebatches.m)
LEARNING_RATES = {"bernoulli": 0.1, "gaussian": 0.001}  # epsilonw = epsilonvb = epsilonhb
WEIGHT_COST = 0.0002
INITIAL_MOMENTUM, FINAL_MOMENTUM, MOMENTUM_EPOCHS = 0.5, 0.9, 5  # 0.5 in epochs 1-5, then 0.9
BATCH_SIZE = 100
INIT_STDDEV = 0.1  # vishid = 0.1 * randn(numdims, numhid); biases zero


@keras.saving.register_keras_serializable(package="keras_ae")
class RBM(FusedSteps, keras.Model):
    """A restricted Boltzmann machine trained by CD-1 in ``fit``; see the module docstring.

    ``hidden_type`` is ``"bernoulli"`` or ``"gaussian"`` (linear units with unit-variance noise).
    ``weight_cost`` is the L2 cost on ``W`` folded into its gradient. The weights start as
    ``N(0, init_stddev^2)``, the biases at zero. ``seed`` seeds both the weights and the stream
    of hidden samples (a ``keras.random.SeedGenerator``, whose state the per-epoch training backup
    keeps). Compile with a ``keras.optimizers.SGD`` (:func:`compile_rbm`); ``minibatch_size`` fuses
    several CD-1 steps into one compiled call (:mod:`keras_ae.models.fused`).

    ``encode`` (hidden probabilities or linear means), ``decode`` (visible probabilities),
    ``reconstruct`` (``decode(encode(v))``, also ``call``) and ``free_energy`` work on tensors; the
    SavedModel export has the endpoints ``encode`` -> ``codes``, ``decode`` and ``reconstruct`` ->
    ``reconstruction``.
    """

    def __init__(self, visible_units: int, hidden_units: int, hidden_type: str = "bernoulli",
                 weight_cost: float = WEIGHT_COST, init_stddev: float = INIT_STDDEV, seed: int | None = None,
                 minibatch_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self._init_fused_steps(minibatch_size)
        if hidden_type not in HIDDEN_TYPES:
            raise ConfigError(f"unknown hidden_type {hidden_type!r}; choose one of {', '.join(HIDDEN_TYPES)}")
        if int(visible_units) < 1 or int(hidden_units) < 1:
            raise ConfigError(f"an RBM needs at least one visible and one hidden unit, got {visible_units} "
                              f"and {hidden_units}")
        if not float(weight_cost) >= 0.0:
            raise ConfigError(f"weight_cost must be >= 0, got {weight_cost}")
        self.visible_units, self.hidden_units = int(visible_units), int(hidden_units)
        self.hidden_type, self.weight_cost = hidden_type, float(weight_cost)
        self.init_stddev, self.seed = float(init_stddev), seed
        init_seed = None if seed is None else layer_seed(seed, "kernel")
        # created in this order: trainable_variables is [kernel, hidden_bias, visible_bias]
        normal = keras.initializers.RandomNormal(0.0, self.init_stddev, seed=init_seed)
        self.kernel = self.add_weight(shape=(self.visible_units, self.hidden_units), initializer=normal, name="kernel")
        self.hidden_bias = self.add_weight(shape=(self.hidden_units,), initializer="zeros", name="hidden_bias")
        self.visible_bias = self.add_weight(shape=(self.visible_units,), initializer="zeros", name="visible_bias")
        self.seed_generator = ReplicaSeedGenerator(seed)
        self.reconstruction_error_tracker = keras.metrics.Mean(name="reconstruction_error")
        self.free_energy_tracker = keras.metrics.Mean(name="free_energy")
        self.built = True

    @property
    def metrics(self):
        # listed here so that Keras resets them at the start of every epoch and evaluation
        return [self.reconstruction_error_tracker, self.free_energy_tracker]

    def build(self, input_shape=None):
        self.built = True  # the weights exist from __init__

    # --- the model's conditionals ------------------------------------------------------------------
    def hidden_input(self, v):
        """``c + v W``: the total input of every hidden unit."""
        return ops.matmul(ops.cast(v, self.kernel.dtype), self.kernel) + self.hidden_bias

    def _hidden_mean(self, hidden_input):
        return ops.sigmoid(hidden_input) if self.hidden_type == "bernoulli" else hidden_input

    def encode(self, v):
        """``E[h | v]``: hidden probabilities (Bernoulli) or linear means (Gaussian)."""
        return self._hidden_mean(self.hidden_input(v))

    def sample_hidden(self, hidden_mean, seed_generator=None):
        """A sample of ``h | v`` given ``E[h | v]``: 1 where a uniform draw lies below the
        probability (Bernoulli), the mean plus N(0, 1) noise (Gaussian). Draws from
        ``seed_generator`` (default: the model's stream, ``self.seed_generator``)."""
        seed_generator = self.seed_generator if seed_generator is None else seed_generator
        shape, dtype = ops.shape(hidden_mean), hidden_mean.dtype
        if self.hidden_type == "bernoulli":
            return ops.cast(keras.random.uniform(shape, dtype=dtype, seed=seed_generator) < hidden_mean, dtype)
        return hidden_mean + keras.random.normal(shape, dtype=dtype, seed=seed_generator)

    def decode(self, h):
        """``p(v = 1 | h) = sigmoid(b + h W')``: visible probabilities."""
        return ops.sigmoid(ops.matmul(ops.cast(h, self.kernel.dtype), ops.transpose(self.kernel)) + self.visible_bias)

    def reconstruct(self, v):
        """``decode(encode(v))``: the deterministic (mean-field) reconstruction."""
        return self.decode(self.encode(v))

    def call(self, inputs, training=False):
        return self.reconstruct(inputs)

    def free_energy(self, v, hidden_input=None):
        """``F(v)`` per row (``-ln`` of the unnormalised ``p(v)``; see the module docstring).
        ``hidden_input`` (``c + v W``) may be passed when it is computed already."""
        v = ops.cast(v, self.kernel.dtype)
        a = self.hidden_input(v) if hidden_input is None else hidden_input
        visible_term = ops.sum(v * self.visible_bias, axis=-1)
        if self.hidden_type == "bernoulli":
            return -visible_term - ops.sum(ops.softplus(a), axis=-1)
        return -visible_term - ops.sum(ops.square(a), axis=-1) / 2.0 - 0.5 * self.hidden_units * math.log(2 * math.pi)

    # --- CD-1 -------------------------------------------------------------------------------------
    def cd_gradients(self, v0, h0, hidden_sample):
        """The CD-1 update as gradients for ``optimizer.apply``, given the data ``v0``, its hidden
        means ``h0`` and the hidden sample drawn from them. Returns ``(gradients, v1)``, gradients
        in the order of ``trainable_variables`` (``kernel``, ``hidden_bias``, ``visible_bias``) and
        ``v1`` the reconstruction (visible probabilities given the sample)."""
        v1 = self.decode(hidden_sample)
        h1 = self.encode(v1)
        n = ops.cast(ops.shape(v0)[0], v0.dtype)
        positive = ops.matmul(ops.transpose(v0), h0)
        negative = ops.matmul(ops.transpose(v1), h1)
        grad_kernel = (negative - positive) / n + self.weight_cost * self.kernel
        grad_hidden = ops.sum(h1 - h0, axis=0) / n
        grad_visible = ops.sum(v1 - v0, axis=0) / n
        return [grad_kernel, grad_hidden, grad_visible], v1

    @staticmethod
    def _visible(data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x

    def train_step(self, data):
        v0 = ops.cast(self._visible(data), self.kernel.dtype)
        a0 = self.hidden_input(v0)
        h0 = self._hidden_mean(a0)
        grads, v1 = self.cd_gradients(v0, h0, self.sample_hidden(h0))
        free_energy = self.free_energy(v0, a0)  # before the update changes the biases
        replicas = num_replicas()
        if replicas > 1:  # the optimizer sums the replicas' gradients (keras_ae.models.distribute)
            grads = [g / replicas for g in grads]
        self.optimizer.apply(grads, self.trainable_variables)
        return self._update_metrics(v0, v1, free_energy)

    def test_step(self, data):
        v = ops.cast(self._visible(data), self.kernel.dtype)
        a = self.hidden_input(v)
        return self._update_metrics(v, self.decode(self._hidden_mean(a)), self.free_energy(v, a))

    def _update_metrics(self, v, reconstruction, free_energy):
        self.reconstruction_error_tracker.update_state(ops.sum(ops.square(v - reconstruction), axis=-1))
        self.free_energy_tracker.update_state(free_energy)
        return {m.name: m.result() for m in self.metrics}

    # --- export and saving ------------------------------------------------------------------------
    @property
    def sample_shape(self) -> tuple:
        return (self.visible_units,)

    @property
    def code_shape(self) -> tuple:
        return (self.hidden_units,)

    def export_endpoints(self) -> dict:
        """``encode`` (v -> ``codes``, the hidden means), ``decode`` (h -> ``reconstruction``, visible
        probabilities) and ``reconstruct`` (v -> ``reconstruction``) for
        :func:`keras_ae.export.export_model`."""
        v_spec = [tf.TensorSpec((None, self.visible_units), tf.float32, name="x")]
        h_spec = [tf.TensorSpec((None, self.hidden_units), tf.float32, name="z")]
        return {
            "encode": (lambda x: {"codes": self.encode(x)}, v_spec),
            "decode": (lambda z: {"reconstruction": self.decode(z)}, h_spec),
            "reconstruct": (lambda x: {"reconstruction": self.reconstruct(x)}, v_spec),
        }

    def get_config(self):
        config = super().get_config()
        config.update(visible_units=self.visible_units, hidden_units=self.hidden_units, hidden_type=self.hidden_type,
                      weight_cost=self.weight_cost, init_stddev=self.init_stddev, seed=self.seed,
                      **self._fused_config())
        return config


def rbm_momentum(epoch: int) -> float:
    """The published code's momentum in (0-based) ``epoch``: 0.5 in the first five epochs, then 0.9."""
    return INITIAL_MOMENTUM if epoch < MOMENTUM_EPOCHS else FINAL_MOMENTUM


def compile_rbm(rbm: RBM, learning_rate: float | None = None, jit_compile: bool = False) -> RBM:
    """Compile an RBM for CD-1 with SGD at the published learning rate of its hidden type.

    ``keras.optimizers.SGD`` at 0.1 (Bernoulli hidden units) or 0.001 (Gaussian) unless
    ``learning_rate`` is given, momentum 0.5 (train with
    :func:`rbm_callbacks` for the switch to 0.9)."""
    rate = LEARNING_RATES[rbm.hidden_type] if learning_rate is None else float(learning_rate)
    rbm.compile(optimizer=keras.optimizers.SGD(learning_rate=rate, momentum=INITIAL_MOMENTUM), jit_compile=jit_compile)
    return rbm


def rbm_callbacks() -> list:
    """The callbacks CD-1 training needs in ``fit``: the momentum schedule (:func:`rbm_momentum`)."""
    from keras_ae.callbacks import MomentumSchedule

    return [MomentumSchedule(rbm_momentum)]


# --- the stack -------------------------------------------------------------------------------------

def build_rbm_stack(input_dim: int, units: Sequence[int], code_dim: int, seed: int | None = None,
                    minibatch_size: int | None = None, name: str = "rbm") -> list[RBM]:
    """The stack of RBMs that pretrains a deep autoencoder layer by layer (question H).

    RBMs ``input_dim-units[0]``, ``units[0]-units[1]``, ..., ``units[-1]-code_dim``: Bernoulli hidden
    units except the last RBM's, which are linear (Gaussian), as in the paper. Each is seeded with a
    seed derived from ``seed`` and its position, named ``<name>_1``, ``<name>_2``, ..."""
    sizes = [int(input_dim), *map(int, units), int(code_dim)]
    last = len(sizes) - 2
    return [RBM(sizes[i], sizes[i + 1], "gaussian" if i == last else "bernoulli",
                seed=None if seed is None else layer_seed(seed, f"{name}_{i + 1}"),
                minibatch_size=minibatch_size, name=f"{name}_{i + 1}")
            for i in range(last + 1)]


def hidden_probabilities(rbm: RBM, x, batch_size: int = 1000) -> np.ndarray:
    """``rbm.encode`` of the rows of ``x`` (numpy), in batches: the data the next RBM is trained on."""
    x = np.asarray(x, np.float32)
    parts = [ops.convert_to_numpy(rbm.encode(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, rbm.hidden_units), np.float32)


def unroll_rbm_stack(rbms: Sequence[RBM], name: str = "autoencoder", minibatch_size: int | None = None):
    """The deep autoencoder of a trained RBM stack (Hinton & Salakhutdinov 2006, Fig. 1 "unrolling").

    Built by :func:`~keras_ae.models.build_dense_autoencoder`: encoder layer ``k`` has RBM ``k``'s
    ``W`` and hidden biases and its units' activation (logistic, or linear for Gaussian hidden
    units); decoder layer ``k`` has RBM ``L + 1 - k``'s ``W'`` and visible biases and logistic
    units, the last one giving the reconstruction. Its encoder is the stack's deterministic
    up-pass, its decoder the down-pass."""
    rbms = list(rbms)
    if not rbms:
        raise ConfigError("no RBMs to unroll")
    for below, above in zip(rbms, rbms[1:]):
        if below.hidden_units != above.visible_units:
            raise ConfigError(f"RBM {below.name} has {below.hidden_units} hidden units but the next one, "
                              f"{above.name}, {above.visible_units} visible units")
    if any(rbm.hidden_type != "bernoulli" for rbm in rbms[:-1]):
        raise ConfigError("only the top RBM of a stack may have Gaussian (linear) hidden units")
    hidden = [rbm.hidden_units for rbm in rbms]
    model = build_dense_autoencoder(
        input_dim=rbms[0].visible_units, encoder_units=hidden, decoder_units=tuple(reversed(hidden[:-1])),
        activation="sigmoid", code_activation="sigmoid" if rbms[-1].hidden_type == "bernoulli" else None,
        output_activation="sigmoid", init="glorot", bias_initializer="zeros", name=name,
        minibatch_size=minibatch_size)
    encoder_layers = _dense_layers(model.encoder)
    decoder_layers = _dense_layers(model.decoder)
    for layer, rbm in zip(encoder_layers, rbms, strict=True):
        layer.set_weights([ops.convert_to_numpy(rbm.kernel), ops.convert_to_numpy(rbm.hidden_bias)])
    for layer, rbm in zip(decoder_layers, reversed(rbms), strict=True):
        layer.set_weights([ops.convert_to_numpy(rbm.kernel).T, ops.convert_to_numpy(rbm.visible_bias)])
    return model


def _dense_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
