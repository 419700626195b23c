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
