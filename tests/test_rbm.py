"""The restricted Boltzmann machine (keras_ae.models.rbm): the CD-1 update by hand, learning, the
momentum switch, the stack's unrolling, saving and the SavedModel in a fresh process."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_python


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _tiny_rbm(hidden_type: str, seed: int = 3, visible: int = 6, hidden: int = 4):
    import keras

    from keras_ae.models.rbm import RBM

    rbm = RBM(visible, hidden, hidden_type, seed=seed)
    rng = np.random.default_rng(seed)  # nonzero biases, so that every term of the update shows
    rbm.hidden_bias.assign(rng.normal(0, 0.5, hidden).astype(np.float32))
    rbm.visible_bias.assign(rng.normal(0, 0.5, visible).astype(np.float32))
    assert [v.path.split("/")[-1] for v in rbm.trainable_variables] == ["kernel", "hidden_bias", "visible_bias"]
    assert isinstance(rbm, keras.Model)
    return rbm


@pytest.mark.parametrize("hidden_type", ["bernoulli", "gaussian"])
def test_cd1_update_matches_a_numpy_computation_given_the_same_hidden_samples(hidden_type):
    """Two SGD-with-momentum steps of CD-1 (rbm.m / rbmhidlinear.m): the weights, biases and the
    logged metrics equal the Matlab code's formulas evaluated in numpy with the samples the step drew."""
    import tensorflow as tf

    from keras_ae.models.rbm import WEIGHT_COST, compile_rbm

    rbm = _tiny_rbm(hidden_type)
    lr, momentum = 0.1, 0.5
    compile_rbm(rbm, learning_rate=lr)  # SGD with the initial momentum 0.5
    assert rbm.optimizer.momentum == momentum
    v0 = np.random.default_rng(0).random((5, 6)).astype(np.float32)  # pixel-like values used as probabilities
    W, c, b = (rbm.kernel.numpy().astype(np.float64), rbm.hidden_bias.numpy().astype(np.float64),
               rbm.visible_bias.numpy().astype(np.float64))
    inc = [np.zeros_like(W), np.zeros_like(c), np.zeros_like(b)]
    for step in range(2):
        state = rbm.seed_generator.state.numpy()
        logs = rbm.train_on_batch(v0, return_dict=True)
        # the hidden sample the step drew: the same stateless draw from the same generator state
        after = rbm.seed_generator.state.numpy()
        rbm.seed_generator.state.assign(state)
        a0 = v0 @ W + c
        h0 = _sigmoid(a0) if hidden_type == "bernoulli" else a0
        hs = rbm.sample_hidden(tf.constant(h0, tf.float32)).numpy().astype(np.float64)
        rbm.seed_generator.state.assign(after)
        if hidden_type == "bernoulli":
            assert set(np.unique(hs)) <= {0.0, 1.0}
        else:
            assert 0.3 < np.std(hs - h0) < 3.0  # unit-variance noise around the linear means
        v1 = _sigmoid(hs @ W.T + b)
        a1 = v1 @ W + c
        h1 = _sigmoid(a1) if hidden_type == "bernoulli" else a1
        n = len(v0)
        # rbm.m: vishidinc = momentum*vishidinc + epsilonw*((posprods-negprods)/numcases - weightcost*vishid)
        inc[0] = momentum * inc[0] + lr * ((v0.T @ h0 - v1.T @ h1) / n - WEIGHT_COST * W)
        inc[1] = momentum * inc[1] + lr / n * (h0.sum(0) - h1.sum(0))
        inc[2] = momentum * inc[2] + lr / n * (v0.sum(0) - v1.sum(0))
        # the metrics use the parameters before the update
        error = np.mean(np.sum((v0 - v1) ** 2, axis=1))
        if hidden_type == "bernoulli":
            free_energy = np.mean(-v0 @ b - np.sum(np.logaddexp(0, a0), axis=1))
        else:
            free_energy = np.mean(-v0 @ b - np.sum(a0 ** 2, axis=1) / 2 - 4 / 2 * np.log(2 * np.pi))
        assert logs["reconstruction_error"] == pytest.approx(error, rel=1e-4), step
        assert logs["free_energy"] == pytest.approx(free_energy, rel=1e-4), step
        W, c, b = W + inc[0], c + inc[1], b + inc[2]
        np.testing.assert_allclose(rbm.kernel.numpy(), W, rtol=1e-5, atol=1e-6, err_msg=f"W, step {step + 1}")
        np.testing.assert_allclose(rbm.hidden_bias.numpy(), c, rtol=1e-5, atol=1e-6, err_msg=f"c, step {step + 1}")
        np.testing.assert_allclose(rbm.visible_bias.numpy(), b, rtol=1e-5, atol=1e-6, err_msg=f"b, step {step + 1}")


def test_free_energy_and_conditionals_by_hand():
    from keras_ae.models.rbm import RBM

    x = np.random.default_rng(1).random((3, 6)).astype(np.float32)
    for hidden_type in ("bernoulli", "gaussian"):
        rbm = _tiny_rbm(hidden_type, seed=5)
        W, c, b = rbm.kernel.numpy(), rbm.hidden_bias.numpy(), rbm.visible_bias.numpy()
        a = x @ W + c
        h = _sigmoid(a) if hidden_type == "bernoulli" else a
        np.testing.assert_allclose(rbm.encode(x).numpy(), h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rbm.decode(h).numpy(), _sigmoid(h @ W.T + b), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rbm(x).numpy(), _sigmoid(h @ W.T + b), rtol=1e-5, atol=1e-6)
        if hidden_type == "bernoulli":  # F(v) = -ln sum_h exp(-E(v, h)), summed over all 2^4 hidden states
            states = np.array([[(s >> j) & 1 for j in range(4)] for s in range(16)], np.float64)
            energies = -(x @ b)[:, None] - states @ c - (x @ W) @ states.T  # (rows, states)
            by_hand = -np.log(np.exp(-energies).sum(axis=1))
        else:
            by_hand = -(x @ b) - np.sum(a ** 2, axis=1) / 2 - 2 * np.log(2 * np.pi)
        np.testing.assert_allclose(rbm.free_energy(x).numpy(), by_hand, rtol=1e-5)
    with pytest.raises(Exception, match="hidden_type"):
        RBM(4, 2, "binary")


def test_cd1_training_lowers_the_reconstruction_error_and_the_free_energy_of_the_data(mnist_small):
    """The reconstruction error falls epoch by epoch; the free energy of the training digits falls
    relative to that of noise images (the log-probability the RBM gives them, up to the log-partition
    function that the same training moves: ``F`` of the data alone may rise in the first epochs)."""
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.models.rbm import RBM, compile_rbm, rbm_callbacks

    x = mnist_small[0][:500]
    noise = np.random.default_rng(0).permuted(x, axis=1)  # the same pixel values, scattered: no digit
    keras.utils.set_random_seed(0)
    rbm = compile_rbm(RBM(784, 32, seed=0))

    def gap():  # mean F(noise) - mean F(data): how much likelier the model finds the digits
        return float(np.mean(rbm.free_energy(noise)) - np.mean(rbm.free_energy(x)))

    before, gap_before = rbm.evaluate(x, batch_size=500, verbose=0, return_dict=True), gap()
    history = rbm.fit(make_dataset(x, batch_size=100, seed=0), epochs=4, callbacks=rbm_callbacks(), shuffle=False,
                      verbose=0).history
    after, gap_after = rbm.evaluate(x, batch_size=500, verbose=0, return_dict=True), gap()
    errors = history["reconstruction_error"]
    assert all(later < earlier for earlier, later in zip(errors, errors[1:])), errors
    assert after["reconstruction_error"] < 0.5 * before["reconstruction_error"], (before, after)
    assert abs(gap_before) < 5 and gap_after > 20, (gap_before, gap_after)


def test_momentum_is_0_5_for_five_epochs_then_0_9_and_the_step_uses_it(mnist_small):
    """The schedule of rbm.m; the switch takes effect in the compiled step (which reads SGD's momentum
    when it is traced): the weights follow a run without the switch until the switch and differ after it."""
    import keras

    from keras_ae.callbacks import MomentumSchedule
    from keras_ae.data import make_dataset
    from keras_ae.models.rbm import RBM, compile_rbm, rbm_momentum

    assert [rbm_momentum(e) for e in range(7)] == [0.5] * 5 + [0.9] * 2
    x = mnist_small[0][:200]

    def train(epochs, schedule):
        keras.utils.set_random_seed(0)
        rbm = compile_rbm(RBM(784, 8, "gaussian", seed=1))
        seen = []
        record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(rbm.optimizer.momentum))
        callbacks = [MomentumSchedule(schedule), record] if schedule else [record]
        rbm.fit(make_dataset(x, batch_size=100, seed=0), epochs=epochs, callbacks=callbacks, shuffle=False, verbose=0)
        return rbm.kernel.numpy(), seen

    switch = lambda epoch: 0.5 if epoch < 1 else 0.9  # noqa: E731  (the switch after one epoch: a short test)
    w_switch_1, seen = train(1, switch)
    w_plain_1, _ = train(1, None)
    np.testing.assert_array_equal(w_switch_1, w_plain_1)
    w_switch_2, seen = train(2, switch)
    w_plain_2, _ = train(2, None)
    assert seen == [0.5, 0.9]
    assert np.abs(w_switch_2 - w_plain_2).max() > 1e-6  # the second epoch's steps used momentum 0.9


def test_unrolled_autoencoder_is_the_stacks_up_pass_and_down_pass():
    from keras_ae.models import Autoencoder
    from keras_ae.models.rbm import build_rbm_stack, hidden_probabilities, unroll_rbm_stack

    rbms = build_rbm_stack(12, (8, 6), 3, seed=7)
    assert [(r.visible_units, r.hidden_units, r.hidden_type) for r in rbms] == [
        (12, 8, "bernoulli"), (8, 6, "bernoulli"), (6, 3, "gaussian")]
    rng = np.random.default_rng(2)
    for rbm in rbms:  # biases of their own, so that a swapped bias shows
        rbm.hidden_bias.assign(rng.normal(0, 1, rbm.hidden_units).astype(np.float32))
        rbm.visible_bias.assign(rng.normal(0, 1, rbm.visible_units).astype(np.float32))
    model = unroll_rbm_stack(rbms, name="unrolled")
    assert isinstance(model, Autoencoder)
    x = rng.random((5, 12)).astype(np.float32)
    up = x
    for rbm in rbms:  # the deterministic up-pass, by hand
        a = up @ rbm.kernel.numpy() + rbm.hidden_bias.numpy()
        up = _sigmoid(a) if rbm.hidden_type == "bernoulli" else a
    np.testing.assert_allclose(model.encoder(x).numpy(), up, rtol=1e-5, atol=1e-5)
    z = rng.normal(size=(5, 3)).astype(np.float32)
    down = z
    for rbm in reversed(rbms):  # the down-pass: visible probabilities of each RBM
        down = _sigmoid(down @ rbm.kernel.numpy().T + rbm.visible_bias.numpy())
    np.testing.assert_allclose(model.decoder(z).numpy(), down, rtol=1e-5, atol=1e-5)
    # the same through the RBMs' own methods, and the data each RBM is trained on
    h = hidden_probabilities(rbms[0], x, batch_size=2)
    np.testing.assert_allclose(h, rbms[0].encode(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.encoder.layers[1](x).numpy(), h, rtol=1e-5, atol=1e-6)


def test_saved_rbm_round_trips_and_the_savedmodel_computes_the_same_in_a_fresh_process(tmp_path, mnist_small):
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.export import export_model, load_keras_model
    from keras_ae.models.rbm import RBM, compile_rbm, rbm_callbacks

    x = mnist_small[0][:300]
    keras.utils.set_random_seed(0)
    rbm = compile_rbm(RBM(784, 16, seed=2, name="rbm_under_test"))
    rbm.fit(make_dataset(x, batch_size=100, seed=0), epochs=1, callbacks=rbm_callbacks(), shuffle=False, verbose=0)
    path = export_model(rbm, tmp_path / "rbm", metadata={"value_range": "unit"})
    probe = x[:7]
    want = {"encode": rbm.encode(probe).numpy(), "reconstruct": rbm.reconstruct(probe).numpy()}
    want["decode"] = rbm.decode(want["encode"]).numpy()
    np.save(tmp_path / "probe.npy", probe)
    np.save(tmp_path / "codes.npy", want["encode"])
    run_python(
        "import numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({str(path)!r})\n"
        f"x = np.load({str(tmp_path / 'probe.npy')!r}); z = np.load({str(tmp_path / 'codes.npy')!r})\n"
        "out = {'encode': m.encode(x)['codes'], 'reconstruct': m.reconstruct(x)['reconstruction'],\n"
        "       'decode': m.decode(z)['reconstruction']}\n"
        f"np.savez({str(tmp_path / 'fresh.npz')!r}, **{{k: v.numpy() for k, v in out.items()}})\n")
    fresh = np.load(tmp_path / "fresh.npz")
    for name, value in want.items():
        np.testing.assert_allclose(fresh[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    loaded = load_keras_model(path)  # model.keras: get_config / from_config, the weights, the optimizer
    assert type(loaded) is RBM and loaded.get_config() == rbm.get_config()
    for a, b in zip(loaded.trainable_variables, rbm.trainable_variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert loaded.optimizer.learning_rate.numpy() == pytest.approx(0.1)


def test_fit_resumed_from_its_backup_after_the_momentum_switch_matches_an_uninterrupted_fit(mnist_small, tmp_path):
    """The per-epoch backup (TrainingBackup) of an RBM fit: killed after the momentum switch, the
    resumed fit starts with the right momentum, velocities and sample stream and ends where an
    uninterrupted fit ends."""
    import keras

    from keras_ae.callbacks import MomentumSchedule, resume_from, standard_callbacks
    from keras_ae.data import make_dataset
    from keras_ae.models.rbm import RBM, compile_rbm

    class Interrupted(Exception):
        pass

    class Kill(keras.callbacks.Callback):  # in epoch 3 (1-based), after its first batch
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 0:
                raise Interrupted

    x = mnist_small[0][:300]

    def fit(run_dir, kill=None):
        keras.utils.set_random_seed(0)
        rbm = compile_rbm(RBM(784, 16, seed=4))
        switch = MomentumSchedule(lambda epoch: 0.5 if epoch < 1 else 0.9)
        callbacks = standard_callbacks(str(run_dir), backup={"rbm": 1}) + [switch]
        start = resume_from(callbacks, rbm, 4)
        history = rbm.fit(make_dataset(x, batch_size=100, seed=0, first_epoch=start), initial_epoch=start, epochs=4,
                          shuffle=False, verbose=0, callbacks=callbacks + ([kill] if kill else []))
        return rbm, history.history, callbacks[0]

    straight, straight_history, _ = fit(tmp_path / "straight")
    with pytest.raises(Interrupted):
        fit(tmp_path / "resumed", Kill())
    resumed, resumed_history, backup = fit(tmp_path / "resumed")
    assert backup.resumed_epoch == 2 and resumed.optimizer.momentum == 0.9
    for a, b in zip([*resumed.variables, *resumed.optimizer.variables],  # weights, sample stream, velocities
                    [*straight.variables, *straight.optimizer.variables], strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7, err_msg=a.path)
    for key in straight_history:
        np.testing.assert_allclose(resumed_history[key], straight_history[key], rtol=1e-6)
