"""Question E: the adversarial autoencoder's three phases, serialisation, export and run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_python


def _small_aae(prior_stddev: float = 1.0, generator_loss: str = "saturating", seed: int = 0):
    import keras

    from keras_ae.models import build_adversarial_autoencoder

    keras.utils.set_random_seed(seed)
    model = build_adversarial_autoencoder(784, 100, hidden_units=(64,), discriminator_units=(64,),
                                          prior_stddev=prior_stddev, seed=seed)
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                  generator_loss=generator_loss)
    return model


def _snapshot(model) -> dict:
    return {name: [v.numpy().copy() for v in getattr(model, name).trainable_variables]
            for name in ("encoder", "decoder", "discriminator")}


def _changed(before: dict, after: dict) -> dict:
    """net -> (every variable changed somewhere, any variable changed)."""
    result = {}
    for name in before:
        moved = [not np.array_equal(a, b) for a, b in zip(before[name], after[name])]
        result[name] = (all(moved), any(moved))
    return result


@pytest.mark.parametrize("phase, should_change", [
    ("reconstruction_step", {"encoder", "decoder"}),
    ("discriminator_step", {"discriminator"}),
    ("generator_step", {"encoder"}),
])
def test_each_phase_changes_only_its_weights(mnist_small, phase, should_change):
    model = _small_aae()
    x = mnist_small[0][:128]
    for optimizer, variables in model._phase_variables().values():
        optimizer.build(variables)  # so that "before" holds every optimizer variable
    before = _snapshot(model)
    iterations = {k: int(getattr(model, f"{k}_optimizer").iterations.numpy())
                  for k in ("reconstruction", "discriminator", "generator")}
    getattr(model, phase)(x)
    changed = _changed(before, _snapshot(model))
    for net, (every, any_) in changed.items():
        if net in should_change:
            assert every, f"{phase} left a variable of the {net} unchanged"
        else:
            assert not any_, f"{phase} changed the {net}"
    own = phase.replace("_step", "")
    for k, n in iterations.items():
        now = int(getattr(model, f"{k}_optimizer").iterations.numpy())
        assert now == n + (k == own), f"{phase}: optimizer {k} went from {n} to {now}"


def test_train_step_runs_the_three_phases_with_their_own_optimizers(mnist_small):
    model = _small_aae()
    x = mnist_small[0][:64]
    before = _snapshot(model)
    logs = model.train_on_batch(x, return_dict=True)
    assert set(logs) == {"reconstruction_loss", "discriminator_loss", "generator_loss"}
    assert all(every for every, _ in _changed(before, _snapshot(model)).values())
    optimizers = [model.reconstruction_optimizer, model.discriminator_optimizer, model.generator_optimizer]
    assert len({id(o) for o in optimizers}) == 3
    assert [int(o.iterations.numpy()) for o in optimizers] == [1, 1, 1]
    # each optimizer holds state for its own phase's variables only
    n_enc, n_dec = len(model.encoder.trainable_variables), len(model.decoder.trainable_variables)
    n_disc = len(model.discriminator.trainable_variables)
    assert [len(o._trainable_variables) for o in optimizers] == [n_enc + n_dec, n_disc, n_enc]


def test_discriminator_learns_prior_samples_as_real(mnist_small):
    """Move the codes away from the prior; after phase (b) alone D says 'real' to prior draws."""
    from keras import ops

    model = _small_aae(seed=1)
    x = mnist_small[0][:256]
    code_bias = model.encoder.layers[-1].bias
    code_bias.assign(np.full(code_bias.shape, 3.0, np.float32))  # Enc(x) ~ 3 + small: far from N(0, I)
    for _ in range(40):
        model.discriminator_step(x[:128])
    d_prior = float(ops.mean(model.discriminate(model.sample_prior(512))))
    d_codes = float(ops.mean(model.discriminate(model.encoder(x[128:]))))
    assert d_prior > 0.7 and d_codes < 0.1, (d_prior, d_codes)  # swapped labels would give the reverse


def test_loss_formulas_match_the_sheet():
    from keras_ae.models.adversarial import discriminator_loss, generator_loss

    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=64).astype("float32"), rng.normal(size=64).astype("float32")
    d = lambda l: 1.0 / (1.0 + np.exp(-l.astype(np.float64)))  # noqa: E731
    want_d = -np.mean(np.log(d(real))) - np.mean(np.log(1.0 - d(fake)))
    np.testing.assert_allclose(float(discriminator_loss(real, fake)), want_d, rtol=1e-5)
    np.testing.assert_allclose(float(generator_loss(fake, "saturating")), np.mean(np.log(1.0 - d(fake))), rtol=1e-5)
    np.testing.assert_allclose(float(generator_loss(fake, "non_saturating")), -np.mean(np.log(d(fake))), rtol=1e-5)
    # a discriminator sure that prior draws are real and codes fake has (almost) no loss
    assert float(discriminator_loss(np.full(4, 20.0, np.float32), np.full(4, -20.0, np.float32))) < 1e-6
    assert float(discriminator_loss(np.full(4, -20.0, np.float32), np.full(4, 20.0, np.float32))) > 39.0
    # no log(0): very confident logits stay finite
    assert np.isfinite(float(generator_loss(np.full(4, 1e4, np.float32), "saturating")))
    with pytest.raises(ValueError, match="generator loss"):
        generator_loss(fake, "wasserstein")


def test_prior_samples_follow_the_prior():
    model = _small_aae(prior_stddev=2.0)
    z = np.asarray(model.sample_prior(20_000))
    assert z.shape == (20_000, 100)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 2.0) < 0.02
    assert not np.array_equal(z, np.asarray(model.sample_prior(20_000)))  # the seed generator advances


def test_keras_round_trip_keeps_config_compile_config_and_optimizer_state(mnist_small, tmp_path):
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.models import AdversarialAutoencoder

    model = _small_aae(prior_stddev=1.5, generator_loss="non_saturating")
    model.fit(make_dataset(mnist_small[0][:256], batch_size=64), epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "aae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, AdversarialAutoencoder)
    assert loaded.prior_stddev == 1.5 and loaded.generator_loss_mode == "non_saturating"
    assert loaded.get_compile_config()["reconstruction_loss"] == "squared_error"
    x = mnist_small[0][:8]
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    np.testing.assert_allclose(np.asarray(loaded.discriminator(model.encoder(x))),
                               np.asarray(model.discriminator(model.encoder(x))), atol=1e-6)
    for name in ("reconstruction_optimizer", "discriminator_optimizer", "generator_optimizer"):
        a, b = getattr(model, name), getattr(loaded, name)
        assert int(b.iterations.numpy()) == int(a.iterations.numpy()) == 4
        for va, vb in zip(a.variables, b.variables):
            np.testing.assert_array_equal(va.numpy(), vb.numpy())
    loaded.fit(make_dataset(x, batch_size=8), epochs=1, verbose=0, shuffle=False)  # training resumes
    assert int(loaded.generator_optimizer.iterations.numpy()) == 5
    clone = AdversarialAutoencoder.from_config(model.get_config())
    assert clone.code_dim == 100 and clone.prior_stddev == 1.5


def test_user_data_file_is_checked_and_split(tmp_path, mnist_small):
    from keras_ae.errors import DataError
    from keras_ae.questions import question_e

    good = tmp_path / "data.npy"
    np.save(good, (mnist_small[0][:300] * 255).round().astype(np.uint8))
    args = question_e.build_parser().parse_args(["--data", str(good)])
    data = question_e.load_data(args)
    # 10% held out as the test split, 10% as the validation split
    assert data["x_train"].shape == (240, 784) and data["x_val"].shape == (30, 784)
    assert data["x_test"].shape == (30, 784)
    assert data["y_train"] is None and data["x_train"].max() <= 1.0
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"\(N, 784\)"):
        question_e.load_data(question_e.build_parser().parse_args(["--data", str(bad)]))
    with pytest.raises(DataError, match="validation"):
        question_e.load_data(question_e.build_parser().parse_args(["--data", str(good), "--validation-size", "300"]))


def test_user_data_holds_out_its_own_test_rows_by_seed(tmp_path, mnist_small):
    """With --data the Parzen score is on rows of the user's file, drawn by --seed, disjoint from
    the training and validation rows; MNIST's test set only when asked for."""
    from keras_ae.questions import question_e

    pixels = (mnist_small[0][:300] * 255).round().astype(np.uint8)
    np.save(tmp_path / "data.npy", pixels)

    def load(*extra):
        args = question_e.build_parser().parse_args(["--data", str(tmp_path / "data.npy"), *extra])
        return args, question_e.load_data(args)

    args, data = load()
    rows = data["test_rows"]
    assert len(rows) == 30 and np.all(np.diff(rows) > 0) and rows.max() >= 30 and rows.min() < 270  # not the tail
    np.testing.assert_array_equal(data["x_test"], pixels[rows] / np.float32(255))
    rest = np.delete(pixels, rows, axis=0) / np.float32(255)
    np.testing.assert_array_equal(np.concatenate([data["x_train"], data["x_val"]]), rest)
    np.testing.assert_array_equal(load()[1]["test_rows"], rows)  # reproducible
    assert not np.array_equal(load("--seed", "1")[1]["test_rows"], rows)  # and chosen by the seed
    assert len(load("--test-size", "50")[1]["test_rows"]) == 50
    points, name = question_e.load_parzen_points(args, data)
    assert np.array_equal(points, data["x_test"])
    assert f"30 rows of {tmp_path / 'data.npy'} held out at random (seed 0)" in name
    args, data = load("--parzen-test", "mnist")
    assert data["x_test"] is None and len(data["x_train"]) == 270
    assert "MNIST test set" in question_e.load_parzen_points(args, data)[1]


# ---------------------------------------------------------------- the evaluation stage, without training

TINY = ["--hidden-units", "16", "--discriminator-units", "8", "--code-dim", "4", "--tsne-points", "40",
        "--mmd-points", "30", "--permutations", "5", "--parzen-samples", "100", "--verbose", "0"]


def _untrained(argv):
    """Parsed ``TINY + argv`` and a compiled, untrained small AAE as the train stage hands it on."""
    import keras

    from keras_ae.questions import question_e

    args = question_e.build_parser().parse_args(TINY + list(argv))
    keras.utils.set_random_seed(0)
    model = question_e.compile_model(question_e.build_model(args), args)
    history = {k: [1.0] for k in ("reconstruction_loss", "discriminator_loss", "generator_loss")}
    return args, question_e.Trained(model, history, seconds=0.0, sample_figures=[])


def test_user_data_is_scored_on_its_held_out_rows_and_says_so(tmp_path, mnist_small, monkeypatch, capsys):
    """With --data, sigma is chosen on the validation split (held-out training rows), the
    log-likelihood is scored on the held-out test rows, and the log, the Parzen table and the
    summary say so."""
    from keras_ae import generative_metrics
    from keras_ae.questions import question_e

    np.save(tmp_path / "data.npy", (mnist_small[0][:400] * 255).round().astype(np.uint8))
    seen = {}
    estimate = generative_metrics.parzen_estimate

    def spy(samples, validation, test, *a, **k):
        seen["sigma_on"], seen["scored"] = validation, test
        return estimate(samples, validation, test, *a, **k)

    monkeypatch.setattr(generative_metrics, "parzen_estimate", spy)
    args, trained = _untrained(["--data", str(tmp_path / "data.npy"), "--output-dir", str(tmp_path / "out")])
    data = question_e.load_data(args)
    evaluation = question_e.evaluate(trained, data, args)
    np.testing.assert_array_equal(seen["sigma_on"], data["x_val"])
    np.testing.assert_array_equal(seen["scored"], data["x_test"])
    name = f"40 rows of {tmp_path / 'data.npy'} held out at random (seed 0)"
    assert evaluation.summary["parzen_scored_on"].startswith(name)
    assert evaluation.parzen["test_points_from"].startswith(name)
    assert f"nats on {name}" in capsys.readouterr().out
    (tmp_path / "out").mkdir()
    question_e.write_tables(args, data, trained, evaluation)
    table = (tmp_path / "out" / "parzen.md").read_text()
    assert name in table and "Makhzani" not in table.split("\n\n", 1)[1]  # no MNIST rows beside another set's
    assert name in (tmp_path / "out" / "summary.md").read_text()


def test_report_options_leave_the_other_draws_and_the_parzen_number_alone(mnist_small):
    """Each purpose draws from its own stream: --mmd-points and --tsne-points change their own
    statistics only, never the prior samples, the walks, the reference draws or the Parzen number."""
    from keras_ae.questions import question_e

    (x, y), (x_test, _) = (mnist_small[0], mnist_small[1]), mnist_small[2:]
    data = {"x_train": x[:300], "y_train": y[:300], "x_val": x[300:400], "y_val": y[300:400],
            "classes": None, "parzen_points": x_test[:100], "parzen_on": "100 test digits"}
    args, trained = _untrained([])
    base = question_e.evaluate(trained, data, args)
    for option, value in (("--mmd-points", "60"), ("--tsne-points", "80")):
        args = question_e.build_parser().parse_args(TINY + [option, value])
        other = question_e.evaluate(trained, data, args)
        assert (other.mmd["points"], len(other.tsne["pick"])) != (base.mmd["points"], len(base.tsne["pick"]))
        for key in ("mean", "std_error", "sigma", "validation_ll"):
            assert other.parzen[key] == base.parzen[key], (option, key)
        assert other.summary["parzen_ll"] == base.summary["parzen_ll"]
        assert other.summary["reference_kl"] == base.summary["reference_kl"]
        np.testing.assert_array_equal(other.prior_grid, base.prior_grid)
        for (label_a, a), (label_b, b) in zip(other.walks, base.walks):
            assert label_a == label_b
            np.testing.assert_array_equal(a, b)


def test_random_streams_differ_by_purpose_and_follow_the_seed():
    from keras_ae.questions.question_e import STREAMS, random_stream

    first = {purpose: random_stream(0, purpose).random() for purpose in STREAMS}
    assert len(set(first.values())) == len(STREAMS)
    assert random_stream(0, "parzen").random() == first["parzen"] != random_stream(1, "parzen").random()


# ---------------------------------------------------------------- one short run, shared

@pytest.fixture(scope="module")
def short_run(tmp_path_factory, data_dir):
    from keras_ae.questions import question_e

    out = tmp_path_factory.mktemp("question_e")
    args = question_e.build_parser().parse_args([
        "--epochs", "2", "--batch-size", "64", "--train-limit", "512", "--validation-size", "200",
        "--test-limit", "200", "--hidden-units", "64", "--discriminator-units", "64", "--tsne-points", "200",
        "--mmd-points", "100", "--permutations", "20", "--parzen-samples", "300", "--figure-every", "1",
        "--parzen-every", "1", "--parzen-every-samples", "100", "--parzen-every-points", "50",
        "--output-dir", str(out / "results"), "--saved-models-dir", str(out / "saved_models"), "--verbose", "0",
    ])
    return question_e.run(args), out


def test_short_run_writes_every_figure_and_table(short_run):
    import csv

    from keras_ae.questions.question_e import QUESTION

    result, out = short_run
    assert set(result.figures) == {"samples_epoch001", "samples_epoch002", "losses", "tsne_codes", "prior_samples",
                                   "latent_walks", "codes_vs_prior", "parzen_curve"}  # --figure-every 1, 2 epochs
    for path in result.figures.values():
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n", path
    assert list(result.tables) == ["posterior_vs_prior", "parzen", "parzen_validation", "summary"]
    for name in result.tables:
        assert (out / "results" / f"{name}.md").read_text().startswith("Question E")
    hist = result.details["history"]
    for key in ("reconstruction_loss", "discriminator_loss", "generator_loss"):
        assert len(hist[key]) == len(hist["val_" + key]) == 2
    parzen, summary = result.details["parzen"], result.details["summary"]
    assert parzen["num_samples"] == 300 and parzen["num_points"] == 200 and np.isfinite(parzen["mean"])
    assert "weights_of_epoch" not in summary  # only with --keep-best
    codes_row, ref_row = result.details["posterior_vs_prior"]
    assert ref_row["gaussian_kl_to_prior"] < codes_row["gaussian_kl_to_prior"]
    # the headline numbers come from the tables written
    assert set(QUESTION.readme_metrics) <= set(result.metrics)
    assert result.metrics["parzen_log_likelihood"] == pytest.approx(parzen["mean"])
    # the one estimator: the refined sigma's number, and the paper grid's beside it in the table
    assert result.metrics["parzen_log_likelihood_paper_grid"] == pytest.approx(parzen["grid_mean"])
    own = result.rows("parzen")[0]
    assert float(own["paper_grid_sigma"]) == pytest.approx(parzen["grid_sigma"])
    assert np.isclose(np.logspace(-1, 0, 10), float(own["paper_grid_sigma"])).any()
    assert parzen["validation_ll"] >= parzen["grid_validation_ll"]
    assert result.metrics["val_squared_error"] == pytest.approx(summary["val_squared_error"])
    models = [row["model"] for row in result.rows("parzen")]
    assert models[0] == "this AAE" and any("Makhzani" in m for m in models[1:])  # MNIST's test set: published rows
    # the validation Parzen curve: in the history, the CSV log and the parzen_validation table
    curve = hist["val_parzen_ll"]
    assert len(curve) == 2 and all(np.isfinite(curve))
    with open(out / "results" / "history.csv") as fh:
        np.testing.assert_allclose([float(row["val_parzen_ll"]) for row in csv.DictReader(fh)], curve)
    rows = result.rows("parzen_validation")
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    np.testing.assert_allclose([float(r["val_parzen_ll"]) for r in rows], curve)


def test_export_has_generate_and_matches_in_a_fresh_process(short_run, tmp_path):
    result, _ = short_run
    path = result.models["adversarial_autoencoder"]
    model = result.details["model"]
    assert path.endswith("question_e_adversarial_autoencoder")
    meta = json.loads(open(f"{path}/metadata.json").read())
    assert set(meta["endpoints"]) == {"encode", "decode", "reconstruct", "generate"}
    assert meta["parzen_log_likelihood"] == result.details["parzen"]["mean"] and "weights_of_epoch" not in meta
    assert meta["parzen_paper_grid_log_likelihood"] == result.details["parzen"]["grid_mean"]
    rng = np.random.default_rng(0)
    x = rng.random((5, 784)).astype("float32")
    noise = rng.standard_normal((5, model.code_dim)).astype("float32")
    z = np.asarray(model.encoder(x))
    expected = {"encode": z, "decode": np.asarray(model.decoder(z)), "reconstruct": np.asarray(model(x)),
                "generate": np.asarray(model.generate(noise))}
    inputs = {"encode": x, "decode": z, "reconstruct": x, "generate": noise}
    for name in expected:
        np.save(tmp_path / f"{name}_in.npy", inputs[name])
        np.save(tmp_path / f"{name}_out.npy", expected[name])
    out = run_python(f"""
import numpy as np, tensorflow as tf
m = tf.saved_model.load({str(path)!r})
for name, key in (("encode", "codes"), ("decode", "reconstruction"), ("reconstruct", "reconstruction"),
                  ("generate", "images")):
    y = getattr(m, name)(np.load({str(tmp_path)!r} + f"/{{name}}_in.npy"))[key].numpy()
    want = np.load({str(tmp_path)!r} + f"/{{name}}_out.npy")
    assert y.shape == want.shape, (name, y.shape)
    print(name, float(np.max(np.abs(y - want))))
""")
    diffs = dict(line.split() for line in out.strip().splitlines())
    assert set(diffs) == set(expected) and all(float(d) < 1e-5 for d in diffs.values()), diffs


def test_generate_scales_noise_by_the_prior_stddev():
    model = _small_aae(prior_stddev=2.0)
    noise = np.random.default_rng(1).standard_normal((3, 100)).astype("float32")
    np.testing.assert_allclose(np.asarray(model.generate(noise)), np.asarray(model.decoder(2.0 * noise)), atol=1e-6)


# ---------------------------------------------------------------- options, --preset makhzani2015, Parzen curve

# Every option of `keras-ae run E` as it was before the preset and its options existed: the default
# run must stay the same run.
DEFAULT_OPTIONS = {
    'data': None, 'validation_size': None, 'test_size': None, 'code_dim': 100, 'hidden_units': [1000, 1000],
    'discriminator_units': [1000, 1000], 'prior_stddev': 1.0, 'reconstruction_loss': 'squared_error',
    'generator_loss': 'saturating', 'adversarial_learning_rate': 0.0002, 'adversarial_beta1': 0.5,
    'tsne_points': 3000, 'mmd_points': 2000, 'permutations': 200, 'parzen_samples': 10000, 'parzen_test': 'auto',
    'parzen_batch_size': 500, 'figure_every': 10, 'fused_steps': 16, 'xla': True, 'no_backup': False,
    'data_dir': None, 'output_dir': 'results/question_e', 'saved_models_dir': 'saved_models', 'no_export': False,
    'epochs': 30, 'batch_size': 100, 'learning_rate': 0.001, 'seed': 0, 'train_limit': None, 'test_limit': None,
    'tensorboard': False, 'strategy': 'none', 'verbose': None,
}
# ... and the new options, off by default
NEW_OPTIONS_OFF = {'preset': None, 'dropout': 0.0, 'discriminator_dropout': 0.0, 'init_stddev': None,
                   'optimizer': 'adam', 'learning_rate_drops': [], 'parzen_every': 0, 'keep_best': False,
                   'encoder': 'deterministic', 'encoder_noise_stddev': 1.0, 'generator_phase_discriminator': 'inference',
                   'adam_epsilon': 1e-7}


def _dense_units(net):
    import keras

    return [layer.units for layer in net.layers if isinstance(layer, keras.layers.Dense)]


def _dropout_rates(net):
    import keras

    return [layer.rate for layer in net.layers if isinstance(layer, keras.layers.Dropout)]


def test_default_run_options_and_model_are_unchanged():
    import keras

    from keras_ae.questions import question_e

    args = question_e.build_parser().parse_args([])
    values = vars(args)
    assert {k: values[k] for k in DEFAULT_OPTIONS} == DEFAULT_OPTIONS
    assert {k: values[k] for k in NEW_OPTIONS_OFF} == NEW_OPTIONS_OFF
    assert question_e.saved_model_name(args) == "question_e_adversarial_autoencoder"
    model = question_e.compile_model(question_e.build_model(args), args, steps_per_epoch=500)
    assert _dense_units(model.encoder) == [1000, 1000, 100] and _dense_units(model.decoder) == [1000, 1000, 784]
    assert not any(_dropout_rates(net) for net in (model.encoder, model.decoder, model.discriminator))
    assert isinstance(model.encoder.layers[1].kernel_initializer, keras.initializers.GlorotUniform)
    rec, disc, gen = model.reconstruction_optimizer, model.discriminator_optimizer, model.generator_optimizer
    assert all(isinstance(o, keras.optimizers.Adam) for o in (rec, disc, gen))
    assert (float(rec.learning_rate), rec.beta_1) == (pytest.approx(1e-3), 0.9)
    for o in (disc, gen):
        assert (float(o.learning_rate), o.beta_1) == (pytest.approx(2e-4), 0.5)
    assert all(o.epsilon == 1e-7 for o in (rec, disc, gen))
    assert model.generator_loss_mode == "saturating" and not model.generator_phase_discriminator_training
    assert not model.gaussian_encoder and len(model.encoder.outputs) == 1


def test_makhzani2015_preset_reaches_the_model():
    """The preset's values (keil555/AAE_paddle's configuration) reach the networks, the phases and
    the optimizers, without training."""
    import keras

    from keras_ae.questions import question_e

    args = question_e.build_parser().parse_args(["--preset", "makhzani2015"])
    assert (args.preset, args.epochs, args.batch_size, args.validation_size) == ("makhzani2015", 200, 100, 1000)
    assert (args.parzen_every, args.keep_best) == (5, True)
    assert args.output_dir == "results/question_e_makhzani2015"
    assert question_e.saved_model_name(args) == "question_e_makhzani2015_adversarial_autoencoder"
    model = question_e.compile_model(question_e.build_model(args), args, steps_per_epoch=590)
    assert model.code_dim == 8 and model.prior_stddev == 5.0  # prior N(0, 5^2 I) in 8 dimensions
    assert model.gaussian_encoder and model.encoder_noise_stddev == 5.0
    assert [layer.name for layer in model.encoder.layers[1:]] == [
        "encoder_dense_0", "encoder_dropout_0", "encoder_dense_1", "encoder_dropout_1", "encoder_dense_2",
        "encoder_log_var"]
    assert _dense_units(model.encoder) == [1200, 1200, 8, 8]  # the mean and log-variance heads
    assert _dense_units(model.decoder) == [1200, 1200, 784]
    assert _dense_units(model.discriminator) == [1200, 1200, 1]
    for net in (model.encoder, model.decoder, model.discriminator):  # dropout 0.2 after every hidden layer
        assert _dropout_rates(net) == [0.2, 0.2], net.name
        dense = [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)]
        assert isinstance(dense[0].kernel_initializer, keras.initializers.GlorotUniform)  # Paddle's default Xavier
    rec, disc, gen = model.reconstruction_optimizer, model.discriminator_optimizer, model.generator_optimizer
    assert all(type(o) is keras.optimizers.Adam for o in (rec, disc, gen))
    assert (float(rec.learning_rate), float(disc.learning_rate), float(gen.learning_rate)) == (
        pytest.approx(2e-4), pytest.approx(1e-4), pytest.approx(1e-4))
    assert all((o.beta_1, o.beta_2, o.epsilon) == (0.9, 0.999, 1e-8) for o in (rec, disc, gen))  # Paddle's Adam
    assert model.generator_loss_mode == "non_saturating" and model.reconstruction_loss_name == "cross_entropy_mean"
    assert model.generator_phase_discriminator_training
    # explicit options win over the preset
    mixed = question_e.build_parser().parse_args(["--preset", "makhzani2015", "--code-dim", "4",
                                                  "--encoder", "deterministic"])
    assert (mixed.code_dim, mixed.encoder, mixed.dropout) == (4, "deterministic", 0.2)
    assert question_e.build_parser().parse_args(["--preset", "makhzani2015", "--no-keep-best"]).keep_best is False


def test_learning_rate_drops_after_the_given_epochs_on_the_fused_path(mnist_small):
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.errors import ConfigError
    from keras_ae.questions import question_e

    args = question_e.build_parser().parse_args([
        "--optimizer", "momentum", "--learning-rate", "0.01", "--adversarial-learning-rate", "0.1",
        "--learning-rate-drops", "1", "2", "--learning-rate-drop-factor", "0.5", "--code-dim", "2",
        "--hidden-units", "16", "--discriminator-units", "8", "--batch-size", "64"])
    x = mnist_small[0][:200]  # 4 minibatches an epoch, the last of 8 rows
    keras.utils.set_random_seed(0)
    model = question_e.compile_model(question_e.build_model(args, minibatch_size=64), args, steps_per_epoch=4)
    seen = []

    class Rates(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([float(o.learning_rate) for o in (model.reconstruction_optimizer,
                                                          model.discriminator_optimizer, model.generator_optimizer)])

    model.fit(make_dataset(x, batch_size=64, seed=0, steps_per_batch=16), epochs=3, verbose=0, shuffle=False,
              callbacks=[Rates()])
    np.testing.assert_allclose(seen, [[0.01, 0.1, 0.1], [0.005, 0.05, 0.05], [0.0025, 0.025, 0.025]], rtol=1e-6)
    assert int(model.reconstruction_optimizer.iterations.numpy()) == 12
    with pytest.raises(ConfigError, match="increasing"):
        question_e.check_options(question_e.build_parser().parse_args(["--learning-rate-drops", "5", "5"]))


@pytest.mark.parametrize("options, message", [
    (["--learning-rate-drops", "5", "3"], "--learning-rate-drops must be increasing"),
    (["--keep-best"], "--keep-best needs the validation score"),
])
def test_options_that_do_not_fit_together_end_in_one_line_before_anything_is_written(tmp_path, capsys, options,
                                                                                      message):
    from keras_ae.questions import question_e

    code = question_e.main([*options, "--epochs", "1", "--train-limit", "64",
                            "--output-dir", str(tmp_path / "out"), "--saved-models-dir", str(tmp_path / "models")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "models").exists()


def test_dropout_is_active_in_training_only_and_survives_a_keras_round_trip(mnist_small, tmp_path):
    import keras

    from keras_ae.models import build_adversarial_autoencoder

    model = build_adversarial_autoencoder(784, 4, (32, 32), (16,), dropout=0.5, discriminator_dropout=0.3, seed=2,
                                          init_stddev=0.05)
    assert _dropout_rates(model.encoder) == _dropout_rates(model.decoder) == [0.5, 0.5]
    assert _dropout_rates(model.discriminator) == [0.3]
    x = mnist_small[0][:16]
    a, b = np.asarray(model.encoder(x, training=True)), np.asarray(model.encoder(x, training=True))
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(np.asarray(model.encoder(x)), np.asarray(model.encoder(x)))
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    model.save(tmp_path / "aae.keras")
    loaded = keras.saving.load_model(tmp_path / "aae.keras")
    assert _dropout_rates(loaded.encoder) == [0.5, 0.5]
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert type(loaded.reconstruction_optimizer) is keras.optimizers.SGD


def test_discriminator_dropout_sits_after_each_hidden_layer():
    from keras_ae.models import build_adversarial_autoencoder

    model = build_adversarial_autoencoder(20, 3, (8,), (6, 5), discriminator_dropout=0.25, seed=1)
    kinds = [type(layer).__name__ for layer in model.discriminator.layers[1:]]
    assert kinds == ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert _dropout_rates(model.discriminator) == [0.25, 0.25] and _dropout_rates(model.encoder) == []


def _parzen_curve(sigma_rows, score_rows, num_samples, every, seed=0, **kwargs):
    """E's curve: the periodic-score callback with the Parzen score of fixed prior samples."""
    from keras_ae.callbacks import BestValidationScore
    from keras_ae.generative_metrics import parzen_score

    noise = np.random.default_rng(seed).standard_normal((num_samples, 100)).astype("float32")
    return BestValidationScore(parzen_score(lambda m: m.generate(noise).numpy(), sigma_rows, score_rows), every=every,
                               patience=0, restore_best=False, name="val_parzen_ll", log_extras=("sigma",),
                               verbose=False, **kwargs)


def test_parzen_curve_fills_every_epoch_and_chooses_sigma_on_its_own_rows(mnist_small, monkeypatch):
    from keras_ae import generative_metrics

    model = _small_aae()
    chosen_on = []
    select = generative_metrics.select_parzen_sigma

    def spy(samples, points, *a, **k):
        chosen_on.append(points)
        return select(samples, points, *a, **k)

    monkeypatch.setattr(generative_metrics, "select_parzen_sigma", spy)
    sigma_rows, score_rows = mnist_small[0][:40], mnist_small[0][40:100]
    curve = _parzen_curve(sigma_rows, score_rows, num_samples=50, every=2, seed=3)
    curve.set_model(model)
    curve.set_params({"epochs": 5})
    values = []
    for epoch in range(5):
        logs = {}
        curve.on_epoch_end(epoch, logs)
        values.append((logs["val_parzen_ll"], logs["val_parzen_ll_sigma"]))
    due = [np.isfinite(v) for v, _ in values]
    assert due == [False, True, False, True, True]  # epochs 2, 4 and the last
    assert len(chosen_on) == 3 and all(points is sigma_rows for points in chosen_on)
    # the same noise every time: an unchanged model gives the same point
    assert values[1] == values[3] == values[4]


def test_parzen_curve_survives_a_resume(mnist_small, tmp_path):
    """The curve lives in the epoch logs: a fit killed and resumed from its backup keeps the points
    of the epochs before the kill, and its CSV log has them."""
    import csv

    import keras

    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    x = mnist_small[0][:256]

    class Kill(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    def fit(run_dir, extra=()):
        keras.utils.set_random_seed(0)
        model = _small_aae()
        curve = _parzen_curve(x[:30], x[30:60], num_samples=40, every=1)
        callbacks = standard_callbacks(str(run_dir), backup={"run": "curve"}, companions=[curve])
        start = resume_from(callbacks, model, 3)
        return model.fit(make_dataset(x[60:], batch_size=64, seed=1, first_epoch=start), initial_epoch=start,
                         epochs=3, verbose=0, shuffle=False, callbacks=[*callbacks, *extra]).history

    straight = fit(tmp_path / "straight")["val_parzen_ll"]
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "resumed", [Kill()])
    resumed = fit(tmp_path / "resumed")["val_parzen_ll"]
    np.testing.assert_allclose(resumed, straight, rtol=1e-6)
    with open(tmp_path / "resumed" / "history.csv") as fh:
        logged = [float(row["val_parzen_ll"]) for row in csv.DictReader(fh)]
    np.testing.assert_allclose(logged, straight, rtol=1e-6)


def test_makhzani2015_preset_with_keep_best_evaluates_and_exports_the_best_epoch(tmp_path, monkeypatch):
    """The preset with small explicit options and --keep-best: the held-out score (scripted here)
    peaks at epoch 2 of 3, so the exported weights are those of epoch 2, not the last; metadata.json
    holds the Parzen result under its keys, the published number and the epoch; the curve is in
    the history, the CSV log, its table and its figure."""
    import csv

    from keras_ae import generative_metrics
    from keras_ae.export import load_keras_model
    from keras_ae.questions import question_e

    scores, weights = iter([5.0, 9.0, 1.0]), []  # the validation score of epochs 1, 2, 3: epoch 2 is the best

    def scripted_score(*args, **kwargs):
        def score(model):
            weights.append([np.array(w) for w in model.get_weights()])  # the weights each epoch ended with
            return next(scores), {"sigma": 0.2}
        return score

    monkeypatch.setattr(generative_metrics, "parzen_score", scripted_score)
    result = question_e.run(question_e.build_parser().parse_args([
        "--preset", "makhzani2015", "--epochs", "3", "--train-limit", "300", "--validation-size", "200",
        "--test-limit", "100", "--hidden-units", "32", "--discriminator-units", "16", "--tsne-points", "60",
        "--mmd-points", "50", "--permutations", "5", "--parzen-samples", "200", "--parzen-every", "1",
        "--keep-best", "--no-backup", "--verbose", "0",
        "--output-dir", str(tmp_path / "results"), "--saved-models-dir", str(tmp_path / "saved_models")]))
    path = result.models["adversarial_autoencoder"]
    assert path.endswith("question_e_makhzani2015_adversarial_autoencoder")
    exported = load_keras_model(path).get_weights()
    assert len(weights) == 3 and not all(np.allclose(a, b) for a, b in zip(exported, weights[2]))
    for a, b in zip(exported, weights[1]):
        np.testing.assert_array_equal(a, b)
    meta = json.loads(open(f"{path}/metadata.json").read())
    parzen = result.details["parzen"]
    assert meta["weights_of_epoch"] == result.details["summary"]["weights_of_epoch"] == 2
    assert int(result.rows("summary")[0]["weights_of_epoch"]) == 2
    assert meta["preset"] == "makhzani2015" and meta["training"]["keep_best"] is True
    assert (meta["parzen_log_likelihood"], meta["parzen_std_error"], meta["parzen_sigma"]) == (
        parzen["mean"], parzen["std_error"], parzen["sigma"])
    assert meta["parzen_scored_on"].startswith("the MNIST test set (100 digits)")
    assert meta["published_parzen"]["mean"] == 340.0 and meta["published_parzen"]["std_error"] == 2.0
    assert meta["training"]["optimizer"] == "adam" and meta["training"]["code_dim"] == 8
    assert meta["training"]["encoder"] == "gaussian" and meta["training"]["discriminator_dropout"] == 0.2
    assert meta["training"]["reconstruction_loss"] == "cross_entropy_mean"
    assert set(meta["endpoints"]) == {"encode", "encode_distribution", "decode", "reconstruct", "generate"}
    assert result.details["history"]["val_parzen_ll"] == [5.0, 9.0, 1.0]
    with open(tmp_path / "results" / "history.csv") as fh:
        assert [float(row["val_parzen_ll"]) for row in csv.DictReader(fh)] == [5.0, 9.0, 1.0]
    assert [float(r["val_parzen_ll"]) for r in result.rows("parzen_validation")] == [5.0, 9.0, 1.0]
    with open(result.figures["parzen_curve"], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- the Gaussian encoder and the preset's options

def _gaussian_aae(seed: int = 0, noise_stddev: float = 1.0, discriminator_dropout: float = 0.0,
                  discriminator_rate: float = 1e-3, **compile_kwargs):
    import keras

    from keras_ae.models import build_adversarial_autoencoder

    keras.utils.set_random_seed(seed)
    model = build_adversarial_autoencoder(784, 3, (32,), (32,), prior_stddev=noise_stddev, seed=seed,
                                          encoder="gaussian", encoder_noise_stddev=noise_stddev, dropout=0.2,
                                          discriminator_dropout=discriminator_dropout)
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(discriminator_rate), keras.optimizers.Adam(1e-3),
                  **compile_kwargs)
    return model


def _set_encoder_output(model, mean: float, log_var: float):
    """Make q(z|x) = N(mean, exp(log_var)) for every x: zero kernels, constant biases."""
    for name, value in (("encoder_dense_1", mean), ("encoder_log_var", log_var)):
        layer = model.encoder.get_layer(name)
        layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
        layer.bias.assign(np.full(layer.bias.shape, value, np.float32))


def test_gaussian_encoder_draws_codes_in_every_phase_and_gives_its_mean_otherwise(mnist_small):
    """q(z|x) = N(mean, exp(log_var)): encode(sample=True) draws mean + exp(log_var / 2) * eps with
    eps ~ N(0, s^2); encode() and predict give the mean. Phase (b) sees drawn codes: with
    q(z|x) = N(0, s^2) for every x the codes ARE prior draws and the discriminator cannot tell
    them apart (fed the means, all 0, it learns to within these steps: loss about 0.5)."""
    from keras import ops

    model = _gaussian_aae(seed=4, noise_stddev=2.0, discriminator_rate=1e-2)
    x = mnist_small[0][:500]
    _set_encoder_output(model, mean=1.0, log_var=np.log(9.0))  # posterior std 3 * 2 = 6
    draws = np.asarray(model.encode(x, training=True, sample=True))
    assert draws.shape == (500, 3) and abs(draws.mean() - 1.0) < 0.6 and abs(draws.std() - 6.0) < 0.4
    assert not np.allclose(draws, np.asarray(model.encode(x, training=True, sample=True)))  # fresh eps
    np.testing.assert_allclose(np.asarray(model.encode(x)), 1.0, atol=1e-6)  # the mean
    np.testing.assert_allclose(model.predict(x[:4], verbose=0), np.asarray(model.decoder(np.ones((4, 3)))),
                               atol=1e-6)
    _set_encoder_output(model, mean=0.0, log_var=0.0)  # q(z|x) = N(0, 2^2) = the prior
    losses = [float(model.discriminator_step(x[:128])) for _ in range(60)]
    d_prior = float(ops.mean(model.discriminate(model.sample_prior(1000))))
    d_codes = float(ops.mean(model.discriminate(model.encode(x, sample=True))))
    loss = np.mean(losses[-10:])  # 2 ln 2 = 1.386: a discriminator that cannot tell them apart
    assert loss > 1.2 and abs(d_prior - d_codes) < 0.1, (loss, d_prior, d_codes)


def test_generator_phase_runs_the_discriminator_in_training_mode_only_when_asked(mnist_small):
    """Phase (c) with a zero learning rate and the encoder's dropout off: the same loss twice when the
    discriminator runs in inference mode; different losses (its dropout masks) in training mode."""
    import keras

    from keras_ae.models import build_adversarial_autoencoder

    x = mnist_small[0][:64]
    for training in (False, True):
        keras.utils.set_random_seed(0)
        model = build_adversarial_autoencoder(784, 3, (32,), (32, 32), seed=0, discriminator_dropout=0.5)
        model.compile(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0),
                      generator_phase_discriminator_training=training)
        losses = [float(model.generator_step(x)) for _ in range(2)]
        assert (losses[0] != losses[1]) == training, (training, losses)


def test_cross_entropy_mean_equals_a_numpy_reference_and_keeps_the_logits_gradient():
    """--reconstruction-loss cross_entropy_mean: the pixels' binary cross-entropy averaged over the
    pixels and the batch, computed from the logits behind a sigmoid output: a saturated wrong pixel
    (logit -30, target 1) costs 30 nats, not the 16.1 of a clipped probability, and keeps its gradient."""
    import keras
    import tensorflow as tf

    from keras_ae.losses import get_loss

    logits = np.array([[-30.0, 0.0, 2.0, -1.5], [4.0, -0.5, 0.3, 30.0]], np.float32)
    x = np.array([[1.0, 0.5, 1.0, 0.0], [0.2, 0.0, 1.0, 1.0]], np.float32)
    l64 = logits.astype(np.float64)
    want = np.mean(x * np.logaddexp(0.0, -l64) + (1.0 - x) * np.logaddexp(0.0, l64))
    loss = get_loss("cross_entropy_mean")
    l = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(l)
        value = loss(x, keras.layers.Activation("sigmoid")(l))
    np.testing.assert_allclose(float(value), want, rtol=1e-6)
    grad = tape.gradient(value, l).numpy()
    np.testing.assert_allclose(grad, (1.0 / (1.0 + np.exp(-l64)) - x) / x.size, rtol=1e-5, atol=1e-7)
    assert abs(grad[0, 0] + 1.0 / x.size) < 1e-7  # the saturated wrong pixel: full gradient


def test_gaussian_options_survive_a_keras_round_trip(mnist_small, tmp_path):
    import keras

    from keras_ae.data import make_dataset

    model = _gaussian_aae(noise_stddev=5.0, discriminator_dropout=0.2, reconstruction_loss="cross_entropy_mean",
                          generator_loss="non_saturating", generator_phase_discriminator_training=True)
    model.fit(make_dataset(mnist_small[0][:128], batch_size=64), epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "aae.keras")
    loaded = keras.saving.load_model(tmp_path / "aae.keras")
    assert loaded.gaussian_encoder and loaded.encoder_noise_stddev == 5.0 and loaded.prior_stddev == 5.0
    assert loaded.generator_phase_discriminator_training and loaded.reconstruction_loss_name == "cross_entropy_mean"
    assert [layer.name for layer in loaded.encoder.layers[1:]] == [layer.name for layer in model.encoder.layers[1:]]
    x = mnist_small[0][:8]
    for name in ("encode", "__call__"):
        np.testing.assert_allclose(np.asarray(getattr(loaded, name)(x)), np.asarray(getattr(model, name)(x)),
                                   atol=1e-6)
    np.testing.assert_allclose(np.asarray(loaded.encoder(x)[1]), np.asarray(model.encoder(x)[1]), atol=1e-6)
    loaded.fit(make_dataset(x, batch_size=8), epochs=1, verbose=0, shuffle=False)  # training resumes
    assert int(loaded.generator_optimizer.iterations.numpy()) == 3


def test_gaussian_encoder_export_serves_the_mean_and_the_distribution_in_a_fresh_process(tmp_path):
    from keras_ae.export import export_model

    model = _gaussian_aae(noise_stddev=5.0)
    assert str(export_model(model, tmp_path / "aae")) == str(tmp_path / "aae")
    rng = np.random.default_rng(0)
    x = rng.random((5, 784)).astype("float32")
    noise = rng.standard_normal((5, 3)).astype("float32")
    mean, log_var = (np.asarray(t) for t in model.encoder(x))
    expected = {"encode.codes": mean, "encode_distribution.mean": mean, "encode_distribution.log_var": log_var,
                "reconstruct.reconstruction": np.asarray(model.decoder(mean)),
                "generate.images": np.asarray(model.decoder(5.0 * noise))}
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "noise.npy", noise)
    for key, value in expected.items():
        np.save(tmp_path / f"{key}.npy", value)
    out = run_python(f"""
import numpy as np, tensorflow as tf
d = {str(tmp_path)!r}
m = tf.saved_model.load(d + "/aae")
inputs = {{"encode": "x", "encode_distribution": "x", "reconstruct": "x", "generate": "noise"}}
for key in ("encode.codes", "encode_distribution.mean", "encode_distribution.log_var",
            "reconstruct.reconstruction", "generate.images"):
    name, output = key.split(".")
    first = getattr(m, name)(np.load(d + "/" + inputs[name] + ".npy"))[output].numpy()
    again = getattr(m, name)(np.load(d + "/" + inputs[name] + ".npy"))[output].numpy()
    print(key, float(np.max(np.abs(first - np.load(d + "/" + key + ".npy")))), float(np.max(np.abs(first - again))))
""")
    diffs = {key: (float(a), float(b)) for key, a, b in (line.split() for line in out.strip().splitlines())}
    assert set(diffs) == set(expected) and all(a < 1e-5 and b == 0.0 for a, b in diffs.values()), diffs


def test_gaussian_encoder_fused_steps_equal_plain_fit(mnist_small):
    """Fused steps (three phases, Gaussian draws, dropout in all three networks, phase (c) with the
    discriminator in training mode) make plain fit's updates, random streams included."""
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.models import build_adversarial_autoencoder

    x = mnist_small[0][:300]
    models = []
    for fused in (False, True):
        keras.utils.set_random_seed(0)
        model = build_adversarial_autoencoder(784, 3, (32,), (16,), seed=5, encoder="gaussian", dropout=0.2,
                                              discriminator_dropout=0.2, encoder_noise_stddev=2.0,
                                              minibatch_size=64 if fused else None)
        model.compile(reconstruction_loss="cross_entropy_mean", generator_loss="non_saturating",
                      generator_phase_discriminator_training=True, jit_compile=False)
        history = model.fit(make_dataset(x, batch_size=64, seed=0, steps_per_batch=3 if fused else 1), epochs=1,
                            verbose=0, shuffle=False).history
        models.append((model, history))
    (plain, h_plain), (fused, h_fused) = models
    assert int(fused.generator_optimizer.iterations.numpy()) == int(plain.generator_optimizer.iterations.numpy()) == 5
    for key in h_plain:
        assert h_fused[key] == pytest.approx(h_plain[key], rel=1e-4, abs=1e-6), key
    for a, b in zip(plain.weights, fused.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=2e-5, err_msg=a.path)
