"""Question D: the convolutional autoencoder on MNIST-M, its run and its export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_python


@pytest.mark.parametrize("input_shape, filters, code_channels", [
    ((28, 28, 3), (32, 64), 16),   # the question's default
    ((28, 28, 3), (8,), 4),
    ((32, 32, 1), (4, 8, 8), 2),
])
def test_conv_autoencoder_output_shape_equals_input(input_shape, filters, code_channels):
    import keras

    from keras_ae.models import build_conv_autoencoder

    model = build_conv_autoencoder(input_shape, filters=filters, code_channels=code_channels)
    x = np.random.default_rng(0).random((3, *input_shape)).astype("float32")
    y = np.asarray(model(x))
    assert y.shape == x.shape
    assert 0.0 <= y.min() and y.max() <= 1.0  # sigmoid output for [0, 1] images
    scale = 2 ** len(filters)
    assert model.code_shape == (input_shape[0] // scale, input_shape[1] // scale, code_channels)
    # the sheet's layers: Conv2D in the encoder, Conv2DTranspose in the decoder, nothing dense
    enc_layers = [type(layer) for layer in model.encoder.layers[1:]]
    dec_layers = [type(layer) for layer in model.decoder.layers[1:]]
    assert set(enc_layers) == {keras.layers.Conv2D}
    assert set(dec_layers) == {keras.layers.Conv2DTranspose}


def test_conv_encoder_refuses_sizes_the_strides_cannot_halve():
    from keras_ae.models import build_conv_encoder

    with pytest.raises(ValueError, match="not divisible"):
        build_conv_encoder((28, 28, 3), filters=(8, 8, 8))  # 28 / 8 is not whole


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, data_dir):
    """Question D on 1,024 MNIST-M images per split (built without the full cache), 3 epochs."""
    import pytest as _pytest

    from keras_ae.data import build_mnist_m, to_unit
    from keras_ae.questions import question_d

    small = build_mnist_m(limit=1024, seed=0)
    out = tmp_path_factory.mktemp("question_d")
    monkeypatch = _pytest.MonkeyPatch()
    monkeypatch.setattr(question_d, "load_data", lambda args: {k: to_unit(v.images) for k, v in small.items()})
    args = question_d.build_parser().parse_args([
        "--epochs", "3", "--batch-size", "32", "--filters", "8", "16", "--code-channels", "4",
        "--output-dir", str(out / "results"), "--saved-models-dir", str(out / "saved_models"), "--verbose", "0",
    ])
    try:
        result = question_d.run(args)
    finally:
        monkeypatch.undo()
    return result, out, small


def test_short_run_writes_figures_table_and_history(short_run):
    result, out, _ = short_run
    for path in result.figures.values():
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert set(result.figures) == {"loss_curves", "reconstructions"}
    from keras_ae.questions.question_d import QUESTION

    assert set(QUESTION.readme_metrics) <= set(result.metrics)
    assert result.metrics["test_mse"] == pytest.approx(result.details["row"]["test_mse"])
    hist = result.details["history"]
    assert len(hist["loss"]) == len(hist["val_loss"]) == 3  # train and validation curve, one point per epoch
    assert hist["loss"][-1] < hist["loss"][0] and hist["val_loss"][-1] < hist["val_loss"][0]
    row = result.details["row"]
    assert row["test_mse"] < row["mean_image_test_mse"]  # learnt more than the mean image
    assert (out / "results" / "test_losses.md").read_text().startswith("Question D")
    assert (out / "results" / "history.csv").is_file()


def test_export_loads_in_a_fresh_process_and_matches(short_run, tmp_path):
    from keras_ae.export import load_keras_model

    result, _, small = short_run
    path = result.models["conv_autoencoder"]
    meta = json.loads(open(f"{path}/metadata.json").read())
    assert meta["question"] == "D" and meta["value_range"] == "unit"
    assert set(meta["endpoints"]) == {"encode", "decode", "reconstruct"}
    x = (small["test"].images[:5] / 255.0).astype("float32")
    model = result.details["model"]
    expected = {"reconstruct": np.asarray(model(x)), "encode": np.asarray(model.encoder(x))}
    expected["decode"] = np.asarray(model.decoder(expected["encode"]))
    np.save(tmp_path / "x.npy", x)
    for k, v in expected.items():
        np.save(tmp_path / f"{k}.npy", v)
    out = run_python(f"""
import numpy as np, tensorflow as tf
m = tf.saved_model.load({str(path)!r})
x = np.load({str(tmp_path / 'x.npy')!r})
for name, arg, key in (("encode", x, "codes"), ("reconstruct", x, "reconstruction"),
                       ("decode", np.load({str(tmp_path / 'encode.npy')!r}), "reconstruction")):
    y = getattr(m, name)(arg)[key].numpy()
    want = np.load({str(tmp_path)!r} + "/" + name + ".npy")
    assert y.shape == want.shape, (name, y.shape, want.shape)
    print(name, float(np.max(np.abs(y - want))))
""")
    diffs = dict(line.split() for line in out.strip().splitlines())
    assert set(diffs) == {"encode", "decode", "reconstruct"}
    assert all(float(d) < 1e-5 for d in diffs.values()), diffs
    assert np.asarray(model(x)).shape == x.shape
    reloaded = load_keras_model(path)
    np.testing.assert_allclose(np.asarray(reloaded(x)), expected["reconstruct"], atol=1e-6)


def test_short_run_adds_the_answers_columns_in_the_training_loss_units(short_run):
    """New columns beside the old ones; the final weights' training loss is in the units of the
    last epoch's running training loss (squared error per image), and the run's tables answer both asks."""
    from keras_ae.questions.question_d import QUESTION

    result, _, _ = short_run
    row = result.details["row"]
    assert list(row)[:9] == ["epochs", "code", "parameters", "final_train_loss", "final_val_loss",
                             "test_squared_error", "test_mse", "mean_image_test_mse", "train_minutes"]
    assert row["loss"] == "squared_error" and row["best_val_epoch"] in (1, 2, 3)
    assert row["best_val_loss"] == min(result.details["history"]["val_loss"])
    assert 0.5 < row["train_loss_final_weights"] / row["final_train_loss"] < 2.0
    assert 0.0 < row["test_mse_std_error"] < row["test_mse"]
    assert row["test_squared_error_std_error"] == pytest.approx(row["test_mse_std_error"] * 28 * 28 * 3)
    answers = QUESTION.answers({"test_losses": result.rows("test_losses")})
    assert [a["item"] for a in answers] == ["002 problem 1 (a)", "002 problem 1 (b)"]


@pytest.mark.parametrize("loss, units", [("squared_error", 1.0), ("mse", 12.0)])
def test_uncertainty_row_on_canned_arrays(loss, units):
    from keras_ae.questions.question_d import uncertainty_row

    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((6, 2, 2, 3)), rng.random((5, 2, 2, 3))
    recon = x_test + 0.1 * rng.standard_normal(x_test.shape)
    train_errors, val_errors = np.array([1.0, 2.0, 3.0, 6.0]), np.array([2.0, 4.0])
    row = uncertainty_row(x_train, x_test, recon, {"val_loss": [5.0, 3.0, 4.0]}, loss, train_errors, val_errors)
    per_image = ((x_test - recon) ** 2).reshape(5, -1).sum(axis=1)
    assert row["test_squared_error_std_error"] == pytest.approx(per_image.std(ddof=1) / 5 ** 0.5)
    assert row["test_mse_std_error"] == pytest.approx(per_image.std(ddof=1) / 5 ** 0.5 / 12)
    baseline = ((x_test - x_train.mean(axis=0)) ** 2).reshape(5, -1).mean(axis=1)
    assert row["mean_image_test_mse_std_error"] == pytest.approx(baseline.std(ddof=1) / 5 ** 0.5)
    assert row["train_loss_final_weights"] == pytest.approx(3.0 / units)
    assert row["train_loss_final_weights_std_error"] == pytest.approx(np.std(train_errors, ddof=1) / 2 / units)
    assert row["final_val_loss_std_error"] == pytest.approx(np.std(val_errors, ddof=1) / 2 ** 0.5 / units)
    assert (row["best_val_loss"], row["best_val_epoch"], row["loss"]) == (3.0, 2, loss)


def _d_tables(val=4.0, best=4.0, best_epoch=20, test=4.0, train=4.0, se=0.02, epochs=20, mse=0.0018,
              baseline=0.06, mse_se=0.00002):
    row = {"epochs": epochs, "loss": "squared_error", "final_train_loss": 4.1, "final_val_loss": val,
           "final_val_loss_std_error": se, "best_val_loss": best, "best_val_epoch": best_epoch,
           "train_loss_final_weights": train, "train_loss_final_weights_std_error": se / 2,
           "test_squared_error": test, "test_squared_error_std_error": se, "test_mse": mse,
           "test_mse_std_error": mse_se, "mean_image_test_mse": baseline, "mean_image_test_mse_std_error": mse_se * 10}
    return {"test_losses": [{k: str(v) for k, v in row.items()}]}


@pytest.mark.parametrize("tables, start, gap", [
    (_d_tables(val=4.0, best=4.0, best_epoch=20, test=4.0, train=4.0), "No sign of overfitting", "is within"),
    (_d_tables(val=4.5, best=4.0, best_epoch=8, test=4.6, train=4.0), "Yes, it overfits: the validation loss "
                                                                      "turned up after epoch 8", "lies 15.0% above"),
    (_d_tables(val=4.03, best=4.0, best_epoch=17, test=3.8, train=4.0), "Cannot tell: the validation loss is "
                                                                        "lowest at epoch 17 of 20", "lies 5.0% below"),
    (_d_tables(epochs=1, best_epoch=1), "Cannot tell from one epoch", "is within"),
])
def test_question_d_s_overfitting_answer_follows_the_curves(tables, start, gap):
    from keras_ae.questions.question_d import QUESTION

    answers = {a["item"]: a for a in QUESTION.answers(tables)}
    answer = answers["002 problem 1 (a)"]
    assert answer["answer"].startswith(start), answer
    assert f"The test loss {gap}" in answer["answer"]
    assert "+- 0.02" in answer["evidence"] and "95 % interval" in answer["evidence"]


@pytest.mark.parametrize("mse, start", [(0.0018, "Better than the trivial answer: the test MSE is 33.3 times lower"),
                                        (0.07, "Worse than the trivial answer: the test MSE is 16.7% higher"),
                                        (0.0599, "Not measurably better")])
def test_question_d_s_reconstruction_answer_follows_the_baseline(mse, start):
    from keras_ae.questions.question_d import QUESTION

    answers = {a["item"]: a for a in QUESTION.answers(_d_tables(mse=mse, baseline=0.06, mse_se=0.0002))}
    assert answers["002 problem 1 (b)"]["answer"].startswith(start), answers["002 problem 1 (b)"]
    assert f"{mse:.4g} +- 0.0002 (4 squared error per image) against 0.06 +- 0.002" in answers["002 problem 1 (b)"]["evidence"]


def test_question_d_leaves_asks_unanswered_for_a_table_without_the_new_columns():
    from keras_ae.questions.question_d import QUESTION

    old = {"test_losses": [{"epochs": "20", "final_train_loss": "4.3", "final_val_loss": "4.2", "test_mse": "0.0018",
                            "test_squared_error": "4.35", "mean_image_test_mse": "0.06"}]}
    assert QUESTION.answers(old) == []
