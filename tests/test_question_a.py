"""Question A: the variants train, the initialisers and the loss are what the sheets say, the
export gives the in-memory model's outputs in a fresh process, the script writes its outputs."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from tests.conftest import run_python


@pytest.fixture(scope="module")
def trained(mnist_small, tmp_path_factory):
    """The four sheet variants trained for 2 short epochs on 2,048 digits (shared by the tests)."""

    from keras_ae.data import make_dataset
    from keras_ae.questions.question_a import DEFAULT_VARIANTS, VARIANTS, build_model, compile_model
    from keras_ae.questions.common import seed_everything

    x_train, _, x_test, _ = mnist_small
    models, histories = {}, {}
    for name in DEFAULT_VARIANTS:
        seed_everything(0)
        model = compile_model(build_model(VARIANTS[name]), VARIANTS[name], 1e-3)
        before = model.evaluate(x_test, x_test, verbose=0, return_dict=True)
        hist = model.fit(make_dataset(x_train, batch_size=128, seed=0), epochs=2, shuffle=False, verbose=0)
        after = model.evaluate(x_test, x_test, verbose=0, return_dict=True)
        models[name], histories[name] = model, (before, after, hist.history)
    return models, histories


@pytest.mark.parametrize("name", ["mse_normal", "ce_normal", "ce_glorot", "ce_glorot_deep"])
def test_each_variant_trains_and_its_loss_falls(trained, name):
    before, after, history = trained[1][name]
    assert history["loss"][1] < history["loss"][0]
    assert after["loss"] < 0.95 * before["loss"]


def test_architectures_follow_the_sheets(trained):
    models = trained[0]
    def dims(m):
        return [l.units for l in m.encoder.layers[1:]], [l.units for l in m.decoder.layers[1:]]
    assert dims(models["ce_glorot"]) == ([256, 128], [256, 784])
    assert dims(models["ce_glorot_deep"]) == ([256, 128, 64], [128, 256, 784])
    for layer in models["mse_normal"].encoder.layers[1:] + models["mse_normal"].decoder.layers[1:]:
        assert layer.activation.__name__ == "sigmoid"


def test_normal_and_glorot_initialisers_have_the_expected_statistics():
    import keras

    from keras_ae.questions.question_a import VARIANTS, build_model

    keras.utils.set_random_seed(0)
    normal, glorot = build_model(VARIANTS["ce_normal"]), build_model(VARIANTS["ce_glorot"])
    k, b = normal.encoder.layers[1].kernel.numpy(), normal.encoder.layers[1].bias.numpy()
    assert abs(k.mean()) < 0.01 and abs(k.std() - 1.0) < 0.01  # tf.random_normal: N(0, 1)
    assert abs(b.std() - 1.0) < 0.15  # biases too (task 2)
    kg = glorot.encoder.layers[1].kernel.numpy()  # 784 -> 256
    limit = math.sqrt(6 / (784 + 256))
    assert np.abs(kg).max() <= limit and np.abs(kg).max() > 0.99 * limit
    assert abs(kg.std() - limit / math.sqrt(3)) < 0.002  # uniform(-limit, limit)


def test_cross_entropy_matches_a_hand_computation():
    import keras

    from keras_ae.losses import BernoulliCrossEntropy, cross_entropy_per_image, get_loss

    x = np.array([[0.0, 1.0, 0.5], [1.0, 0.2, 0.0]], np.float32)
    z = np.array([[0.1, 0.8, 0.5], [0.9, 0.3, 0.2]], np.float32)
    by_hand = [
        -(math.log(0.9) + math.log(0.8) + 0.5 * math.log(0.5) + 0.5 * math.log(0.5)),
        -(math.log(0.9) + 0.2 * math.log(0.3) + 0.8 * math.log(0.7) + math.log(0.8)),
    ]
    expected = sum(by_hand) / 2  # summed over pixels, averaged over images, positive (minus sign)
    assert float(BernoulliCrossEntropy()(x, z)) == pytest.approx(expected, rel=1e-5)
    assert cross_entropy_per_image(x, z) == pytest.approx(expected, rel=1e-6)
    assert float(get_loss("mse")(x, z)) == pytest.approx(np.mean((x - z) ** 2), rel=1e-6)
    assert float(get_loss("squared_error")(x, z)) == pytest.approx(np.sum((x - z) ** 2) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("hinge")
    # saturated outputs stay finite thanks to clipping
    assert math.isfinite(float(BernoulliCrossEntropy()(np.ones((1, 3)), np.zeros((1, 3)))))
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        BernoulliCrossEntropy(from_logits=True)))
    assert isinstance(again, BernoulliCrossEntropy) and again.from_logits and again.name == "cross_entropy"
    # a loss saved when it had its own clipping bound (1e-7, now Keras' epsilon) still loads
    old = {**BernoulliCrossEntropy().get_config(), "epsilon": 1e-7}
    assert float(BernoulliCrossEntropy.from_config(old)(x, z)) == pytest.approx(expected, rel=1e-5)


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    from keras_ae.export import export_model

    model = trained[0]["ce_glorot"]
    path = tmp_path_factory.mktemp("export") / "question_a_ce_glorot"
    export_model(model, path, metadata={"value_range": "unit"})
    return model, path


def test_savedmodel_matches_the_in_memory_model_in_a_fresh_process(exported, mnist_small, tmp_path):
    model, path = exported
    x = mnist_small[2][:64]
    np.save(tmp_path / "x.npy", x)
    run_python(f"""
import numpy as np, tensorflow as tf, keras
m = tf.saved_model.load({str(path)!r})
x = np.load({str(tmp_path / 'x.npy')!r})
np.save({str(tmp_path / 'sm_recon.npy')!r}, m.reconstruct(x)["reconstruction"].numpy())
np.save({str(tmp_path / 'sm_code.npy')!r}, m.encode(x)["codes"].numpy())
np.save({str(tmp_path / 'sm_dec.npy')!r}, m.decode(m.encode(x)["codes"])["reconstruction"].numpy())
layer = keras.layers.TFSMLayer({str(path)!r}, call_endpoint="reconstruct")
np.save({str(tmp_path / 'tfsm.npy')!r}, keras.ops.convert_to_numpy(layer(x)["reconstruction"]))
""")
    recon = model.predict(x, verbose=0)
    code = model.encoder.predict(x, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "sm_recon.npy"), recon, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "sm_code.npy"), code, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "sm_dec.npy"), recon, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "tfsm.npy"), recon, atol=1e-5)


def test_keras_file_round_trips(exported, mnist_small):
    from keras_ae.export import load_keras_model
    from keras_ae.models import Autoencoder

    model, path = exported
    again = load_keras_model(path)
    assert isinstance(again, Autoencoder) and again.loss.name == "cross_entropy"
    x = mnist_small[2][:16]
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["endpoints"]["decode"]["input_shape"] == [None, 128]


def test_reexport_replaces_the_old_export_and_a_failed_export_keeps_it(exported, tmp_path):
    from keras_ae.export import export_model

    model, _ = exported
    target = tmp_path / "m"
    export_model(model, target)
    stamp = (target / "saved_model.pb").stat().st_mtime_ns

    class Broken:
        name = "broken"
        def export_endpoints(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        export_model(Broken(), target)
    assert (target / "saved_model.pb").stat().st_mtime_ns == stamp


def test_cli_reconstruct_and_its_errors(exported, mnist_small, tmp_path, capsys):
    from keras_ae.cli import main

    model, path = exported
    digits = (mnist_small[2][:5] * 255).round().astype(np.uint8)
    np.save(tmp_path / "in.npy", digits)
    assert main(["reconstruct", "--model", str(path), "--input", str(tmp_path / "in.npy"),
                 "--output", str(tmp_path / "out.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model.predict(digits / 255.0, verbose=0), atol=1e-5)

    np.save(tmp_path / "keep.npy", np.ones(3))
    np.save(tmp_path / "wrong.npy", np.zeros((2, 28, 28), np.float32))
    assert main(["reconstruct", "--model", str(path), "--input", str(tmp_path / "wrong.npy"),
                 "--output", str(tmp_path / "keep.npy")]) == 2
    assert "takes arrays of shape (N, 784), found (2, 28, 28)" in capsys.readouterr().err
    assert np.array_equal(np.load(tmp_path / "keep.npy"), np.ones(3))  # nothing overwritten

    assert main(["reconstruct", "--model", str(tmp_path), "--input", str(tmp_path / "in.npy"),
                 "--output", str(tmp_path / "o.npy")]) == 2
    assert "is not a SavedModel: no saved_model.pb" in capsys.readouterr().err
    assert main(["generate", "--model", str(path), "--input", str(tmp_path / "in.npy"),
                 "--output", str(tmp_path / "o.npy")]) == 2
    assert "has no endpoint 'generate'" in capsys.readouterr().err
    assert main(["info", "--model", str(path)]) == 0
    assert '"reconstruct"' in capsys.readouterr().out


def test_nan_loss_stops_training_with_a_clear_error(mnist_small, tmp_path):
    from keras_ae.callbacks import standard_callbacks
    from keras_ae.errors import TrainingDivergedError
    from keras_ae.questions.question_a import VARIANTS, build_model, compile_model

    model = compile_model(build_model(VARIANTS["ce_glorot"]), VARIANTS["ce_glorot"], 1e-3)
    x = mnist_small[0][:256].copy()
    model.fit(x, x, epochs=1, batch_size=128, verbose=0, callbacks=standard_callbacks(str(tmp_path)))
    written = (tmp_path / "history.csv").read_text()
    x[130, 5] = np.nan
    with pytest.raises(TrainingDivergedError, match="loss = nan at epoch 1, batch 2"):
        model.fit(x, x, epochs=1, batch_size=128, shuffle=False, verbose=0,
                  callbacks=standard_callbacks(str(tmp_path / "second")))
    assert (tmp_path / "history.csv").read_text() == written


def test_script_writes_figure_table_logs_and_savedmodels(tmp_path, capsys):
    from keras_ae.cli import main

    out, models = tmp_path / "out", tmp_path / "models"
    assert main(["run", "A", "--epochs", "1", "--train-limit", "512", "--test-limit", "128",
                 "--variants", "mse_normal", "ce_glorot", "--output-dir", str(out),
                 "--saved-models-dir", str(models), "--verbose", "0"]) == 0
    for f in ("reconstructions.png", "test_mse.png", "test_losses.md", "test_losses.csv",
              "mse_normal/history.csv", "ce_glorot/reconstructions_epoch001.png"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    rows = list(csv.DictReader(open(out / "test_losses.csv")))
    assert [r["variant"] for r in rows] == ["mse_normal", "ce_glorot"]
    assert all(float(r["test_mse"]) > 0 and float(r["test_cross_entropy"]) > 0 for r in rows)
    assert (models / "question_a_ce_glorot" / "saved_model.pb").is_file()
    assert "[question A] variant 2/2" in capsys.readouterr().out
    from keras_ae.questions.question_a import QUESTION
    from keras_ae.results import read_tables

    metrics = QUESTION.headline(read_tables([str(out / "test_losses.csv")]))
    assert set(QUESTION.readme_metrics) <= set(metrics)  # the declared headline finds its table
    assert metrics["ce_glorot_test_mse"] == float(rows[1]["test_mse"])


def test_bad_options_missing_data_and_unknown_question_are_refused(capsys, tmp_path):
    from keras_ae.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "A", "--epochs", "0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "keras-ae run A: error: argument --epochs: must be at least 1, got 0\n"
    assert main(["run", "A", "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "o")]) == 2
    assert f"no mnist data in {tmp_path.resolve()}" in capsys.readouterr().err
    assert main(["run", "Z"]) == 2
    assert "unknown question 'Z'" in capsys.readouterr().err


def test_cross_entropy_keeps_its_gradient_where_the_sigmoid_saturates():
    """A wrong, saturated sigmoid unit (logit -30, target 1) gets the gradient z - x = -1 with
    respect to its logit, in a compiled step of a real model; the value is the formula's."""
    import keras
    import tensorflow as tf

    from keras_ae.losses import BernoulliCrossEntropy, get_loss
    from keras_ae.models import build_dense_autoencoder

    loss = get_loss("cross_entropy")
    logits = tf.constant([[-30.0, 0.3, 2.0]])
    x = tf.constant([[1.0, 0.25, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        value = loss(x, keras.activations.sigmoid(logits))
    grad = tape.gradient(value, logits).numpy()
    z = tf.sigmoid(logits).numpy()
    np.testing.assert_allclose(grad, z - x.numpy(), atol=1e-6)
    assert grad[0, 0] == pytest.approx(-1.0)
    # the value: the sheet's formula where z is not saturated, and the exact 30 nats where it is
    formula = -(0.25 * math.log(z[0, 1]) + 0.75 * math.log(1 - z[0, 1]) + math.log(1 - z[0, 2]))
    assert float(value) == pytest.approx(30.0 + formula, rel=1e-5)
    assert float(BernoulliCrossEntropy(from_logits=True)(x, logits)) == pytest.approx(float(value), rel=1e-6)

    # through a model's compiled (XLA) loss: decoder output logits all -30, targets all 1
    model = build_dense_autoencoder(4, (2,), (), init="glorot", seed=0)
    out = model.decoder.layers[-1]
    out.kernel.assign(np.zeros(out.kernel.shape, np.float32))
    out.bias.assign(np.full(out.bias.shape, -30.0, np.float32))
    model.compile(optimizer="adam", loss=loss)
    ones = tf.ones((3, 4))

    @tf.function(jit_compile=True)
    def bias_gradient(x):
        with tf.GradientTape() as tape:
            value = model.compute_loss(x=x, y=x, y_pred=model(x, training=True), training=True)
        return tape.gradient(value, out.bias)

    np.testing.assert_allclose(bias_gradient(ones).numpy(), -np.ones(4), atol=1e-6)

