"""Question G: the quantiser, the bit-rate arithmetic, PSNR, the JPEG reference, the image
loader, frame order in TensorFlow, and a short run with its SavedModel used in a fresh process."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from keras_ae import compression as C
from keras_ae.errors import DataError
from tests.conftest import run_python

# --- quantiser -------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 6, 8])
def test_quantizer_has_exactly_2_pow_bits_levels(bits):
    n = 2 ** bits
    codes = np.concatenate([np.linspace(-1.0, 1.0, 200_001), [-1.5, 1.5, -1.0, 1.0]])
    index = C.quantize(codes, bits)
    assert index.dtype == np.int32
    assert np.array_equal(np.unique(index), np.arange(n))  # every index 0..2^b-1 used, none other
    rounded = C.round_codes(codes, bits)
    levels = C.quantization_levels(bits)
    assert len(levels) == n and np.array_equal(np.unique(rounded), levels)
    # bin centres of 2^b equal bins over [-1, 1]: symmetric, evenly spaced 2 / 2^b apart
    np.testing.assert_allclose(levels, -levels[::-1], atol=1e-7)
    np.testing.assert_allclose(np.diff(levels), 2.0 / n, rtol=1e-5)
    np.testing.assert_allclose(levels[[0, -1]], [-1 + 1 / n, 1 - 1 / n], atol=1e-7)
    inside = np.abs(codes) <= 1.0
    assert np.max(np.abs(codes[inside] - rounded[inside])) <= 1.0 / n + 1e-6
    # a level quantises to itself
    assert np.array_equal(C.quantize(levels, bits), np.arange(n))


def test_quantizer_known_values_and_errors():
    assert C.quantize([-1.0, -0.01, 0.0, 0.49, 0.5, 1.0], 2).tolist() == [0, 1, 2, 2, 3, 3]
    np.testing.assert_allclose(C.dequantize([0, 1, 2, 3], 2), [-0.75, -0.25, 0.25, 0.75])
    for bad in (0, 17, 2.5, True):
        with pytest.raises(ValueError):
            C.quantization_levels(bad)
    with pytest.raises(DataError, match="0..15"):
        C.dequantize([16], 4)
    with pytest.raises(DataError, match="NaN"):
        C.quantize([np.nan], 4)


def test_tensorflow_quantizer_matches_numpy():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.uniform(-1.2, 1.2, 5000), C.quantization_levels(6)]).astype(np.float32)
    for bits in (4, 6):
        np.testing.assert_array_equal(C.tf_quantize(codes, bits).numpy(), C.quantize(codes, bits))
        idx = C.quantize(codes, bits)
        np.testing.assert_allclose(C.tf_dequantize(idx, bits).numpy(), C.dequantize(idx, bits), atol=1e-7)


def test_bits_per_pixel_arithmetic():
    assert C.bits_per_pixel(16, 6, 64) == 1.5  # panel C of the slides
    assert C.bits_per_pixel(16, 4, 64) == 1.0  # panel D
    assert C.bits_per_pixel(16, 32, 64) == 8.0  # float32 codes: no compression at all
    # the same from the actual stream: frames x units x bits over the pixels of the image
    image = np.zeros((256, 256), np.float32)
    idx = C.compress_image(lambda p: np.zeros((len(p), 16), np.float32), image, bits=6)
    assert idx.shape == (1024, 16)
    assert idx.size * 6 / image.size == 1.5
    # an ideal entropy coder never needs more than the fixed-length rate; constant codes need 0
    assert C.index_entropy_bpp(idx) == 0.0
    rng = np.random.default_rng(1)
    uniform = rng.integers(0, 16, size=(20_000, 16))
    assert 0.98 < C.index_entropy_bpp(uniform) <= 1.0


def test_psnr_and_uint8_scale():
    a = np.full((8, 8), 100, np.uint8)
    assert C.psnr(a, a) == math.inf
    assert C.psnr(a, a + 5) == pytest.approx(10 * math.log10(255 ** 2 / 25))
    with pytest.raises(DataError):
        C.psnr(a, a[:4])
    assert C.to_uint8(np.array([-1.0, 0.0, 1.0, 2.0, -3.0])).tolist() == [0, 128, 255, 255, 0]
    from keras_ae.data import to_signed

    pixels = np.arange(256, dtype=np.uint8)
    assert np.array_equal(C.to_uint8(to_signed(pixels)), pixels)  # [-1, 1] scaling round-trips exactly


def test_psnr_uncertainty_over_frames():
    rng = np.random.default_rng(3)
    original = rng.integers(0, 256, (64, 64)).astype(np.uint8)
    noisy = np.clip(original + rng.normal(0, 4, original.shape) * rng.uniform(0.2, 3, (8, 1, 8, 1)).repeat(
        8, 1).repeat(8, 3).reshape(64, 64), 0, 255).astype(np.uint8)  # the noise level differs from frame to frame
    m = C.block_mse(original, noisy, 8)
    assert m.shape == (64,) and m.mean() == pytest.approx(np.mean((original - noisy.astype(float)) ** 2))
    # the delta-method standard error of the PSNR agrees with a bootstrap over the frames
    se = C.psnr_std_error(m)
    boot = [10 * np.log10(255 ** 2 / m[rng.integers(0, 64, 64)].mean()) for _ in range(4000)]
    assert se == pytest.approx(np.std(boot), rel=0.15) and se > 0.05
    assert math.isnan(C.psnr_std_error(C.block_mse(original, original, 8)))  # PSNR inf: no standard error
    # paired: the difference is the PSNR difference; a frame-by-frame constant ratio leaves no uncertainty
    d, se_d = C.paired_psnr_difference(m, 2 * m)
    assert d == pytest.approx(10 * math.log10(2)) and se_d == pytest.approx(0.0, abs=1e-12)
    other = np.clip(original + rng.normal(0, 6, original.shape), 0, 255).astype(np.uint8)
    d, se_d = C.paired_psnr_difference(m, C.block_mse(original, other, 8))
    assert d == pytest.approx(C.psnr(original, noisy) - C.psnr(original, other))
    # errors shared by both (the same hard frames) cancel: paired is tighter than the unpaired combination
    both = m * rng.uniform(0.9, 1.1, 64)
    assert C.paired_psnr_difference(m, both)[1] < 0.5 * math.hypot(C.psnr_std_error(m), C.psnr_std_error(both))
    with pytest.raises(DataError):
        C.paired_psnr_difference(m, m[:10])


def test_jpeg_reference_respects_the_bit_budget():
    from keras_ae.data import load_gray_image

    image = load_gray_image("122048")
    for target in (1.5, 1.0):
        jpeg = C.jpeg_at_bpp(image, target)
        assert jpeg["bpp"] <= target and jpeg["bpp"] == jpeg["bytes"] * 8 / image.size
        assert jpeg["image"].shape == image.shape and jpeg["psnr"] == pytest.approx(C.psnr(image, jpeg["image"]))
        # the next quality up would break the budget
        assert len(C.jpeg_bytes(image, jpeg["quality"] + 1)) * 8 / image.size > target


def test_tensorflow_framing_matches_numpy():
    from keras_ae.data import image_to_patches, patches_to_image

    images = np.random.default_rng(2).uniform(-1, 1, (3, 32, 48)).astype(np.float32)
    patches = C.tf_image_to_patches(images, 8).numpy()
    assert patches.shape == (3, 24, 64)
    for i in range(3):
        np.testing.assert_array_equal(patches[i], image_to_patches(images[i], 8))
        np.testing.assert_array_equal(patches_to_image(patches[i], (32, 48), 8), images[i])
    np.testing.assert_array_equal(C.tf_patches_to_image(patches, (32, 48), 8).numpy(), images)


# --- image loading ---------------------------------------------------------------------------


def test_load_gray_image_by_name_index_and_path(tmp_path, data_dir):
    from PIL import Image

    from keras_ae.data import bsds500_photo_names, load_gray_image

    names = bsds500_photo_names()
    by_name = load_gray_image("122048")
    assert by_name.shape == (256, 256) and by_name.dtype == np.uint8 and by_name.std() > 10
    assert np.array_equal(by_name, load_gray_image("122048.jpg"))
    assert np.array_equal(by_name, load_gray_image(names.index("122048.jpg")))
    assert np.array_equal(by_name, load_gray_image(str(data_dir / "bsds500" / "train" / "122048.jpg")))
    assert not np.array_equal(by_name, load_gray_image("108041"))
    # a user's own image file: exact pixels of the centre crop (PNG is lossless)
    pixels = np.random.default_rng(3).integers(0, 256, (300, 280), dtype=np.uint8)
    Image.fromarray(pixels, mode="L").save(tmp_path / "mine.png")
    assert np.array_equal(load_gray_image(tmp_path / "mine.png"), pixels[22:278, 12:268])
    assert np.array_equal(load_gray_image(str(tmp_path / "mine.png"), size=16, origin=(5, 7)), pixels[5:21, 7:23])


def test_load_gray_image_errors(tmp_path):
    from PIL import Image

    from keras_ae.data import load_gray_image

    with pytest.raises(DataError, match="not found"):
        load_gray_image(tmp_path / "missing.png")
    with pytest.raises(DataError, match="out of range"):
        load_gray_image(999)
    with pytest.raises(DataError, match="not an existing file"):
        load_gray_image("no-such-photo")
    Image.fromarray(np.zeros((100, 300), np.uint8), mode="L").save(tmp_path / "small.png")
    with pytest.raises(DataError, match="smaller than the 256x256 crop"):
        load_gray_image(tmp_path / "small.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(DataError, match="not a readable image"):
        load_gray_image(tmp_path / "text.png")
    with pytest.raises(DataError, match="does not fit"):
        load_gray_image("122048", origin=(200, 0))


# --- short run ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from keras_ae.questions import question_g

    root = tmp_path_factory.mktemp("question_g")
    args = question_g.build_parser().parse_args([
        "--epochs", "3", "--patches", "4000", "--output-dir", str(root / "results"),
        "--saved-models-dir", str(root / "saved_models"), "--verbose", "0"])
    return root, question_g.run(args)


def test_short_run_writes_figures_and_table(short_run):
    root, result = short_run
    for path in result.figures.values():
        assert Path(path).is_file() and Path(path).stat().st_size > 10_000
    with open(next(iter(result.tables.values()))) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 14  # two images x (A, B, C, D, PCA, two JPEG rows)
    for image in ("training image (122048)", "new image (108041)"):
        mine = [r for r in rows if r["image"] == image]
        assert [r["panel"] for r in mine] == ["A", "B", "C", "D", "ref", "ref", "ref"]
        assert mine[4]["method"].startswith("PCA")
        assert [float(r["bits_per_pixel"]) for r in mine[:4]] == [8.0, 8.0, 1.5, 1.0]
        assert mine[0]["psnr_db"] == "inf"
        assert all(10.0 < float(r["psnr_db"]) < 60.0 for r in mine[1:])
        assert float(mine[5]["bits_per_pixel"]) <= 1.5 and float(mine[6]["bits_per_pixel"]) <= 1.0
        assert 0.0 < float(mine[2]["entropy_bpp"]) <= 1.5 and 0.0 < float(mine[3]["entropy_bpp"]) <= 1.0


def test_short_run_writes_the_uncertainty_and_the_paired_differences(short_run):
    from keras_ae.questions.question_g import QUESTION

    root, result = short_run
    assert list(result.tables) == ["bits_per_pixel_psnr", "paired_psnr_differences"]
    rows = {(r["image"], r["method"]): r for r in result.rows("bits_per_pixel_psnr")}
    for (image, method), row in rows.items():
        assert (row["psnr_std_error_db"] == "") == method.startswith("original")
        assert method.startswith("original") or 0.0 < float(row["psnr_std_error_db"]) < 2.0
    paired = result.rows("paired_psnr_differences")
    assert [(r["second"], r["frames"]) for r in paired[:3]] == [("autoencoder, 6-bit code", "1024"),
                                                               ("autoencoder, 4-bit code", "1024"),
                                                               ("PCA, 16 float32 components", "1024")]
    for r in paired:  # first minus second: the table's own PSNRs, up to their rounding
        psnr = [float(rows[(r["image"], r[k])]["psnr_db"]) for k in ("first", "second")]
        assert float(r["psnr_difference_db"]) == pytest.approx(psnr[0] - psnr[1], abs=0.011)
        assert float(r["low_95_db"]) < float(r["psnr_difference_db"]) < float(r["high_95_db"])
    tables = {name: result.rows(name) for name in result.tables}
    assert [a["asks"][:8] for a in QUESTION.answers(tables)] == ["How much", "Does the", "Does the"]


def test_saved_model_compresses_a_whole_image_in_a_fresh_process(short_run, tmp_path):
    from keras_ae.data import load_gray_image

    root, result = short_run
    export = result.models["patch_autoencoder"]
    np.save(tmp_path / "image.npy", load_gray_image("122048"))
    rows = {(r["image"], r["panel"]): r for r in result.details["rows"]}
    code = f"""
import json, math, numpy as np, tensorflow as tf
m = tf.saved_model.load({export!r})
img = np.load({str(tmp_path / 'image.npy')!r})
x = (img.astype(np.float32) / 127.5 - 1.0)[None]
codes = m.compress_image(x)["codes"].numpy()
frames = x[0].reshape(32, 8, 32, 8).swapaxes(1, 2).reshape(1024, 64)   # row-major 8x8 frames
direct = m.encode(frames)["codes"].numpy()
out = {{"shape": codes.shape, "max_diff": float(np.abs(codes[0] - direct).max())}}
for bits in (6, 4):
    idx = m.quantize(codes, bits)["indices"].numpy()
    out[f"levels{{bits}}"] = int(len(np.unique(idx))) if idx.max() < 2 ** bits else -1
    out[f"range{{bits}}"] = [int(idx.min()), int(idx.max())]
    rec = m.decompress_image(m.dequantize(idx, bits)["codes"])["images"].numpy()[0]
    rec8 = np.clip(np.rint((rec.astype(np.float64) + 1) * 127.5), 0, 255)
    out[f"psnr{{bits}}"] = 10 * math.log10(255 ** 2 / np.mean((rec8 - img) ** 2))
print(json.dumps(out))
"""
    out = json.loads(run_python(code).strip().splitlines()[-1])
    assert out["shape"] == [1, 1024, 16]
    assert out["max_diff"] < 1e-5  # compress_image = encode on the image's frames, in order
    for bits, panel in ((6, "C"), (4, "D")):
        assert 0 <= out[f"range{bits}"][0] and out[f"range{bits}"][1] < 2 ** bits
        # the whole-image SavedModel path reproduces the reported PSNR of the numpy path
        assert out[f"psnr{bits}"] == pytest.approx(float(rows[("training image (122048)", panel)]["psnr_db"]),
                                                   abs=0.02)


def test_keras_file_round_trips_with_its_image_geometry(short_run):
    from keras_ae.export import InferenceModel, load_keras_model
    from keras_ae.models import PatchAutoencoder

    root, result = short_run
    export = result.models["patch_autoencoder"]
    model = load_keras_model(export)
    assert isinstance(model, PatchAutoencoder) and model.image_shape == (256, 256) and model.patch_size == 8
    assert [layer.units for layer in (*model.encoder.layers[1:], *model.decoder.layers[1:])] == [16, 64]
    assert all(layer.activation.__name__ == "tanh" for layer in (*model.encoder.layers[1:], *model.decoder.layers[1:]))
    info = InferenceModel(export)
    assert {"encode", "decode", "compress_image", "decompress_image", "quantize", "dequantize"} <= set(info.endpoints)
    assert info.metadata["value_range"] == "signed"
    codes = info("compress_image", np.zeros((2, 256, 256), np.float32))
    assert codes.shape == (2, 1024, 16)


def test_bad_arguments_are_refused():
    from keras_ae.questions import question_g

    with pytest.raises(SystemExit):  # refused by the parser (1..16 bits)
        question_g.build_parser().parse_args(["--bits", "0", "--no-export"])
    with pytest.raises(ValueError, match="multiple"):
        question_g.run(question_g.build_parser().parse_args(["--image-size", "250", "--no-export"]))


def test_linear_output_option_changes_only_the_output_layer():
    from keras_ae.models import build_patch_autoencoder

    model = build_patch_autoencoder(output_activation="linear")
    acts = [layer.activation.__name__ for layer in (*model.encoder.layers[1:], *model.decoder.layers[1:])]
    assert acts == ["tanh", "linear"]
    with pytest.raises(ValueError, match="frames"):
        build_patch_autoencoder(image_shape=(20, 16))


# --- answers on synthetic tables (no training) -------------------------------------------------

TRAIN, NEW = "training image (122048)", "new image (108041)"
FLOAT = "autoencoder, float32 code"


def _tables(psnr=None, paired=None):
    """Tables as a run's CSVs read back: ``psnr`` {(image, method): (psnr_db, se)}, ``paired``
    {(image, second): (difference, se)} with the float code first."""
    tables = {}
    if psnr is not None:
        tables["bits_per_pixel_psnr"] = [
            {"image": image, "panel": "B" if method == FLOAT else "ref", "method": method, "bits_per_pixel": "8",
             "psnr_db": str(value), "psnr_std_error_db": str(se)} for (image, method), (value, se) in psnr.items()]
        tables["bits_per_pixel_psnr"] += [{"image": TRAIN, "panel": p, "method": f"autoencoder, {b}-bit code",
                                           "bits_per_pixel": bpp, "psnr_db": "30", "psnr_std_error_db": "0.1"}
                                          for p, b, bpp in (("C", 6, "1.5"), ("D", 4, "1.0"))]
    if paired is not None:
        tables["paired_psnr_differences"] = [
            {"image": image, "first": FLOAT, "second": second, "psnr_difference_db": str(d), "std_error_db": str(se)}
            for (image, second), (d, se) in paired.items()]
    return tables


def _answer(ask: int, tables):
    from keras_ae.questions.question_g import ASKS

    return ASKS[ask].answer(tables)


@pytest.mark.parametrize("d6, d4, expected", [
    (0.5, 1.5, ["costs 0.5 dB on the training image", "costs 1.5 dB on the new image"]),
    (-0.5, 1.5, ["gains 0.5 dB on the training image"]),
    (0.01, 1.5, ["costs nothing measurable on the training image (+0.01 dB"]),
])
def test_quantisation_cost_answer_follows_the_paired_differences(d6, d4, expected):
    six, four = "autoencoder, 6-bit code", "autoencoder, 4-bit code"
    tables = _tables(psnr={}, paired={(TRAIN, six): (d6, 0.05), (NEW, six): (d6, 0.05),
                                      (TRAIN, four): (d4, 0.05), (NEW, four): (d4, 0.05)})
    answer = _answer(0, tables)
    assert answer.answer.startswith("Rounding to 6 bits (1.5 bpp) ") and "rounding to 4 bits (1 bpp)" in answer.answer
    for text in expected:
        assert text in answer.answer
    assert "95 % interval" in answer.evidence
    assert _answer(0, {}) is None and _answer(0, _tables(paired={(TRAIN, "PCA, 16"): (1.0, 0.1)})) is None


@pytest.mark.parametrize("new, start", [
    (28.0, "Less well than to its training image"),
    (29.9, "Yes: the new image, never seen in training, is reconstructed as well"),
    (32.0, "Yes: the new image, never seen in training, is reconstructed 2.00 dB better"),
])
def test_generalisation_answer_follows_the_two_images(new, start):
    pca = "PCA, 16 float32 components"
    answer = _answer(1, _tables(psnr={(TRAIN, FLOAT): (30.0, 0.2), (NEW, FLOAT): (new, 0.2),
                                      (TRAIN, pca): (31.0, 0.2), (NEW, pca): (29.0, 0.2)}))
    assert answer.answer.startswith(start)
    assert "PCA, fitted on the same training frames, new minus training difference -2" in answer.evidence
    # a run from before the standard-error column: no answer
    old = _tables(psnr={(TRAIN, FLOAT): (30.0, 0.2), (NEW, FLOAT): (new, 0.2)})
    for row in old["bits_per_pixel_psnr"]:
        del row["psnr_std_error_db"]
    assert _answer(1, old) is None


@pytest.mark.parametrize("d_train, d_new, start", [(2.0, 1.0, "Yes: "), (-2.0, -1.0, "No: "),
                                                   (0.1, -0.1, "Not shown: "), (2.0, -1.0, "Not everywhere: ")])
def test_pca_answer_follows_the_paired_differences(d_train, d_new, start):
    pca = "PCA, 16 float32 components"
    answer = _answer(2, _tables(paired={(TRAIN, pca): (d_train, 0.2), (NEW, pca): (d_new, 0.2)}))
    assert answer.answer.startswith(start)
    verbs = {2.0: "beats it by 2.00", -2.0: "falls short by 2.00", 1.0: "beats it by 1.00", -1.0: "falls short by 1.00",
             0.1: "ties with it, differing by 0.10", -0.1: "ties with it, differing by 0.10"}
    assert f"{verbs[d_train]} dB on the training image and {verbs[d_new]} dB on the new image" in answer.answer
    assert _answer(2, _tables(paired={})) is None
