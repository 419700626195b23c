"""Fused steps (``minibatch_size``, :mod:`keras_ae.models.fused`) make exactly plain fit's updates
for every model class: the same minibatches in the same order, the same random draws (noise,
prior samples, dropout), the same optimizer steps, losses, metrics and final weights, with and
without XLA. Each is compared with plain fit compiled the same way: XLA's and TensorFlow's kernels
round differently (Adam turns rounding in near-zero gradients into visible weight differences), and
XLA draws other random numbers than TensorFlow's kernels from the same seed (its stateless random
ops scramble a non-constant seed differently)."""

import pytest

ROWS, BATCH, STEPS = 1000, 128, 4  # 7 whole minibatches of 128 and one of 104 per epoch


def _build(kind: str, minibatch_size):
    import keras

    from keras_ae.models import (AdversarialAutoencoder, DenoisingAutoencoder, build_adversarial_autoencoder,
                                 build_dense_autoencoder)
    from keras_ae.models.variational import build_vae
    from keras_ae.models.classifier import build_encoder_classifier
    from keras_ae.models.gan import GAN, build_discriminator, build_generator

    keras.utils.set_random_seed(0)
    if kind == "denoising":
        model = build_dense_autoencoder(784, (32, 8), (32,), seed=1, model_class=DenoisingAutoencoder,
                                        noise_stddev=0.3, noise_seed=2, minibatch_size=minibatch_size)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    elif kind == "adversarial":
        model = build_adversarial_autoencoder(784, 4, (32,), (16,), seed=3, minibatch_size=minibatch_size)
        assert isinstance(model, AdversarialAutoencoder)
        model.compile()
    elif kind == "gan":  # k = 2 discriminator minibatches of 64 per step, dropout in D
        model = GAN(build_generator(8, (32,), 784, output_activation="sigmoid", seed=4),
                    build_discriminator(784, (32,), dropout=0.3, seed=5), d_steps=2, seed=6,
                    minibatch_size=minibatch_size)
        model.compile(d_optimizer=keras.optimizers.Adam(2e-4), g_optimizer=keras.optimizers.Adam(2e-4))
    elif kind == "vae":
        model = build_vae(784, (32,), 2, seed=7, minibatch_size=minibatch_size)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
    elif kind == "rbm":  # CD-1 with Bernoulli hidden samples, SGD with momentum
        from keras_ae.models.rbm import RBM, compile_rbm

        model = compile_rbm(RBM(784, 32, seed=10, minibatch_size=minibatch_size))
    elif kind == "classifier":
        encoder = build_dense_autoencoder(784, (32, 8), (32,), seed=8).encoder
        model = build_encoder_classifier(encoder, seed=9, minibatch_size=minibatch_size)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    else:
        raise AssertionError(kind)
    return model


def _optimizers(model):
    from keras_ae.models import AdversarialAutoencoder
    from keras_ae.models.gan import GAN

    if isinstance(model, GAN):
        return [model.d_optimizer, model.g_optimizer]
    if isinstance(model, AdversarialAutoencoder):
        return [model.reconstruction_optimizer, model.discriminator_optimizer, model.generator_optimizer]
    return [model.optimizer]


def _train(kind, data, fused: bool, jit_compile: bool, drop_remainder: bool):
    from keras_ae.data import make_dataset

    model = _build(kind, BATCH if fused else None)
    model.jit_compile = jit_compile
    x, y = data
    ds = make_dataset(x, y, batch_size=BATCH, seed=0, drop_remainder=drop_remainder,
                      steps_per_batch=STEPS if fused else 1)
    history = model.fit(ds, epochs=2, shuffle=False, verbose=0)
    return model, history.history


# Without XLA every model runs the epoch's short last minibatch (and the GAN also without it).
# XLA compiles once per batch shape, so its cases drop the remainder, one compile per side, except
# the GAN's: the richest step (k = 2 D minibatches, dropout, two optimizers) also runs XLA's short
# fused batch.
KINDS = ("denoising", "adversarial", "gan", "vae", "classifier", "rbm")
CASES = ([(kind, False, False) for kind in KINDS] + [("gan", True, False), ("gan", False, True)]
         + [(kind, True, True) for kind in KINDS if kind != "gan"])


@pytest.mark.parametrize("kind, drop_remainder, jit_compile", CASES,
                         ids=[f"{k}{'_drop' if d else ''}-{'xla' if j else 'no_xla'}" for k, d, j in CASES])
def test_fused_steps_equal_plain_fit(mnist_small, kind, drop_remainder, jit_compile):
    import numpy as np

    x, y = mnist_small[0][:ROWS], (mnist_small[1][:ROWS] if kind == "classifier" else None)
    plain, h_plain = _train(kind, (x, y), False, jit_compile, drop_remainder)
    fused, h_fused = _train(kind, (x, y), True, jit_compile, drop_remainder)
    steps = 2 * (ROWS // BATCH if drop_remainder else -(-ROWS // BATCH))
    for a, b in zip(_optimizers(plain), _optimizers(fused), strict=True):
        assert int(a.iterations.numpy()) == int(b.iterations.numpy()) > 0
    assert int(_optimizers(plain)[-1].iterations.numpy()) == steps  # the GAN's D steps k times per step
    assert set(h_fused) == set(h_plain)
    for key in h_plain:
        assert h_fused[key] == pytest.approx(h_plain[key], rel=1e-4, abs=1e-6), key
    for a, b in zip(plain.weights, fused.weights, strict=True):  # also the random streams' states
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=2e-5, err_msg=a.path)


@pytest.mark.parametrize("steps, drop", [(1, False), (3, False), (3, True), (1, True)])
def test_repeated_dataset_runs_through_the_epochs_of_per_epoch_passes(steps, drop):
    """``repeat=True``: one pass yields epoch 0's batches, then epoch 1's, ... exactly as
    separate passes do, no batch spanning two epochs; ``batches_per_epoch`` counts them."""
    import numpy as np

    from keras_ae.data import batches_per_epoch, make_dataset

    x = np.arange(1000, dtype=np.float32)[:, None]
    per_epoch = make_dataset(x, batch_size=128, seed=3, drop_remainder=drop, steps_per_batch=steps)
    passes = [[b[0].numpy() for b in per_epoch] for _ in range(3)]
    k = batches_per_epoch(1000, 128, steps, drop)
    assert all(len(p) == k for p in passes)
    repeated = make_dataset(x, batch_size=128, seed=3, drop_remainder=drop, steps_per_batch=steps, repeat=True)
    got = [b[0].numpy() for b in repeated.take(3 * k)]
    for a, b in zip([b for p in passes for b in p], got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_make_dataset_fused_batches_hold_the_plain_minibatches_also_when_dropping_the_remainder():
    import numpy as np

    from keras_ae.data import make_dataset

    x = np.arange(1000, dtype=np.float32)[:, None]
    for drop in (False, True):
        ds = make_dataset(x, batch_size=128, seed=3, drop_remainder=drop)
        plain = [b[0].numpy()[:, 0] for epoch in range(2) for b in ds]
        ds = make_dataset(x, batch_size=128, seed=3, drop_remainder=drop, steps_per_batch=3)
        fused = [b[0].numpy()[:, 0] for epoch in range(2) for b in ds]
        cut = [chunk for b in fused for chunk in np.split(b, range(128, len(b), 128))]
        assert len(cut) == len(plain) == 2 * (7 if drop else 8)
        for a, b in zip(plain, cut):
            np.testing.assert_array_equal(a, b)



@pytest.mark.parametrize("steps_per_execution, jit_compile, run_eagerly",
                         [(3, False, False), (3, True, False), (2, False, True)], ids=["spe3", "spe3_xla", "eager"])
def test_fused_train_function_honours_keras_options(mnist_small, steps_per_execution, jit_compile, run_eagerly):
    """The fused train function runs Keras' ``steps_per_execution`` steps per call (fewer at the
    end of an epoch: 4 fused batches per epoch here, calls of 3 and 1), under XLA or eagerly,
    with plain fit's updates."""
    import keras
    import numpy as np

    from keras_ae.data import make_dataset

    x = mnist_small[0][:ROWS]
    results = []
    for fused in (False, True):
        model = _build("denoising", BATCH if fused else None)
        model.jit_compile, model.run_eagerly = jit_compile, run_eagerly
        if fused:
            model.steps_per_execution = steps_per_execution
        calls = []
        counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: calls.append(batch))
        ds = make_dataset(x, batch_size=BATCH, seed=0, steps_per_batch=2 if fused else 1)
        history = model.fit(ds, epochs=2, shuffle=False, verbose=0, callbacks=[counter]).history
        results.append((model, history, calls))
    (plain, h_plain, _), (fused, h_fused, calls) = results
    per_epoch = -(-4 // steps_per_execution)
    assert len(calls) == 2 * per_epoch  # one call per steps_per_execution fused batches
    assert int(fused.optimizer.iterations.numpy()) == int(plain.optimizer.iterations.numpy()) == 16
    for key in h_plain:
        assert h_fused[key] == pytest.approx(h_plain[key], rel=1e-4, abs=1e-6), key
    for a, b in zip(plain.weights, fused.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=2e-5, err_msg=a.path)
