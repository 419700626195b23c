"""SGD with a momentum schedule and pylearn2's learning-rate decay, as Goodfellow et al. (2014) trained
their MNIST GAN (question F's ``--preset goodfellow2014``).

Their pylearn2 configuration (``mnist.yaml`` of github.com/goodfeli/adversarial) trains with
``SGD`` (learning rate 0.1, ``learning_rule: Momentum``, init_momentum 0.5), the update callback
``ExponentialDecay`` (decay_factor 1.000004, min_lr 1e-6) and the extension ``MomentumAdjustor``
(start 1, saturate 250, final_momentum 0.7). Here:

- :class:`InverseExponentialDecay`: the learning rate of update ``t`` (0, 1, 2, ...) is
  ``max(minimum, initial / decay_factor ** t)``: pylearn2's ``ExponentialDecay`` divides the rate
  by ``decay_factor`` after every update and never goes below ``min_lr``.
- :class:`LinearMomentumSchedule`: the momentum during epoch ``n`` (1-based) is
  ``initial + (final - initial) * clip((n - start) / (saturate - start), 0, 1)``: pylearn2's
  ``MomentumAdjustor`` sets it after each epoch's monitoring (and once before the first epoch),
  counting those calls: 0.5 in epoch 1, rising linearly to 0.7 in epoch 250 and after. The epoch
  is counted from the optimizer's own step counter (``iterations // steps_per_epoch``), so a
  resumed fit (whose optimizer state comes back from its backup) continues the schedule.
- :class:`ScheduledMomentumSGD`: Keras' SGD update (``v = mu v - lr g; w = w + v``, pylearn2's
  ``Momentum`` rule without Nesterov) with ``mu`` from such a schedule; Keras' own SGD takes only
  a constant momentum.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_ae.errors import ConfigError


@keras.saving.register_keras_serializable(package="keras_ae")
class InverseExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``lr(t) = max(minimum, initial_learning_rate / decay_factor ** t)`` for update ``t`` = 0, 1, ...

    Computed as ``initial * exp(-t ln(decay_factor))`` with ``ln(decay_factor)`` taken in double
    precision (``1 / 1.000004`` in float32 would be off by up to 3e-8, i.e. 1 % after 300,000 updates).
    """

    def __init__(self, initial_learning_rate: float, decay_factor: float, minimum: float = 0.0):
        if initial_learning_rate <= 0 or decay_factor < 1 or minimum < 0:
            raise ConfigError(f"InverseExponentialDecay needs initial_learning_rate > 0, decay_factor >= 1 and "
                              f"minimum >= 0, got {initial_learning_rate}, {decay_factor}, {minimum}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_factor = float(decay_factor)
        self.minimum = float(minimum)
        self._log_factor = math.log(self.decay_factor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        rate = self.initial_learning_rate * ops.exp(-step * self._log_factor)
        return ops.maximum(rate, self.minimum)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_factor": self.decay_factor,
                "minimum": self.minimum}


@keras.saving.register_keras_serializable(package="keras_ae")
class LinearMomentumSchedule:
    """Momentum ``initial`` up to epoch ``start``, rising linearly to ``final`` at epoch ``saturate``,
    then constant (pylearn2's ``MomentumAdjustor``; epochs 1-based). Called with the optimizer's
    step counter; ``steps_per_epoch`` is that optimizer's updates per epoch."""

    def __init__(self, initial: float, final: float, start: int = 1, saturate: int = 250, steps_per_epoch: int = 1):
        if not (0.0 <= initial < 1.0 and 0.0 <= final < 1.0):
            raise ConfigError(f"momentum values must lie in [0, 1), got {initial} and {final}")
        if start < 1 or saturate < start or steps_per_epoch < 1:
            raise ConfigError(f"momentum schedule needs 1 <= start <= saturate and steps_per_epoch >= 1, got "
                              f"start={start}, saturate={saturate}, steps_per_epoch={steps_per_epoch}")
        self.initial, self.final = float(initial), float(final)
        self.start, self.saturate, self.steps_per_epoch = int(start), int(saturate), int(steps_per_epoch)

    def at_epoch(self, epoch: int) -> float:
        """The momentum during 1-based ``epoch`` (plain Python, for tests and figures)."""
        if self.saturate == self.start:
            alpha = 1.0 if epoch >= self.start else 0.0
        else:
            alpha = min(1.0, max(0.0, (epoch - self.start) / (self.saturate - self.start)))
        return self.initial + (self.final - self.initial) * alpha

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / float(self.steps_per_epoch)) + 1.0
        if self.saturate == self.start:
            alpha = ops.cast(epoch >= self.start, "float32")
        else:
            alpha = ops.clip((epoch - self.start) / float(self.saturate - self.start), 0.0, 1.0)
        return self.initial + (self.final - self.initial) * alpha

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "start": self.start, "saturate": self.saturate,
                "steps_per_epoch": self.steps_per_epoch}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_ae")
class ScheduledMomentumSGD(keras.optimizers.SGD):
    """SGD whose momentum follows ``momentum_schedule`` (a :class:`LinearMomentumSchedule` or any
    serializable callable of the step counter): ``v = mu(t) v - lr(t) g; w = w + v`` with ``t`` the
    optimizer's ``iterations`` before the update. ``learning_rate`` may be a schedule too."""

    def __init__(self, learning_rate=0.01, momentum_schedule=None, **kwargs):
        if isinstance(momentum_schedule, dict):
            momentum_schedule = keras.saving.deserialize_keras_object(momentum_schedule)
        if momentum_schedule is None or not callable(momentum_schedule):
            raise ConfigError("ScheduledMomentumSGD needs a momentum_schedule (e.g. LinearMomentumSchedule)")
        if kwargs.pop("nesterov", False):
            raise ConfigError("ScheduledMomentumSGD has no Nesterov variant")
        kwargs.pop("momentum", None)  # from a saved config: the schedule holds it
        first = float(momentum_schedule(0))
        super().__init__(learning_rate=learning_rate, momentum=first, nesterov=False, **kwargs)
        self.momentum_schedule = momentum_schedule

    def build(self, variables):
        if self.built:
            return
        keras.optimizers.Optimizer.build(self, variables)
        # a velocity per variable even when the schedule starts at 0 (SGD's own build skips them then)
        self.momentums = self.add_optimizer_variables(variables, "momentum")

    def current_momentum(self):
        """The momentum the next update uses."""
        return self.momentum_schedule(self.iterations)

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self.momentums[self._get_variable_index(variable)]
        momentum = ops.cast(self.current_momentum(), variable.dtype)
        self.assign(velocity, ops.subtract(ops.multiply(velocity, momentum), ops.multiply(gradient, learning_rate)))
        self.assign_add(variable, velocity)

    def get_config(self):
        config = super().get_config()
        config.pop("momentum", None)
        config.pop("nesterov", None)
        config["momentum_schedule"] = keras.saving.serialize_keras_object(self.momentum_schedule)
        return config
