"""Exports every client can use: named signature outputs, and every kind of model converts to
TFLite with the stock converter (all signatures) and computes what the SavedModel computes."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

# endpoint -> the names of its outputs, for every endpoint any keras_ae model exports
OUTPUT_NAMES = {
    "encode": ["codes"], "decode": ["reconstruction"], "reconstruct": ["reconstruction"], "generate": ["images"],
    "encode_distribution": ["log_var", "mean"], "classify": ["probabilities"], "predict_class": ["classes"],
    "discriminate": ["probabilities"], "compress_image": ["codes"], "decompress_image": ["images"],
    "quantize": ["indices"], "dequantize": ["codes"],
}


def _tiny_models() -> dict:
    """One tiny model of each kind keras_ae exports (weights seeded)."""
    import keras

    from keras_ae.models import (GAN, DenoisingAutoencoder, build_adversarial_autoencoder, build_conv_autoencoder,
                                 build_dense_autoencoder, build_discriminator, build_encoder_classifier,
                                 build_generator, build_patch_autoencoder)
    from keras_ae.models.rbm import RBM
    from keras_ae.models.variational import build_vae

    keras.utils.set_random_seed(0)
    plain = build_dense_autoencoder(8, (6, 3), (6,), seed=0, name="plain")
    classifier = build_encoder_classifier(plain.encoder, num_classes=3, seed=0)
    classifier(np.zeros((1, 8), np.float32))  # built, as after training
    return {
        "plain": plain,
        "denoising": build_dense_autoencoder(8, (6, 3), (6,), seed=1, name="denoising",
                                             model_class=DenoisingAutoencoder, noise_stddev=0.5),
        "adversarial": build_adversarial_autoencoder(8, 2, hidden_units=(6,), discriminator_units=(4,), seed=0),
        "gan": GAN(build_generator(3, (6,), 8, seed=0), build_discriminator(8, (6,), seed=0), seed=0),
        "vae": build_vae(8, (6,), latent_dim=2, seed=0),
        "classifier": classifier,
        "patch": build_patch_autoencoder(patch_size=4, code_units=3, image_shape=(8, 12), seed=0),
        "conv": build_conv_autoencoder((8, 8, 3), filters=(4,), code_channels=2),
        "rbm": RBM(8, 3, seed=0),
    }


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    from keras_ae.export import export_model

    root = tmp_path_factory.mktemp("exports")
    return {kind: export_model(model, root / kind, save_keras=False) for kind, model in _tiny_models().items()}


def _inputs(spec, rng) -> np.ndarray:
    if spec.dtype.is_integer:
        if spec.shape.rank == 0:
            return np.asarray(4, np.int32)  # bits
        return rng.integers(-3, 20, size=(3, *spec.shape[1:])).astype(np.int32)  # indices, some out of range
    return rng.uniform(-1.2, 1.2, size=(3, *spec.shape[1:])).astype(np.float32)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")  # TF 2.21 still ships it
@pytest.mark.parametrize("kind", ["plain", "denoising", "adversarial", "gan", "vae", "classifier", "patch", "conv",
                                  "rbm"])
def test_every_signature_names_its_outputs_and_tflite_computes_the_same(exports, kind):
    import tensorflow as tf

    path = str(exports[kind])
    loaded = tf.saved_model.load(path)
    keys = list(loaded.signatures)
    assert "serving_default" in keys and len(keys) > 1
    converter = tf.lite.TFLiteConverter.from_saved_model(path, signature_keys=keys)  # the stock converter
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    assert sorted(interpreter.get_signature_list()) == sorted(keys)
    rng = np.random.default_rng(0)
    for key in keys:
        signature = loaded.signatures[key]
        if key != "serving_default":
            assert sorted(signature.structured_outputs) == OUTPUT_NAMES[key], key
        assert not any(name.startswith("output_") for name in signature.structured_outputs), key
        specs = signature.structured_input_signature[1]
        feed = {name: _inputs(spec, rng) for name, spec in specs.items()}
        want = {name: t.numpy() for name, t in signature(**{n: tf.constant(v) for n, v in feed.items()}).items()}
        got = interpreter.get_signature_runner(key)(**feed)
        assert sorted(got) == sorted(want), key
        for name in want:
            assert got[name].shape == want[name].shape and got[name].dtype == want[name].dtype, (key, name)
            if want[name].dtype.kind in "iu":
                np.testing.assert_array_equal(got[name], want[name], err_msg=f"{key}/{name}")
            else:
                np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5, err_msg=f"{key}/{name}")


def test_attribute_calls_and_the_metadata_name_the_outputs_too(exports):
    import json

    import tensorflow as tf

    from keras_ae.export import InferenceModel

    loaded = tf.saved_model.load(str(exports["vae"]))
    x = np.random.default_rng(1).random((2, 8)).astype(np.float32)
    assert sorted(loaded.encode_distribution(x)) == ["log_var", "mean"]
    meta = json.loads((exports["vae"] / "metadata.json").read_text())
    assert meta["endpoints"]["encode"]["outputs"] == {"codes": {"shape": [None, 2], "dtype": "float32"}}
    model = InferenceModel(exports["vae"])
    np.testing.assert_allclose(model("encode_distribution", x, output="mean"), loaded.encode(x)["codes"].numpy())
    with pytest.raises(Exception, match="has the outputs log_var, mean: name one"):
        model("encode_distribution", x)
    assert model.describe()["encode"] == {"inputs": {"x": {"shape": [None, 8], "dtype": "float32"}},
                                          "outputs": {"codes": {"shape": [None, 2], "dtype": "float32"}}}


def test_saved_model_cli_lists_the_output_names(exports):
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    result = subprocess.run([*cli, "show", "--all", "--dir", str(exports["patch"])], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("codes", "images", "indices", "reconstruction"):
        assert f"outputs['{name}']" in result.stdout, name
    assert "output_0" not in result.stdout


def _old_tf_quantize(codes, bits):  # the implementation before TFLite support (tf.LeftShift)
    import tensorflow as tf

    n = tf.cast(tf.bitwise.left_shift(1, tf.cast(bits, tf.int32)), tf.float32)
    index = tf.floor((tf.cast(codes, tf.float32) + 1.0) / 2.0 * n)
    return tf.cast(tf.clip_by_value(index, 0.0, n - 1.0), tf.int32)


def _old_tf_dequantize(indices, bits):
    import tensorflow as tf

    n = tf.bitwise.left_shift(1, tf.cast(bits, tf.int32))
    k = tf.cast(tf.clip_by_value(tf.cast(indices, tf.int32), 0, n - 1), tf.float32)
    return -1.0 + (2.0 * k + 1.0) / tf.cast(n, tf.float32)


@pytest.mark.parametrize("bits", range(1, 17))
def test_quantizer_without_left_shift_is_bit_identical_to_the_old_one(bits):
    import tensorflow as tf

    from keras_ae.compression import tf_dequantize, tf_quantize

    n = 2 ** bits
    edges = (-1.0 + 2.0 * np.arange(n + 1) / n).astype(np.float32)  # every bin boundary, and its neighbours
    codes = np.concatenate([edges, np.nextafter(edges, -2), np.nextafter(edges, 2),
                            np.random.default_rng(bits).uniform(-1.5, 1.5, 5000).astype(np.float32),
                            np.float32([-3.0, 3.0, 0.0])])
    for b in (bits, tf.constant(bits)):
        np.testing.assert_array_equal(tf_quantize(codes, b).numpy(), _old_tf_quantize(codes, b).numpy())
    indices = np.concatenate([np.arange(-5, n + 5), [2**31 - 1, -2**31, 2**24 + 1]]).astype(np.int32)
    new, old = tf_dequantize(indices, bits).numpy(), _old_tf_dequantize(indices, bits).numpy()
    assert new.dtype == old.dtype and new.tobytes() == old.tobytes()
