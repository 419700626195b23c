"""Question F's ``--preset goodfellow2014`` and its parts: the Maxout layer, the paper's networks,
SGD with pylearn2's momentum schedule and learning-rate decay, uniform noise, the held-out Parzen
score with early stopping and the best epoch's weights (also across a resume), and today's
default options left as they were."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

# today's question F (no preset): every option value, as before the preset existed
TODAYS_DEFAULTS = {
    "k": 1, "generator_loss": "minimax", "latent_dim": 100, "beta_1": 0.5, "dropout": 0.3, "sample_every": 5,
    "validation_size": 10000, "parzen_samples": 10000,
    "sigmas": list(np.logspace(-1, 0, 10)), "classifier_epochs": 3,
    "fused_steps": 16, "xla": True, "no_backup": False, "data_dir": None, "output_dir": "results/question_f",
    "saved_models_dir": "saved_models", "no_export": False, "epochs": 30, "batch_size": 64, "learning_rate": 2e-4,
    "seed": 0, "train_limit": None, "test_limit": None, "tensorboard": False, "strategy": "none", "verbose": None,
}
# the options added with the preset, at the values that keep today's run
NEUTRAL_NEW_OPTIONS = {
    "export_name": "question_f_gan", "noise": "normal", "pixel_range": "signed", "generator_units": [256, 512, 1024],
    "generator_activation": "leaky_relu", "generator_init_range": None, "generator_output_bias": "zeros",
    "discriminator_units": [1024, 512, 256], "maxout_pieces": 1, "input_dropout": 0.0,
    "discriminator_init_range": None, "optimizer": "adam", "d_learning_rate": None, "momentum": 0.5,
    "final_momentum": None, "momentum_saturate": 250, "lr_decay_factor": 1.0, "min_learning_rate": 0.0,
    "parzen_every": 0, "parzen_every_samples": 2000, "parzen_every_points": 1000, "patience": 0, "keep_best": False,
    "preset": None, "updates": "alternating",
}


def test_default_options_are_todays():
    from keras_ae.questions import question_f

    args = vars(question_f.build_parser().parse_args([]))
    assert args == {**TODAYS_DEFAULTS, **NEUTRAL_NEW_OPTIONS}
    # and build_model's defaults (the benchmark reads them) are today's networks
    import inspect

    params = inspect.signature(question_f.build_model).parameters
    assert params["generator_units"].default == (256, 512, 1024)
    assert params["discriminator_units"].default == (1024, 512, 256)


# --- Maxout ---------------------------------------------------------------------------------------

def test_preset_long_is_todays_run_for_longer_with_the_held_out_curve():
    from keras_ae.questions import question_f

    args = vars(question_f.build_parser().parse_args(["--preset", "long"]))
    changed = {"epochs": 150, "parzen_every": 5, "keep_best": True, "sample_every": 25, "preset": "long",
               "output_dir": "results/question_f_long", "export_name": "question_f_long_gan"}
    for key, value in {**TODAYS_DEFAULTS, **NEUTRAL_NEW_OPTIONS, **changed}.items():
        assert args[key] == value, key  # the network, optimizer, batch and data of today's run
    assert args["patience"] == 0  # never stops early: the whole curve


def test_preset_goodfellow2014_gaussian_differs_only_in_the_noise_and_where_it_writes():
    from keras_ae.questions import question_f

    uniform = vars(question_f.build_parser().parse_args(["--preset", "goodfellow2014"]))
    gaussian = vars(question_f.build_parser().parse_args(["--preset", "goodfellow2014_gaussian"]))
    differ = {k for k in uniform if uniform[k] != gaussian[k]}
    assert differ == {"noise", "output_dir", "export_name", "preset"}
    assert (uniform["noise"], gaussian["noise"]) == ("uniform", "normal")
    assert gaussian["output_dir"] == "results/question_f_goodfellow2014_gaussian"
    assert "goodfellow2014_gaussian" in question_f.QUESTION.preset_titles


def test_maxout_output_is_the_numpy_max_over_each_units_pieces():
    from keras_ae.models.gan import Maxout

    rng = np.random.default_rng(0)
    units, pieces = 4, 3
    layer = Maxout(units, pieces)
    x = rng.normal(size=(6, 5)).astype("float32")
    layer.build(x.shape)
    w = rng.normal(size=(5, units * pieces)).astype("float32")
    b = rng.normal(size=(units * pieces,)).astype("float32")
    layer.set_weights([w, b])
    z = x @ w + b
    expected = np.stack([z[:, i * pieces:(i + 1) * pieces].max(axis=1) for i in range(units)], axis=1)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 5)) == (None, units)
    clone = Maxout.from_config(layer.get_config())
    assert (clone.units, clone.pieces) == (units, pieces)


# --- SGD with pylearn2's schedules ------------------------------------------------------------------

def test_momentum_schedule_and_learning_rate_decay_follow_pylearn2():
    from keras_ae.optimizers import InverseExponentialDecay, LinearMomentumSchedule

    schedule = LinearMomentumSchedule(0.5, 0.7, start=1, saturate=250, steps_per_epoch=10)
    # epoch n (1-based) = step // 10 + 1; momentum 0.5 in epoch 1, + 0.2 (n - 1) / 249, 0.7 from epoch 250
    for step, epoch in [(0, 1), (9, 1), (10, 2), (2485, 249), (2490, 250), (10 ** 5, 10001)]:
        expected = 0.5 + 0.2 * min(1.0, (epoch - 1) / 249)
        assert float(schedule(step)) == pytest.approx(expected, abs=1e-6), step
        assert schedule.at_epoch(epoch) == pytest.approx(expected)
    decay = InverseExponentialDecay(0.1, 1.000004, minimum=1e-6)
    for step in (0, 1, 500, 250_000):
        assert float(decay(step)) == pytest.approx(0.1 / 1.000004 ** step, rel=1e-6)
    assert float(decay(10 ** 7)) == pytest.approx(1e-6)  # pylearn2's min_lr


def test_scheduled_momentum_sgd_updates_by_hand():
    """v = mu(t) v - lr(t) g; w = w + v, with mu stepping up at the epoch boundary (2 steps/epoch)."""
    import keras

    from keras_ae.optimizers import InverseExponentialDecay, LinearMomentumSchedule, ScheduledMomentumSGD

    schedule = LinearMomentumSchedule(0.5, 0.9, start=1, saturate=2, steps_per_epoch=2)
    rate = InverseExponentialDecay(0.1, 1.5)
    opt = ScheduledMomentumSGD(rate, schedule)
    w = keras.Variable(np.array([1.0, -2.0], np.float32))
    grads = [np.array([1.0, 2.0], np.float32), np.array([-1.0, 0.5], np.float32), np.array([0.3, 0.3], np.float32)]
    v, expected = np.zeros(2), np.array([1.0, -2.0])
    for t, g in enumerate(grads):
        opt.apply([g], [w])
        mu = 0.5 if t < 2 else 0.9
        v = mu * v - 0.1 / 1.5 ** t * g
        expected = expected + v
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(opt))
    assert restored.momentum_schedule.get_config() == schedule.get_config()
    assert restored.get_config()["learning_rate"]["config"] == rate.get_config()


# --- the preset's options reach the model -----------------------------------------------------------

def test_preset_options_reach_the_model():
    import keras

    from keras_ae.models.gan import Maxout, marginal_output_bias
    from keras_ae.optimizers import InverseExponentialDecay, ScheduledMomentumSGD
    from keras_ae.questions import question_f

    args = question_f.build_parser().parse_args(["--preset", "goodfellow2014"])
    assert (args.output_dir, args.export_name) == ("results/question_f_goodfellow2014", "question_f_goodfellow2014_gan")
    assert args.sigmas == pytest.approx(list(np.logspace(-1, 0, 10)))  # Goodfellow's parzen_ll.py grid
    images = np.random.default_rng(0).random((40, 784)).astype("float32")
    images[:, 0] = 0.0  # a pixel never lit: its bias is pylearn2's clipped log-odds of 1e-7
    steps = 500
    gan = question_f.model_from_args(args, images, steps)

    # G: 100 -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid, weights uniform in (-0.05, 0.05), output bias from marginals
    dense = [layer for layer in gan.generator.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [1200, 1200, 784]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "sigmoid"]
    assert gan.latent_dim == 100 and gan.noise == "uniform"
    for layer in dense:
        kernel = layer.kernel.numpy()
        assert np.abs(kernel).max() <= 0.05 and np.abs(kernel).max() > 0.045 and abs(kernel.mean()) < 1e-3
    bias = dense[-1].bias.numpy().astype(np.float64)
    np.testing.assert_allclose(bias, marginal_output_bias(images), rtol=1e-6)
    # sigmoid(bias) is every pixel's mean over the training images, clipped to [1e-7, 1 - 1e-7]
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-bias)), np.clip(images.mean(axis=0), 1e-7, 1 - 1e-7), rtol=1e-5)
    assert bias[0] == pytest.approx(math.log(1e-7 / (1 - 1e-7)), rel=1e-5)
    # D: dropout 0.2 on the input, two maxout layers of 240 units x 5 pieces each followed by dropout 0.5, a logit
    layers = gan.discriminator.layers[1:]
    kinds = [(type(layer).__name__, getattr(layer, "rate", None) or getattr(layer, "units", None)) for layer in layers]
    assert kinds == [("Dropout", 0.2), ("Maxout", 240), ("Dropout", 0.5), ("Maxout", 240), ("Dropout", 0.5),
                     ("Dense", 1)]
    maxouts = [layer for layer in layers if isinstance(layer, Maxout)]
    assert [m.pieces for m in maxouts] == [5, 5] and maxouts[0].kernel.shape == (784, 1200)
    assert all(np.abs(m.kernel.numpy()).max() <= 0.005 for m in maxouts)
    # the training algorithm: k = 1, non-saturating G loss, SGD 0.05 (D on E = 2x pylearn2's objective) / 0.1,
    # each divided by 1.000004 per update (floor 1e-6), momentum 0.5 -> 0.7 by epoch 250 of 500 updates
    assert (gan.d_steps, gan.generator_loss, gan.updates) == (1, "non_saturating", "simultaneous")
    for optimizer, rate in ((gan.d_optimizer, 0.05), (gan.g_optimizer, 0.1)):
        assert isinstance(optimizer, ScheduledMomentumSGD)
        schedule = optimizer._learning_rate
        assert isinstance(schedule, InverseExponentialDecay)
        assert schedule.get_config() == {"initial_learning_rate": rate, "decay_factor": 1.000004, "minimum": 1e-6}
        assert optimizer.momentum_schedule.get_config() == {"initial": 0.5, "final": 0.7, "start": 1,
                                                            "saturate": 250, "steps_per_epoch": steps}
    # explicit options still win over the preset
    other = question_f.build_parser().parse_args(["--preset", "goodfellow2014", "--maxout-pieces", "3",
                                                  "--discriminator-units", "16", "--dropout", "0.25"])
    gan = question_f.model_from_args(other, images, steps)
    maxouts = [layer for layer in gan.discriminator.layers if isinstance(layer, Maxout)]
    assert [(m.units, m.pieces) for m in maxouts] == [(16, 3)]
    assert [layer.rate for layer in gan.discriminator.layers if isinstance(layer, keras.layers.Dropout)] == [0.2, 0.25]


@pytest.mark.parametrize("updates", ["simultaneous", "alternating"])
def test_simultaneous_updates_take_both_gradients_at_the_same_weights(updates):
    """pylearn2's AdversaryCost2 under plain SGD: D's and G's gradients from one minibatch of samples
    at the same weights, applied together (G's update through D before D's update). The alternating
    step, checked against the same hand computation, must differ in G (it goes through the updated D)."""
    import keras
    import tensorflow as tf

    from keras_ae.errors import ConfigError
    from keras_ae.models.gan import GAN, build_discriminator, build_generator

    keras.utils.set_random_seed(0)
    gan = GAN(build_generator(6, (8,), output_dim=12, output_activation="sigmoid"),
              build_discriminator(12, (8,), dropout=0.0), seed=1, generator_loss="non_saturating", updates=updates)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.5), g_optimizer=keras.optimizers.SGD(0.5))
    x = tf.constant(np.random.default_rng(0).random((5, 12)), tf.float32)
    d0 = [v.numpy() for v in gan.discriminator.trainable_variables]
    g0 = [v.numpy() for v in gan.generator.trainable_variables]
    state = gan.seed_generator.state.numpy()
    z = gan.sample_noise(5)  # the z the step will draw
    gan.seed_generator.state.assign(state)
    with tf.GradientTape(persistent=True) as tape:
        l_fake = gan.discriminator(gan.generator(z))
        l_real = gan.discriminator(x)
        d_error = tf.reduce_mean(tf.nn.softplus(-l_real)) + tf.reduce_mean(tf.nn.softplus(l_fake))
        g_objective = tf.reduce_mean(tf.nn.softplus(-l_fake))
    d_expected = [w - 0.5 * g.numpy() for w, g in zip(d0, tape.gradient(d_error, gan.discriminator.trainable_variables))]
    g_expected = [w - 0.5 * g.numpy() for w, g in zip(g0, tape.gradient(g_objective, gan.generator.trainable_variables))]
    logs = gan.train_step(x)
    for v, w in zip(gan.discriminator.trainable_variables, d_expected):
        np.testing.assert_allclose(v.numpy(), w, rtol=1e-5, atol=1e-6)
    close = all(np.allclose(v.numpy(), w, rtol=1e-5, atol=1e-6)
                for v, w in zip(gan.generator.trainable_variables, g_expected))
    assert close == (updates == "simultaneous")
    if updates == "simultaneous":
        assert float(logs["g_loss"]) == pytest.approx(float(g_objective), rel=1e-5)
        assert float(logs["d_loss"]) == pytest.approx(float(d_error), rel=1e-5)
        assert gan.get_config()["updates"] == "simultaneous"
        with pytest.raises(ConfigError, match="k = 1"):
            GAN(gan.generator, gan.discriminator, d_steps=2, updates="simultaneous")


def test_uniform_noise_in_training_generate_and_config():
    from keras_ae.models.gan import GAN, UNIFORM_NOISE_LIMIT, build_discriminator, build_generator, draw_noise

    gan = GAN(build_generator(6, (8,), output_dim=12), build_discriminator(12, (8,), dropout=0.0), seed=1,
              noise="uniform")
    z = np.asarray(gan.sample_noise(4000))
    assert np.abs(z).max() <= UNIFORM_NOISE_LIMIT and np.abs(z).max() > 0.99 * UNIFORM_NOISE_LIMIT
    assert z.var() == pytest.approx(1.0, abs=0.05)  # unit variance, as pylearn2's 'uniform'
    expected = draw_noise(np.random.default_rng(3), 5, 6, "uniform")
    np.testing.assert_allclose(gan.generate(5, seed=3), gan.generator.predict(expected, verbose=0), rtol=1e-6)
    assert GAN.from_config(gan.get_config()).noise == "uniform"
    np.testing.assert_array_equal(draw_noise(np.random.default_rng(3), 5, 6),  # normal: what F always drew
                                  np.random.default_rng(3).standard_normal((5, 6)).astype(np.float32))


# --- early stopping on a held-out score, best weights kept --------------------------------------------

def _tiny_model():
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


class _FakeScore:
    """Returns the scores of ``values`` in turn and remembers the weights it scored."""

    def __init__(self, values):
        self.values, self.seen = list(values), []

    def __call__(self, model):
        self.seen.append([np.array(w) for w in model.get_weights()])
        value = self.values[len(self.seen) - 1]
        return value, {"sigma": value / 10}


def test_best_validation_score_stops_after_patience_and_restores_the_best_weights(tmp_path):
    from keras_ae.callbacks import BestValidationScore

    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(32, 2)).astype("float32")
    # scored after epochs 2, 4, 6, 8, ...: best at epoch 4, no rise by 6 and 8, patience 4 -> stop after epoch 8
    fake = _FakeScore([1.0, 3.0, 2.0, 2.5, 9.0, 9.0])
    model = _tiny_model()
    tracker = BestValidationScore(fake, every=2, patience=4, csv_path=str(tmp_path / "score.csv"), verbose=False)
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0, callbacks=[tracker])
    assert len(history.history["loss"]) == 8 and tracker.stopped_epoch == 8
    assert (tracker.best_epoch, tracker.best_value, tracker.wait) == (4, 3.0, 4)
    assert [row["epoch"] for row in tracker.history] == [2, 4, 6, 8]
    for a, b in zip(model.get_weights(), fake.seen[1]):  # the weights scored after epoch 4
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(fake.seen[1][0], fake.seen[3][0])
    lines = (tmp_path / "score.csv").read_text().splitlines()
    assert lines[0] == "epoch,score,sigma" and len(lines) == 5
    # patience 0: all epochs; restore_best False: the last epoch's weights
    fake = _FakeScore([5.0, 1.0, 1.0])
    model = _tiny_model()
    tracker = BestValidationScore(fake, every=2, patience=0, restore_best=False, verbose=False)
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[tracker])
    assert len(history.history["loss"]) == 5 and [row["epoch"] for row in tracker.history] == [2, 4, 5]
    assert tracker.best_epoch == 2 and tracker.best_weights is None
    for a, b in zip(model.get_weights(), fake.seen[-1]):
        np.testing.assert_array_equal(a, b)


def test_best_validation_score_state_survives_a_resume(tmp_path):
    """Killed after the best epoch and resumed from the per-epoch backup: same best epoch, patience
    count, history and final (best) weights as a fit never interrupted."""
    import keras

    from keras_ae.callbacks import BestValidationScore, resume_from, standard_callbacks

    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = np.random.default_rng(1).normal(size=(32, 2)).astype("float32")
    values = [1.0, 4.0, 2.0, 3.0, 3.5, 0.0]  # best after epoch 2; no rise in 3 epochs -> stop after epoch 5

    class Killed(Exception):
        pass

    class Kill(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 3:  # in the 4th epoch: the backup holds epochs 1-3, the best is epoch 2
                raise Killed

    def fit(run_dir, extra=(), score=None):
        keras.utils.set_random_seed(0)
        model = _tiny_model()
        score = score or _FakeScore(values)
        tracker = BestValidationScore(score, every=1, patience=3, verbose=False)
        callbacks = standard_callbacks(str(run_dir), backup={"run": "x"}, companions=[tracker]) + list(extra)
        start = resume_from(callbacks, model, 10)
        history = model.fit(x, y, initial_epoch=start, epochs=10, batch_size=8, verbose=0, callbacks=callbacks,
                            shuffle=False)
        return model, tracker, history, score

    straight, straight_tracker, straight_history, _ = fit(tmp_path / "straight")
    assert straight_tracker.stopped_epoch == 5 and straight_tracker.best_epoch == 2
    with pytest.raises(Killed):
        fit(tmp_path / "resumed", [Kill()])
    assert os.listdir(tmp_path / "resumed" / "backup") == ["epoch_00003"]
    # the resumed run's scorer starts with the 4th value: the first three were scored before the kill
    model, tracker, history, _ = fit(tmp_path / "resumed", score=_FakeScore(values[3:]))
    assert (tracker.best_epoch, tracker.best_value, tracker.stopped_epoch) == (2, 4.0, 5)
    assert tracker.history == straight_tracker.history
    assert len(history.history["loss"]) == len(straight_history.history["loss"]) == 5
    for a, b in zip(model.get_weights(), straight.get_weights()):  # the best epoch's weights, restored
        np.testing.assert_allclose(a, b, rtol=1e-6)


# --- the preset end to end -------------------------------------------------------------------------------

def test_preset_runs_end_to_end_on_a_small_slice(tmp_path):
    from keras_ae.questions import question_f

    out, models = tmp_path / "results", tmp_path / "saved_models"
    args = question_f.build_parser().parse_args([
        "--preset", "goodfellow2014", "--epochs", "3", "--train-limit", "400", "--validation-size", "300",
        "--test-limit", "150", "--parzen-samples", "200", "--parzen-every", "1", "--parzen-every-samples", "100",
        "--parzen-every-points", "100", "--patience", "5", "--classifier-epochs", "0", "--sample-every", "3",
        "--generator-units", "64", "64", "--discriminator-units", "32", "32", "--output-dir", str(out),
        "--saved-models-dir", str(models), "--no-xla", "--verbose", "0"])
    result = question_f.run(args)
    row = result.details["rows"][0]
    meta = json.loads((models / "question_f_goodfellow2014_gan" / "metadata.json").read_text())
    assert meta["preset"] == "goodfellow2014" and meta["value_range"] == "unit" and meta["updates"] == "simultaneous"
    assert meta["parzen_test_ll"] == pytest.approx(row["parzen_test_ll"]) and np.isfinite(meta["parzen_test_ll"])
    assert meta["parzen_test_ll_stderr"] > 0
    assert any(meta["parzen_paper_grid_sigma"] == pytest.approx(s) for s in np.logspace(-1, 0, 10))
    assert meta["parzen_paper_grid_test_ll"] == pytest.approx(row["parzen_paper_grid_test_ll"])
    points = (meta["parzen_samples"], meta["parzen_test_points"], meta["parzen_sigma_validation_points"])
    assert points == (200, 150, 300)
    assert (meta["published_parzen_test_ll"], meta["published_parzen_test_ll_stderr"]) == (225.0, 2.0)
    best = meta["parzen_validation_best_epoch"]
    assert 1 <= best <= 3 and meta["weights_of_epoch"] == best
    assert len(result.details["parzen_validation"]) == meta["epochs_trained"] == 3
    assert os.path.getsize(out / "parzen_validation.png") > 1000
    assert str(out / "parzen_validation.png") in result.figures.values()
    assert (out / "parzen_validation.csv").read_text().startswith("epoch,parzen_validation_ll,sigma")
    from keras_ae.report import _tables  # the curve is a table of the run: report.json and docs/results.md carry it
    from keras_ae.results import read_tables

    rows = read_tables(_tables(result))["parzen_validation"]
    assert [float(r["parzen_validation_ll"]) for r in rows] == pytest.approx(
        [r["parzen_validation_ll"] for r in result.details["parzen_validation"]])
    assert not (tmp_path / "saved_models" / "question_f_gan").exists()  # today's export is left alone
    # model.keras (to resume training) loads in a fresh process with its maxout D, uniform z and scheduled SGD
    from tests.conftest import run_python

    out = run_python("from keras_ae.export import load_keras_model\n"
                     f"m = load_keras_model({str(models / 'question_f_goodfellow2014_gan')!r})\n"
                     "print(m.noise, type(m.d_optimizer).__name__, m.d_optimizer.momentum_schedule.final)\n",
                     process="keras_ae")
    assert out.split() == ["uniform", "ScheduledMomentumSGD", "0.7"]


def test_parzen_curve_for_the_default_configuration_and_option_checks(tmp_path):
    """--parzen-every alone: today's networks, the held-out curve drawn, training as long as asked."""
    from keras_ae.errors import ConfigError
    from keras_ae.questions import question_f

    parser = question_f.build_parser()
    args = parser.parse_args(["--epochs", "2", "--train-limit", "256", "--validation-size", "200", "--test-limit",
                              "100", "--parzen-samples", "100", "--parzen-every", "1", "--parzen-every-samples", "100",
                              "--parzen-every-points", "50", "--classifier-epochs", "0", "--sample-every", "2",
                              "--output-dir", str(tmp_path), "--no-export", "--no-xla", "--verbose", "0"])
    result = question_f.run(args)
    assert [row["epoch"] for row in result.details["parzen_validation"]] == [1, 2]
    assert result.details["rows"][0]["weights_of_epoch"] == 2  # no --keep-best: the last epoch's weights
    assert os.path.getsize(tmp_path / "parzen_validation.png") > 1000
    for bad in (["--patience", "3"], ["--keep-best"], ["--input-dropout", "0.2"], ["--final-momentum", "0.7"]):
        with pytest.raises(ConfigError):
            question_f.run(parser.parse_args(bad + ["--output-dir", str(tmp_path / "refused")]))
    assert not (tmp_path / "refused").exists()
