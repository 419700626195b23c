"""Every layer of every builder starts from weights of its own (issue 13, item 1).

A seeded Keras initializer draws statelessly from its seed: one object shared by several layers
starts every layer of the same shape as a copy. These tests build each of keras_ae's networks
under each initialisation scheme and compare every pair of random weight tensors of equal size.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest


def _assert_no_copies(model):
    tensors = [(w.path, np.ravel(w.numpy())) for w in model.weights if w.trainable]
    random = [(p, t) for p, t in tensors if t.size > 1 and np.ptp(t) > 0]  # zeros/constants are not draws
    assert len(random) >= 2, f"{model.name}: fewer than two random tensors to compare"
    for (pa, a), (pb, b) in itertools.combinations(random, 2):
        if a.size == b.size:
            assert not np.array_equal(a, b), f"{model.name}: {pa} and {pb} start as copies"
            assert not np.array_equal(np.sort(a), np.sort(b)), f"{model.name}: {pa} is a permutation of {pb}"


def _builders():
    from keras_ae.models import (build_adversarial_autoencoder, build_conv_autoencoder, build_dense_autoencoder,
                                 build_discriminator, build_encoder_classifier, build_generator,
                                 build_patch_autoencoder)
    from keras_ae.models.variational import build_vae
    from keras_ae.questions import question_a, question_h, question_i

    for init, seed in itertools.product(("normal", "glorot", "keras"), (None, 3)):
        # a square-ish net so that layers of equal size exist in encoder and decoder alike
        yield f"dense-{init}-{seed}", lambda init=init, seed=seed: build_dense_autoencoder(
            64, (32, 32, 16), (32, 32), init=init, seed=seed)
    for variant in question_a.VARIANTS.values():
        yield f"A-{variant.name}", lambda v=variant: question_a.build_model(v)
    yield "G-patch", lambda: build_patch_autoencoder(8, 16, hidden_units=(64,), seed=5)
    yield "H", lambda: question_h.build_model((64, 64, 32), 8)
    yield "I-pretraining", lambda: question_i.build_pretraining_autoencoder([64, 64, 32], seed=1)
    yield "I-classifier", lambda: build_encoder_classifier(question_i.build_encoder([64, 64], seed=2), 10,
                                                           hidden_units=(64, 64), seed=2)
    for seed in (None, 4):
        yield f"F-generator-{seed}", lambda seed=seed: build_generator(16, (64, 64), 64, seed=seed)
        yield f"F-discriminator-{seed}", lambda seed=seed: build_discriminator(64, (64, 64), seed=seed)
    yield "E-aae", lambda: build_adversarial_autoencoder(64, 8, (32, 32), (32, 32), seed=6)
    yield "E-aae-normal-dropout", lambda: build_adversarial_autoencoder(64, 8, (32, 32), (32, 32), seed=6,
                                                                        init_stddev=0.01, dropout=0.2,
                                                                        discriminator_dropout=0.5)
    yield "J-vae", lambda: build_vae(64, (32, 32), 2, seed=7)
    yield "D-conv", lambda: build_conv_autoencoder((8, 8, 3), (4, 4), 4)


@pytest.mark.parametrize("name", [name for name, _ in _builders()])
def test_no_two_layers_start_as_copies(name):
    build = dict(_builders())[name]
    _assert_no_copies(build())


def test_seeded_builds_repeat_and_seeds_matter():
    from keras_ae.models import build_dense_autoencoder

    def weights(seed):
        return [w.numpy() for w in build_dense_autoencoder(64, (32, 16), (32,), init="normal", seed=seed).weights]

    first, again, other = weights(1), weights(1), weights(2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))


def test_layer_initializer_keeps_the_scheme():
    import keras

    from keras_ae.models.dense import layer_initializer

    base = keras.initializers.RandomNormal(0.0, 0.5, seed=9)
    a, b = layer_initializer(base, "x/kernel"), layer_initializer(base, "y/kernel")
    assert isinstance(a, keras.initializers.RandomNormal) and a.stddev == 0.5
    assert a.get_config()["seed"] != b.get_config()["seed"]
    assert layer_initializer("zeros", "x") == "zeros"
    zeros = keras.initializers.Zeros()
    assert layer_initializer(zeros, "x") is zeros
