"""Question F (GAN): behaviour on tiny models and hand-checked numbers (the Parzen estimator: test_generative_metrics.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.conftest import run_python


def tiny_gan(k=1, generator_loss="minimax", seed=3):
    from keras_ae.models import GAN, build_discriminator, build_generator

    return GAN(build_generator(4, (16,), output_dim=12, seed=seed),
               build_discriminator(12, (16,), dropout=0.0, seed=seed),
               d_steps=k, generator_loss=generator_loss, seed=seed)


def _weights(model):
    return [np.array(w) for w in model.generator.get_weights() + model.discriminator.get_weights()]


# --- the GAN model ------------------------------------------------------------------------------

def test_discriminator_error_and_generator_objectives_match_hand_computation():
    from keras_ae.models.gan import GAN

    gan = tiny_gan()
    rng = np.random.default_rng(1)
    real = rng.random((6, 12)).astype("float32")
    fake = rng.random((6, 12)).astype("float32")
    d_real = np.asarray(gan.discriminate(real))[:, 0].astype(np.float64)
    d_fake = np.asarray(gan.discriminate(fake))[:, 0].astype(np.float64)
    error, p_real, p_fake = gan.discriminator_error(real, fake)
    # the slides' E = -(1/p) sum [ln D(x) + ln(1 - D(G(z)))], real = 1
    assert float(error) == pytest.approx(-np.mean(np.log(d_real) + np.log(1 - d_fake)), rel=1e-5)
    assert float(p_real) == pytest.approx(d_real.mean(), rel=1e-5)
    assert float(p_fake) == pytest.approx(d_fake.mean(), rel=1e-5)
    assert float(gan.generator_objective(fake)) == pytest.approx(np.mean(np.log(1 - d_fake)), rel=1e-5)
    ns = GAN(gan.generator, gan.discriminator, generator_loss="non_saturating")
    assert float(ns.generator_objective(fake)) == pytest.approx(-np.mean(np.log(d_fake)), rel=1e-5)
    with pytest.raises(ValueError):
        GAN(gan.generator, gan.discriminator, d_steps=0)
    with pytest.raises(ValueError):
        GAN(gan.generator, gan.discriminator, generator_loss="wasserstein")


def test_discriminator_outputs_logits_and_discriminate_applies_the_sigmoid():
    """D's network ends in a linear unit (a logit, unbounded); ``discriminate`` and the exported
    ``discriminate`` endpoint give sigmoid(logit) in [0, 1]; a discriminator ending in a sigmoid
    (as GANs were saved before) is refused, not taken for logits."""
    import keras

    from keras_ae.errors import ConfigError
    from keras_ae.models.gan import GAN, build_maxout_discriminator

    gan = tiny_gan()
    dense = gan.discriminator.layers[-1]
    dense.bias.assign([4.0])  # logits well above 1
    x = np.random.default_rng(3).random((7, 12)).astype("float32")
    logits = np.asarray(gan.discriminator(x), np.float64)
    assert gan.discriminator.layers[-1].name == "logit" and logits.max() > 1.0
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(np.asarray(gan.discriminate(x)), probabilities, rtol=1e-5)
    endpoint, _ = gan.export_endpoints()["discriminate"]
    np.testing.assert_allclose(np.asarray(endpoint(x)["probabilities"]), probabilities, rtol=1e-5)
    maxout = build_maxout_discriminator(12, (4,), 2, seed=0)
    assert maxout.layers[-1].name == "logit" and maxout.layers[-1].activation.__name__ == "linear"
    old_style = keras.Sequential([keras.Input((12,)), keras.layers.Dense(1), keras.layers.Activation("sigmoid")])
    with pytest.raises(ConfigError, match="ends in a sigmoid"):
        GAN(gan.generator, old_style)


@pytest.mark.parametrize("k,generator_loss", [(1, "minimax"), (3, "minimax"), (2, "non_saturating")])
def test_train_step_does_exactly_k_discriminator_updates_then_one_generator_update(k, generator_loss):
    """Replays one train_step by hand with the same noise: k SGD steps on D, each on its own
    slice of the k*m real images, then one SGD step on G; the weights must agree."""
    import keras
    import tensorflow as tf

    lr, m = 0.1, 5
    gan = tiny_gan(k, generator_loss)
    gan.compile(d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr))
    ref = tiny_gan(k, generator_loss)
    ref.generator.set_weights(gan.generator.get_weights())
    ref.discriminator.set_weights(gan.discriminator.get_weights())
    ref.seed_generator.state.assign(gan.seed_generator.state)
    before = _weights(gan)
    real = np.random.default_rng(2).random((k * m, 12)).astype("float32")

    gan.train_on_batch(real)

    d_vars, g_vars = ref.discriminator.trainable_variables, ref.generator.trainable_variables
    for i in range(k):
        z = ref.sample_noise(m)
        with tf.GradientTape() as tape:
            error, _, _ = ref.discriminator_error(real[i * m:(i + 1) * m], ref.generator(z))
        for v, g in zip(d_vars, tape.gradient(error, d_vars)):
            v.assign_sub(lr * g)
    z = ref.sample_noise(m)
    with tf.GradientTape() as tape:
        objective = ref.generator_objective(ref.generator(z))
    for v, g in zip(g_vars, tape.gradient(objective, g_vars)):
        v.assign_sub(lr * g)

    after, expected = _weights(gan), _weights(ref)
    for a, b, e in zip(before, after, expected):
        assert not np.allclose(a, b)  # every weight moved
        np.testing.assert_allclose(b, e, rtol=1e-4, atol=1e-6)
    assert int(gan.d_optimizer.iterations) == k and int(gan.g_optimizer.iterations) == 1


def test_fit_counts_k_discriminator_updates_per_generator_update():
    import keras

    k, m, steps = 3, 4, 5
    gan = tiny_gan(k)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((k * m * steps, 12)).astype("float32")
    history = gan.fit(x, batch_size=k * m, epochs=1, shuffle=False, verbose=0)
    assert int(gan.d_optimizer.iterations) == k * steps
    assert int(gan.g_optimizer.iterations) == steps
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}


def test_gan_round_trips_through_keras_file(tmp_path):
    import keras

    from keras_ae.export import load_keras_model

    gan = tiny_gan(k=2, generator_loss="non_saturating")
    gan.compile(d_optimizer=keras.optimizers.Adam(3e-4, beta_1=0.5), g_optimizer=keras.optimizers.Adam(1e-3))
    gan.fit(np.random.default_rng(0).random((16, 12)).astype("float32"), batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = load_keras_model(path)
    assert (loaded.d_steps, loaded.generator_loss, loaded.latent_dim) == (2, "non_saturating", 4)
    assert loaded.d_optimizer.learning_rate.numpy() == pytest.approx(3e-4)
    assert loaded.g_optimizer.learning_rate.numpy() == pytest.approx(1e-3)
    z = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(loaded.generator.predict(z, verbose=0), gan.generator.predict(z, verbose=0), atol=1e-6)


def test_generate_draws_its_noise_from_the_seed_alone():
    """Question F's Parzen samples: z from ``seed``, whatever the model's training stream did."""
    gan = tiny_gan()
    first = gan.generate(7, seed=5)
    gan.sample_noise(100)  # the training stream moves on, as training moves it
    # Another batch size runs other matmul kernels: the same z gives last-bit differences only
    # (another z would differ by about 0.1), so compare to float precision, not bit for bit.
    np.testing.assert_allclose(gan.generate(7, seed=5, batch_size=3), first, rtol=1e-5, atol=1e-6)
    z = np.random.default_rng(5).standard_normal((7, 4)).astype("float32")
    np.testing.assert_allclose(first, gan.generator.predict(z, verbose=0), rtol=1e-6, atol=1e-7)
    assert not np.allclose(gan.generate(7, seed=6), first)


# --- the question's run ---------------------------------------------------------------------------

SHORT_OPTIONS = ["--epochs", "2", "--sample-every", "1", "--train-limit", "512", "--test-limit", "200",
                 "--validation-size", "300", "--parzen-samples", "400", "--classifier-epochs", "1", "--k", "2",
                 "--sigmas", "0.1", "0.2", "0.3", "--verbose", "0"]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from keras_ae.questions import get_question

    q = get_question("F")
    root = tmp_path_factory.mktemp("question_f")
    args = q.build_parser().parse_args([*SHORT_OPTIONS, "--output-dir", str(root / "results"),
                                        "--saved-models-dir", str(root / "saved_models")])
    return q.run(args), root


def test_main_with_the_same_seed_writes_the_same_figures_and_numbers_again(short_run, tmp_path):
    """``keras-ae run F`` with short_run's options, in the same process after it: the same files,
    byte for byte, and the same numbers (wall-clock timings aside)."""
    import csv

    from keras_ae.questions import get_question

    first = short_run[1] / "results"
    again = tmp_path / "again"
    assert get_question("F").main([*SHORT_OPTIONS, "--output-dir", str(again), "--no-export"]) == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert {"samples_epoch001.png", "samples_epoch002.png", "samples_over_training.png", "quality.csv"} <= set(names)
    for name in names:
        if name.startswith("quality.") or (first / name).is_dir():
            continue  # wall-clock timings (compared below without them); the training logs' folder
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    timings = {"train_minutes", "parzen_seconds"}
    rows = [[{k: v for k, v in row.items() if k not in timings}
             for row in csv.DictReader((run / "quality.csv").read_text().splitlines())] for run in (first, again)]
    assert rows[0] == rows[1]
    assert {"parzen_test_ll", "classifier_score_generated"} <= set(rows[0][0])


def test_short_run_writes_figures_numbers_and_table(short_run):
    result, root = short_run
    for fig in result.figures.values():
        assert os.path.getsize(fig) > 1000, fig
    names = {os.path.basename(f) for f in result.figures.values()}
    assert {"samples_epoch001.png", "samples_epoch002.png", "samples_over_training.png", "losses.png",
            "discriminator_outputs.png", "parzen_sigma.png"} <= names
    row = result.details["rows"][0]
    assert row["k"] == 2 and row["train_images"] == 512
    # keras_ae's one estimator: the grid's best, then refined between its neighbours (or beyond an edge by
    # one grid step), never worse on the held-out images; the grid's number beside the refined one
    assert row["parzen_paper_grid_sigma"] in (0.1, 0.2, 0.3)
    assert 0.05 <= row["parzen_sigma"] <= 0.45
    scores = result.details["sigma_scores"]
    assert scores[row["parzen_sigma"]] >= scores[row["parzen_paper_grid_sigma"]] == max(scores[s] for s in (0.1, 0.2, 0.3))
    assert list(scores) == sorted(scores)
    assert result.metrics["parzen_log_likelihood_paper_grid"] == pytest.approx(row["parzen_paper_grid_test_ll"])
    assert np.isfinite(row["parzen_test_ll"]) and row["parzen_test_ll_stderr"] > 0
    assert 1.0 <= row["classifier_score_generated"] <= 10.0 and 1.0 <= row["classifier_score_test"] <= 10.0
    table = open(next(iter(result.tables.values()))[:-4] + ".md").read()
    assert "Parzen" in table and "parzen_test_ll" in table
    assert len(result.details["history"]["d_loss"]) == 2 and len(result.details["history"]["val_d_loss"]) == 2
    # the last epoch's D outputs and error, the equilibrium answer's numbers: new columns at the end
    h = result.details["history"]
    assert [row["final_d_real"], row["final_d_fake"], row["final_d_loss"]] == pytest.approx(
        [h["d_real"][-1], h["d_fake"][-1], h["d_loss"][-1]])
    assert list(row)[-3:] == ["final_d_real", "final_d_fake", "final_d_loss"]


def test_exported_generate_endpoint_works_without_keras_ae(short_run):
    result, root = short_run
    path = result.models["gan"]
    meta = json.load(open(os.path.join(path, "metadata.json")))
    assert meta["question"] == "F" and meta["k"] == 2 and meta["generator_loss"] == "minimax"
    assert meta["value_range"] == "signed"
    out = run_python(
        "import numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({path!r})\n"
        "z = np.random.default_rng(0).normal(size=(5, 100)).astype('float32')\n"
        "x = m.generate(z)['images'].numpy(); p = m.discriminate(x)['probabilities'].numpy()\n"
        "print(x.shape, p.shape, float(x.min()) >= -1.0, float(x.max()) <= 1.0, bool(((p >= 0) & (p <= 1)).all()))\n")
    assert out.strip() == "(5, 784) (5, 1) True True True"


def test_bad_arguments_are_refused():
    from keras_ae.questions import get_question

    q = get_question("F")
    with pytest.raises(SystemExit) as exit_info:  # refused by the parser, before anything runs
        q.build_parser().parse_args(["--k", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(ValueError, match="--validation-size 60000"):  # ConfigError: needs the data to see
        q.run(q.build_parser().parse_args(["--validation-size", "60000"]))


# --- the answers, from synthetic quality tables (no training) ---------------------------------------

def _quality(**cells):
    row = {"parzen_test_ll": "230", "parzen_test_ll_stderr": "2", "parzen_sigma": "0.2",
           "classifier_score_generated": "9.1", "classifier_score_test": "9.8", "confidence_generated": "0.95",
           "confidence_test": "0.98", "class_entropy_generated": "2.29", "classifier_test_accuracy": "0.97",
           "final_d_real": "0.52",
           "final_d_fake": "0.48", "final_d_loss": "1.38"}
    row.update(cells)
    return {"quality": [{k: v for k, v in row.items() if v is not None}]}


def _answers(tables):
    """{"digits": answer, "equilibrium": answer} of those the tables answer."""
    from keras_ae.questions.question_f import QUESTION

    return {"equilibrium" if "equilibrium" in a["asks"] else "digits": a for a in QUESTION.answers(tables)}


@pytest.mark.parametrize("generated, start", [("9.1", "Yes: a digit classifier finds"), ("6.0", "Partly:"),
                                              ("1.3", "No: to a digit classifier"),
                                              (None, "Not judged by a digit classifier"),
                                              ("weak", "Cannot tell from the classifier score")])
def test_the_digits_answer_follows_the_classifier_score(generated, start):
    """A classifier that does not recognise the real test digits judges nothing: its score on real
    digits is as low as on generated ones, which is no "yes"."""
    cells = ({"classifier_score_generated": "1.0", "classifier_score_test": "1.07", "classifier_test_accuracy": "0.52"}
             if generated == "weak" else {"classifier_score_generated": generated})
    answer = _answers(_quality(**cells))["digits"]
    assert answer["answer"].startswith(start), answer
    assert "Goodfellow et al.'s 225 +- 2" in answer["answer"]


@pytest.mark.parametrize("ll, se, where", [("300", "2", "above"), ("120", "3", "below"), ("227", "1.5", "level with")])
def test_the_digits_answer_holds_the_parzen_likelihood_against_the_paper(ll, se, where):
    answer = _answers(_quality(parzen_test_ll=ll, parzen_test_ll_stderr=se))["digits"]
    assert f"nats, is {where} Goodfellow" in answer["answer"], answer
    assert "95 % interval" in answer["evidence"]


@pytest.mark.parametrize("cells, start", [
    ({}, "Near it on the last epoch"),
    ({"classifier_score_generated": None}, "Near it on the last epoch"),
    ({"final_d_real": "0.500", "final_d_fake": "0.500", "final_d_loss": "1.386", "classifier_score_generated": "1.0"},
     "Only in appearance"),
    ({"final_d_real": "0.500", "final_d_fake": "0.500", "classifier_score_generated": "1.0",
      "classifier_test_accuracy": "0.5"}, "Near it on the last epoch"),  # a weak classifier checks nothing
    ({"final_d_real": "0.85", "final_d_fake": "0.2", "final_d_loss": "0.6"}, "No: on the last epoch D still tells"),
    ({"final_d_real": "0.3", "final_d_fake": "0.6", "final_d_loss": "2.1"}, "No: on the last epoch D rates generated"),
])
def test_the_equilibrium_answer_follows_the_last_epoch_and_checks_the_samples(cells, start):
    answer = _answers(_quality(**cells))["equilibrium"]
    assert answer["answer"].startswith(start), answer
    assert "2 ln 2 = 1.386" in answer["evidence"]
    if start.startswith("Near"):  # a last epoch near 1/2 is never sold as proof
        assert "do not prove" in answer["answer"]


def test_answers_are_left_out_where_the_run_lacks_their_numbers():
    from keras_ae.questions.question_f import QUESTION

    # a run made before the final_d_* columns: the digits answer only
    assert list(_answers(_quality(final_d_real=None, final_d_fake=None, final_d_loss=None))) == ["digits"]
    assert QUESTION.answers({}) == []
