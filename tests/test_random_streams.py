"""The random streams of the models that draw noise in their steps (denoising AE, AAE, GAN, VAE).

Training draws from the model's training stream; evaluation from a stream of its own, derived
from the model's seed and restarted at every evaluation. So validating during ``fit`` leaves
the training trajectory alone, and every evaluation of the same weights gives the same numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_python

KINDS = ("denoising", "adversarial", "gan", "variational")


def build(kind: str, seed: int = 1):
    """A tiny model of ``kind`` on 20 inputs in [0, 1]; same initial weights on every call."""
    import keras

    from keras_ae.models import (GAN, DenoisingAutoencoder, build_adversarial_autoencoder, build_discriminator,
                                 build_generator, build_mlp)
    from keras_ae.models.variational import build_vae

    keras.utils.set_random_seed(0)
    if kind == "denoising":
        encoder = build_mlp(20, (8, 3), ("relu", None), name="encoder")
        decoder = build_mlp(3, (8, 20), ("relu", "sigmoid"), name="decoder", input_name="z")
        return DenoisingAutoencoder(encoder, decoder, noise_stddev=0.3, noise_seed=seed)
    if kind == "adversarial":
        return build_adversarial_autoencoder(20, 3, (8,), (8,), seed=seed)
    if kind == "gan":
        return GAN(build_generator(3, (8,), output_dim=20, seed=seed),
                   build_discriminator(20, (8,), dropout=0.0, seed=seed), seed=seed)
    return build_vae(20, (8,), latent_dim=2, seed=seed)


def compile_model(kind: str, model):
    import keras

    if kind == "denoising":
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    elif kind == "variational":
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
    else:
        model.compile()  # Adam for each network
    return model


def data():
    rng = np.random.default_rng(0)
    return rng.random((192, 20)).astype("float32"), rng.random((96, 20)).astype("float32")


def training_generator(kind: str, model):
    return model.sampling.seed_generator if kind == "variational" else model.seed_generator


@pytest.mark.parametrize("kind", KINDS)
def test_validating_during_fit_does_not_change_the_training_trajectory(kind):
    x, x_val = data()
    plain = compile_model(kind, build(kind))
    plain.fit(x, x, batch_size=64, epochs=2, shuffle=False, verbose=0)
    validated = compile_model(kind, build(kind))
    history = validated.fit(x, x, batch_size=64, epochs=2, shuffle=False, verbose=0, validation_data=(x_val, x_val))
    assert any(name.startswith("val_") for name in history.history)
    assert len(plain.get_weights()) == len(validated.get_weights())
    for a, b in zip(plain.get_weights(), validated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # and the training stream is where plain training left it
    np.testing.assert_array_equal(np.asarray(training_generator(kind, plain).state),
                                  np.asarray(training_generator(kind, validated).state))


@pytest.mark.parametrize("kind", KINDS)
def test_every_evaluation_sees_the_same_noise(kind):
    import keras

    x, x_val = data()
    model = compile_model(kind, build(kind))
    history = model.fit(x, x, batch_size=64, epochs=1, shuffle=False, verbose=0, validation_data=(x_val, x_val))
    first = model.evaluate(x_val, x_val, batch_size=64, verbose=0, return_dict=True)
    second = model.evaluate(x_val, x_val, batch_size=64, verbose=0, return_dict=True)
    assert first == second
    # fit's validation at the end of the epoch is the same evaluation of the same weights
    assert {name: history.history[f"val_{name}"][-1] for name in first} == pytest.approx(first, rel=1e-6)
    batch = x_val[:64]
    assert model.test_on_batch(batch, batch, return_dict=True) == model.test_on_batch(batch, batch, return_dict=True)
    # the evaluation stream is part of what the config rebuilds: same weights, same evaluation
    clone = compile_model(kind, keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model)))
    clone.set_weights(model.get_weights())
    assert clone.evaluate(x_val, x_val, batch_size=64, verbose=0, return_dict=True) == pytest.approx(first, rel=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_the_evaluation_stream_is_not_the_training_stream_and_follows_the_seed(kind):
    import keras

    def draws(model):
        training = keras.random.normal((6,), seed=training_generator(kind, model))
        evaluation = keras.random.normal((6,), seed=model.evaluation_seed_generator)
        return np.asarray(training), np.asarray(evaluation)

    training, evaluation = draws(build(kind, seed=1))
    assert not np.allclose(training, evaluation)
    np.testing.assert_array_equal(draws(build(kind, seed=1))[1], evaluation)
    assert not np.allclose(draws(build(kind, seed=2))[1], evaluation)


def test_evaluation_stream_under_a_mirrored_strategy():
    """Two logical CPUs: each replica draws its own evaluation noise, the stream restarts at every
    evaluation, and validation does not move the training trajectory."""
    out = run_python("""
import json, tensorflow as tf
import keras, numpy as np
from keras_ae.questions.common import distribution_strategy
from tests.test_random_streams import KINDS, build, compile_model, data

x, x_val = data()
strategy = distribution_strategy("mirrored")
result = {"replicas": strategy.num_replicas_in_sync}
for kind in KINDS:
    with strategy.scope():
        plain = compile_model(kind, build(kind))
        validated = compile_model(kind, build(kind))
    plain.fit(x, x, batch_size=64, epochs=2, shuffle=False, verbose=0)
    validated.fit(x, x, batch_size=64, epochs=2, shuffle=False, verbose=0, validation_data=(x_val, x_val))
    same_weights = all(np.allclose(a, b, rtol=1e-6, atol=1e-7)
                       for a, b in zip(plain.get_weights(), validated.get_weights()))
    first, second = (validated.evaluate(x_val, x_val, batch_size=64, verbose=0, return_dict=True) for _ in range(2))
    with strategy.scope():
        draws = strategy.experimental_local_results(tf.function(lambda: strategy.run(
            lambda: keras.random.normal((4,), seed=validated.evaluation_seed_generator)))())
    result[kind] = {"same_weights": same_weights, "same_evaluation": first == second,
                    "replicas_differ": not np.allclose(draws[0], draws[1])}
print(json.dumps(result))
""", process="two_cpus")
    result = json.loads(out.strip().splitlines()[-1])
    assert result.pop("replicas") == 2
    assert result == {kind: {"same_weights": True, "same_evaluation": True, "replicas_differ": True} for kind in KINDS}
