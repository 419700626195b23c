"""Question J: the VAE's sampling is the reparameterization trick, its step optimises the ELBO,
its export round-trips, and the experiments measure what the written answers claim."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_python


@pytest.fixture(scope="module")
def vae(mnist_small):
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.models.variational import build_vae

    keras.utils.set_random_seed(0)
    model = build_vae(784, (64, 32), latent_dim=2, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x_train, _, x_test, _ = mnist_small
    before = model.evaluate(x_test, x_test, verbose=0, return_dict=True)
    model.fit(make_dataset(x_train, batch_size=128, seed=0), epochs=3, shuffle=False, verbose=0)
    after = model.evaluate(x_test, x_test, verbose=0, return_dict=True)
    return model, before, after


def test_sampling_is_mean_plus_sigma_times_noise_and_differentiable():
    import tensorflow as tf

    from keras_ae.models.variational import Sampling

    layer = Sampling(seed=3)
    mean = tf.constant(np.full((20000, 2), [1.0, -2.0], np.float32))
    log_var = tf.constant(np.full((20000, 2), np.log([0.25, 4.0]), np.float32))
    with tf.GradientTape() as tape:
        tape.watch([mean, log_var])
        z = layer([mean, log_var])
        total = tf.reduce_sum(z)
    z = z.numpy()
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.03)
    d_mean, d_log_var = tape.gradient(total, [mean, log_var])
    np.testing.assert_allclose(d_mean.numpy(), 1.0)  # dz/dmu = 1: gradients flow through the sample
    eps = (z - mean.numpy()) / np.exp(0.5 * log_var.numpy())
    np.testing.assert_allclose(d_log_var.numpy(), 0.5 * np.exp(0.5 * log_var.numpy()) * eps, rtol=1e-4, atol=1e-5)


def test_kl_matches_the_closed_form():
    from keras_ae.models.variational import kl_to_standard_normal

    mean, log_var = np.array([[0.5, -1.0]], np.float32), np.array([[0.0, np.log(2.0)]], np.float32)
    expected = 0.5 * ((0.25 + 1 - 1 - 0) + (1.0 + 2.0 - 1 - np.log(2.0)))
    assert float(kl_to_standard_normal(mean, log_var)[0]) == pytest.approx(expected, rel=1e-5)


def test_vae_step_lowers_the_negative_elbo_and_tracks_both_terms(vae):
    model, before, after = vae
    assert set(after) == {"loss", "reconstruction_loss", "kl_loss"}
    assert after["loss"] < before["loss"] - 20
    assert after["loss"] == pytest.approx(after["reconstruction_loss"] + after["kl_loss"], rel=0.02)


def test_vae_export_and_keras_round_trip(vae, mnist_small, tmp_path):
    import tensorflow as tf

    from keras_ae.export import export_model, load_keras_model

    model = vae[0]
    x = mnist_small[2][:8]
    export_model(model, tmp_path / "vae")
    loaded = tf.saved_model.load(str(tmp_path / "vae"))
    np.testing.assert_allclose(loaded.reconstruct(x)["reconstruction"].numpy(), model.predict(x, verbose=0), atol=1e-5)
    z = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    np.testing.assert_allclose(loaded.generate(z)["images"].numpy(), model.decoder.predict(z, verbose=0), atol=1e-5)
    assert loaded.encode(x)["codes"].shape == (8, 2)
    mean, log_var = model.encoder.predict(x, verbose=0)
    distribution = loaded.encode_distribution(x)
    np.testing.assert_allclose(distribution["mean"].numpy(), mean, atol=1e-5)
    np.testing.assert_allclose(distribution["log_var"].numpy(), log_var, atol=1e-5)
    again = load_keras_model(tmp_path / "vae")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_reparameterization_has_far_lower_variance_than_the_score_function(vae, mnist_small):
    from keras_ae.questions.question_j import gradient_estimator_variance

    result = gradient_estimator_variance(vae[0], mnist_small[2][:5], samples=300)
    assert result["variance_ratio"] > 10
    # a running-mean baseline removes the f^2 term that dominates the plain score function's variance
    assert result["baseline_variance_ratio"] < result["variance_ratio"] / 5


def test_active_units_counts_only_units_that_vary_with_the_input(vae, mnist_small):
    from keras_ae.questions.question_j import active_units

    assert active_units(vae[0], mnist_small[2]) == 2
    assert active_units(vae[0], mnist_small[2], threshold=1e9) == 0


def test_short_run_writes_every_figure_and_table(tmp_path):
    from keras_ae.questions import question_j

    out = tmp_path / "j"
    assert question_j.main(["--epochs", "1", "--train-limit", "1024", "--test-limit", "256", "--hidden", "32",
                            "--latent-sweep", "3", "--sweep-epochs", "1", "--gradient-samples", "50",
                            "--output-dir", str(out), "--saved-models-dir", str(tmp_path / "m"),
                            "--verbose", "0"]) == 0
    for name in ("elbo.png", "latent_space.png", "manifold.png", "samples.png", "vae_results.csv",
                 "gradient_variance.md", "vae/history.csv"):
        assert (out / name).stat().st_size > 0, name
    assert (tmp_path / "m" / "question_j_vae" / "saved_model.pb").is_file()
    # a fresh process that imports only keras_ae.export finds the VAE's class to resume training
    out_text = run_python(f"from keras_ae.export import load_keras_model\n"
                          f"print(type(load_keras_model({str(tmp_path / 'm' / 'question_j_vae')!r})).__name__)",
                          process="keras_ae")
    assert out_text.strip().endswith("VariationalAutoencoder")
    from keras_ae.results import read_tables

    metrics = question_j.QUESTION.headline(read_tables([str(out / "vae_results.csv"),
                                                        str(out / "gradient_variance.csv")]))
    assert set(question_j.QUESTION.readme_metrics) <= set(metrics) and metrics["gradient_variance_ratio"] > 1
    assert metrics["gradient_variance_ratio"] > metrics["gradient_variance_ratio_baseline"]
