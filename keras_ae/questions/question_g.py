"""Question G: image compression with a 64-16-64 tanh autoencoder (004 slides, "compression -
historical implementation").

An MLP 64-16-64 with tanh units is trained on 8x8 frames taken at random positions from one
256x256 8-bit grayscale image scaled to [-1, 1]. The image is then compressed frame by frame
(non-overlapping 8x8 frames) and reconstructed (A) original, (B) from the float codes, (C) from
codes rounded to 6 bits per unit (16 * 6 / 64 = 1.5 bit per pixel), (D) rounded to 4 bits (1 bit
per pixel); then the same for a new image the network was not trained on. The quantiser is
uniform over [-1, 1] with exactly 2**bits levels (see keras_ae.compression). A JPEG of the same
image at about the same bit rate is the reference. Writes the A-B-C-D panel of both images, a
zoomed comparison with JPEG, the loss curve, a table of bits per pixel and PSNR (with its standard
error over the frames), a table of paired PSNR differences on the same frames (float code against
each rounded code and against PCA), and a SavedModel with encode / decode / compress_image /
decompress_image / quantize / dequantize.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

import numpy as np

from keras_ae.compression import MAX_BITS
from keras_ae.questions.common import (QuestionParser, Timer, activation_name, add_common_arguments,
                                      distribution_strategy, int_at_least, positive_int,
                                      seed_everything, verbosity)
from keras_ae.questions.spec import Answer, Ask, Question, RunResult, number, pick, row_where

DEFAULT_TRAIN_IMAGE = "122048"  # BSDS500 train: a man in a keffiyeh (portrait)
DEFAULT_TEST_IMAGE = "108041"  # BSDS500 train: a tiger in water (the "new image")


QUICK_ARGS = ["--epochs", "2", "--patches", "5000"]
CAPTIONS = {
    "compression_panel.png": "(A) original, (B) 64-16-64 autoencoder with float codes, (C) codes rounded to 6 bits "
                             "(1.5 bit per pixel), (D) 4 bits (1 bit per pixel); the training image and a new image.",
    "compression_zoom_vs_jpeg.png": "The central 64x64 pixels of every version beside JPEGs of about the same bit rate.",
    "loss.png": "MSE per epoch on the random training frames and on the new image's frames.",
}
REFERENCE_NOTE = "The slides show the four panels only; the table above gives bits per pixel and PSNR, with JPEG as reference."


def build_parser() -> argparse.ArgumentParser:
    parser = QuestionParser(prog="keras-ae run G", description=__doc__)
    parser.add_argument("--train-image", default=DEFAULT_TRAIN_IMAGE,
                        help="image the network is trained on: a BSDS500 photo name (e.g. 122048), an index "
                             "0..199 into the sorted photos, or a path to any image file (default: %(default)s)")
    parser.add_argument("--test-image", default=DEFAULT_TEST_IMAGE,
                        help="the new image, never seen in training (same forms; default: %(default)s)")
    parser.add_argument("--image-size", type=positive_int, default=256,
                        help="side of the centre crop (default: %(default)s)")
    parser.add_argument("--patch-size", type=positive_int, default=8, help="frame side (default: %(default)s)")
    parser.add_argument("--code-units", type=positive_int, default=16,
                        help="units of the code layer (default: %(default)s)")
    parser.add_argument("--bits", type=int_at_least(1, MAX_BITS), nargs="+", default=[6, 4],
                        help=f"bits per code unit of the quantised panels, 1..{MAX_BITS} "
                             "(default: 6 4 -> panels C and D)")
    parser.add_argument("--patches", type=positive_int, default=50_000,
                        help="random training frames drawn from the training image (default: %(default)s)")
    parser.add_argument("--activation", type=activation_name, default="tanh",
                        help="activation of every layer (default: %(default)s)")
    parser.add_argument("--output-activation", type=activation_name, default="tanh",
                        help="activation of the output layer (default: %(default)s, as on the slides; 'linear' is "
                             "the improvement: a tanh output cannot reach the pixels at exactly -1 and 1)")
    return add_common_arguments(parser, "question_g", epochs=50, batch_size=64, learning_rate=1e-3)


def _panel_label(index: int) -> str:
    return chr(ord("A") + index)


def check_options(args: argparse.Namespace) -> None:
    """Refuse a frame size that does not divide the image, or a code larger than PCA can give."""
    from keras_ae.errors import ConfigError

    size, p = args.image_size, args.patch_size
    if size % p:
        raise ConfigError(f"--image-size {size} is not a multiple of --patch-size {p}")
    if args.code_units > min(args.patches, p * p):
        raise ConfigError(f"--code-units {args.code_units}: the PCA reference has at most min(--patches, "
                          f"--patch-size^2) = {min(args.patches, p * p)} components")


def load_images(args: argparse.Namespace) -> dict:
    """The two 8-bit crops (``images``: ``train`` and ``new``) and their names in the table."""
    from keras_ae.data import load_gray_image

    size, p = args.image_size, args.patch_size
    images = {"train": load_gray_image(args.train_image, size, args.data_dir),
              "new": load_gray_image(args.test_image, size, args.data_dir)}
    names = {"train": f"training image ({args.train_image})", "new": f"new image ({args.test_image})"}
    print(f"[question G] images: {names['train']} and {names['new']}, {size}x{size} gray, "
          f"{(size // p) ** 2} frames of {p}x{p} each", flush=True)
    return {"images": images, "names": names}


@dataclass
class Trained:
    """The trained network (``model``, its ``history`` and training ``seconds``), its description
    (``arch``, ``model_name``) and the PCA of the same random training frames (``pca``)."""

    model: object
    history: object
    seconds: float
    arch: str
    model_name: str
    pca: object


def train(args: argparse.Namespace, data: dict) -> Trained:
    """Draw the random training frames, fit the 64-16-64 network (the new image's frames as the
    validation data) and the PCA of the same size on them."""
    from keras_ae.baselines import fit_pca
    import keras

    from keras_ae.callbacks import standard_callbacks
    from keras_ae.data import image_to_patches, make_dataset, random_patches, to_signed
    from keras_ae.models import build_patch_autoencoder

    size, p, images = args.image_size, args.patch_size, data["images"]
    seed_everything(args.seed)
    x_train = random_patches(to_signed(images["train"]), args.patches, size=p, seed=args.seed)
    frames_new = image_to_patches(to_signed(images["new"]), p)
    faithful = args.output_activation == args.activation
    arch = f"MLP {p * p}-{args.code_units}-{p * p} ({args.activation}" + (
        ")" if faithful else f", {args.output_activation} output)")
    model_name = "question_g_patch_autoencoder" + ("" if faithful else f"_{args.output_activation}_output")
    with distribution_strategy(args.strategy).scope():
        model = build_patch_autoencoder(p, args.code_units, (size, size), activation=args.activation,
                                        output_activation=args.output_activation, name=model_name)
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse")
    print(f"[question G] training {arch} on {args.patches} "
          f"random {p}x{p} frames for {args.epochs} epochs", flush=True)
    with Timer() as timer:
        history = model.fit(make_dataset(x_train, batch_size=args.batch_size, seed=args.seed), epochs=args.epochs,
                            validation_data=(frames_new, frames_new), shuffle=False,
                            callbacks=standard_callbacks(os.path.join(args.output_dir, "training")),
                            verbose=verbosity(args))
    print(f"[question G] trained in {timer.seconds:.1f} s; final training MSE {history.history['loss'][-1]:.5f}",
          flush=True)
    pca = fit_pca(x_train, args.code_units, seed=args.seed)  # the best linear code of the same size
    return Trained(model, history, timer.seconds, arch, model_name, pca)


def autoencoder_versions(original: np.ndarray, encode, decode, bits, code_units: int, p: int) -> list[tuple]:
    """Panels (A) original, (B) float code, then one per entry of ``bits`` of an 8-bit image, each
    ``(method, uint8 image, bits per pixel, entropy_bpp or None)``; ``encode`` / ``decode`` map
    flattened frames to codes and back."""
    from keras_ae import compression as C
    from keras_ae.data import to_signed

    shape = original.shape
    codes = C.compress_image(encode, to_signed(original), size=p)
    versions = [("original", original, 8.0, None),
                ("float32 code", C.to_uint8(C.decompress_image(decode, codes, shape, size=p)),
                 C.bits_per_pixel(code_units, 32, p * p), None)]
    for b in bits:
        idx = C.quantize(codes, b)
        recon = C.to_uint8(C.decompress_image(decode, idx, shape, bits=b, size=p))
        versions.append((f"{b}-bit code", recon, C.bits_per_pixel(code_units, b, p * p),
                         C.index_entropy_bpp(idx, p * p)))
    return versions


def pca_version(original: np.ndarray, pca_encode, pca_decode, p: int) -> np.ndarray:
    """The 8-bit image coded frame by frame with the PCA's float coefficients."""
    from keras_ae import compression as C
    from keras_ae.data import to_signed

    codes = C.compress_image(pca_encode, to_signed(original), size=p)
    return C.to_uint8(C.decompress_image(pca_decode, codes, original.shape, size=p))


def image_rows(name: str, original: np.ndarray, versions: list[tuple], pca: np.ndarray, jpegs: list[dict],
               code_units: int, p: int) -> list[dict]:
    """The table rows of one image: its autoencoder panels, the PCA row and one JPEG row per bit rate."""
    from keras_ae import compression as C

    def se(img) -> float | str:
        value = C.psnr_std_error(C.block_mse(original, img, p))
        return round(value, 4) if np.isfinite(value) else ""

    rows = []
    for i, (method, img, bpp, entropy) in enumerate(versions):
        value = C.psnr(original, img)
        rows.append({"image": name, "panel": _panel_label(i), "method": f"autoencoder, {method}"
                     if i else "original (8-bit)", "bits_per_pixel": round(bpp, 4),
                     "psnr_db": round(value, 2) if np.isfinite(value) else "inf",
                     "entropy_bpp": round(entropy, 3) if entropy is not None else "",
                     "jpeg_quality": "", "psnr_std_error_db": se(img)})
    rows.append({"image": name, "panel": "ref", "method": f"PCA, {code_units} float32 components",
                 "bits_per_pixel": round(C.bits_per_pixel(code_units, 32, p * p), 4),
                 "psnr_db": round(C.psnr(original, pca), 2), "entropy_bpp": "", "jpeg_quality": "",
                 "psnr_std_error_db": se(pca)})
    for target, jpeg in jpegs:
        rows.append({"image": name, "panel": "ref", "method": f"JPEG at <= {target:g} bpp",
                     "bits_per_pixel": round(jpeg["bpp"], 4), "psnr_db": round(jpeg["psnr"], 2),
                     "entropy_bpp": "", "jpeg_quality": jpeg["quality"], "psnr_std_error_db": se(jpeg["image"])})
    return rows


def paired_rows(name: str, original: np.ndarray, versions: list[tuple], pca: np.ndarray, code_units: int,
                p: int) -> list[dict]:
    """Paired PSNR differences on the same frames of one image: the float code against each rounded
    code (what rounding costs), then the float code against PCA's code of the same size."""
    from keras_ae import compression as C
    from keras_ae.verdicts import Difference

    errors = {f"autoencoder, {method}": C.block_mse(original, img, p) for method, img, _, _ in versions[1:]}
    float_code = f"autoencoder, {versions[1][0]}"
    pairs = [(float_code, method) for method in list(errors)[1:]]
    errors[f"PCA, {code_units} float32 components"] = C.block_mse(original, pca, p)
    pairs.append((float_code, f"PCA, {code_units} float32 components"))
    rows = []
    for first, second in pairs:
        diff, se = C.paired_psnr_difference(errors[first], errors[second])
        low, high = Difference(diff, se).interval
        rows.append({"image": name, "first": first, "second": second, "psnr_difference_db": round(diff, 4),
                     "std_error_db": round(se, 4), "low_95_db": round(low, 4), "high_95_db": round(high, 4),
                     "frames": len(errors[first])})
    return rows


def panel_labels(original: np.ndarray, versions: list[tuple], jpegs: list[tuple]) -> list[str]:
    """The label under every panel, then under every JPEG: bits per pixel and PSNR."""
    from keras_ae.compression import psnr

    labels = [f"{bpp:g} bpp" + (f", PSNR {psnr(original, img):.2f} dB" if i else "")
              for i, (_, img, bpp, _) in enumerate(versions)]
    return labels + [f"{jpeg['bpp']:.3g} bpp, PSNR {jpeg['psnr']:.2f} dB" for _, jpeg in jpegs]


@dataclass
class Evaluation:
    """``rows`` of the table, ``paired`` the rows of paired differences; per image (``train``, ``new``)
    the autoencoder ``panels`` (uint8), the ``zooms`` (panels then JPEGs) and their ``labels``."""

    rows: list
    paired: list
    panels: dict
    zooms: dict
    labels: dict


def evaluate(args: argparse.Namespace, data: dict, trained: Trained) -> Evaluation:
    """Compress both images frame by frame (float, then each ``--bits``), with PCA and JPEG beside."""
    from keras_ae import compression as C

    p = args.patch_size
    encode = lambda x: trained.model.encoder.predict(x, batch_size=4096, verbose=0)  # noqa: E731
    decode = lambda z: trained.model.decoder.predict(z, batch_size=4096, verbose=0)  # noqa: E731
    ev = Evaluation([], [], {}, {}, {})
    for key in ("train", "new"):
        original, name = data["images"][key], data["names"][key]
        versions = autoencoder_versions(original, encode, decode, args.bits, args.code_units, p)
        pca = pca_version(original, trained.pca.transform, trained.pca.inverse_transform, p)
        targets = [C.bits_per_pixel(args.code_units, b, p * p) for b in args.bits]
        jpegs = [(t, C.jpeg_at_bpp(original, t)) for t in targets]
        rows = image_rows(name, original, versions, pca, jpegs, args.code_units, p)
        ev.rows += rows
        ev.paired += paired_rows(name, original, versions, pca, args.code_units, p)
        ev.panels[key] = [img for _, img, _, _ in versions]
        ev.zooms[key] = ev.panels[key] + [jpeg["image"] for _, jpeg in jpegs]
        ev.labels[key] = panel_labels(original, versions, jpegs)
        summary = ", ".join(f"{r['method'] if r['panel'] == 'ref' else r['panel']} {r['psnr_db']} dB"
                            for r in rows if r["panel"] != "A")
        print(f"[question G] {name}: {summary}", flush=True)
    return ev


def write_figures(args: argparse.Namespace, data: dict, trained: Trained, ev: Evaluation) -> list[str]:
    """The A-B-C-D panel of both images, the zoom beside JPEG, and the loss curves."""
    from keras_ae.compression import bits_per_pixel
    from keras_ae.plots import plot_curves, plot_image_grid

    out, size, p, arch = args.output_dir, args.image_size, args.patch_size, trained.arch
    titles = ["(A) original", "(B) compressed, float32 code"] + [
        f"({_panel_label(2 + j)}) code rounded to {b} bits" for j, b in enumerate(args.bits)]
    sample_titles = [data["names"]["train"], data["names"]["new"]]
    to01 = lambda img: np.asarray(img, np.float32) / 255.0  # noqa: E731
    panel_fig = plot_image_grid(
        [(t, [to01(ev.panels["train"][j]), to01(ev.panels["new"][j])]) for j, t in enumerate(titles)],
        os.path.join(out, "compression_panel.png"),
        f"Question G: {arch}, {size}x{size} images "
        f"compressed frame by frame ({p}x{p}, no overlap)", image_shape=None, orientation="columns",
        sample_titles=sample_titles, cell=3.0,
        cell_labels=[[ev.labels["train"][j], ev.labels["new"][j]] for j in range(len(titles))])

    zoom = slice(size // 2 - size // 8, size // 2 + size // 8)  # the central 64x64 of a 256x256 image
    zoom_titles = titles + [f"JPEG, about {bits_per_pixel(args.code_units, b, p * p):g} bpp" for b in args.bits]
    zoom_fig = plot_image_grid(
        [(t, [to01(ev.zooms["train"][j][zoom, zoom]), to01(ev.zooms["new"][j][zoom, zoom])])
         for j, t in enumerate(zoom_titles)],
        os.path.join(out, "compression_zoom_vs_jpeg.png"),
        f"Question G, {arch}: central {zoom.stop - zoom.start}x{zoom.stop - zoom.start} pixels, autoencoder vs "
        "JPEG at about the same bits per pixel\n(labels: bits per pixel and PSNR of the whole image)", image_shape=None,
        orientation="columns", sample_titles=sample_titles,
        cell=2.2, cell_labels=[[ev.labels["train"][j], ev.labels["new"][j]] for j in range(len(zoom_titles))])

    history = trained.history.history
    epochs = list(range(1, args.epochs + 1))
    curve_fig = plot_curves({"random training frames (training image)": (epochs, history["loss"]),
                             "frames of the new image (not trained on)": (epochs, history["val_loss"])},
                            os.path.join(out, "loss.png"), "Question G: reconstruction MSE per epoch ([-1, 1] scale)",
                            ylabel="MSE per pixel", logy=True)
    return [panel_fig, zoom_fig, curve_fig]


def write_tables(args: argparse.Namespace, ev: Evaluation) -> list[str]:
    """The bits-per-pixel and PSNR table, then the paired differences, with their captions."""
    from keras_ae.compression import bits_per_pixel
    from keras_ae.reporting import write_table

    size, p = args.image_size, args.patch_size
    code_bpp_float = bits_per_pixel(args.code_units, 32, p * p)
    psnr_table = write_table(ev.rows, os.path.join(args.output_dir, "bits_per_pixel_psnr"), caption=(
        f"Question G: bits per pixel and PSNR (dB, 8-bit scale, 10 log10(255^2 / MSE)) of the "
        f"{size}x{size} images. Autoencoder rates are fixed-length: code_units * bits / {p * p} "
        f"({args.code_units} x 32 / {p * p} = {code_bpp_float:g} for float32 codes); entropy_bpp is the "
        "rate an ideal per-unit entropy coder of the quantiser indices would reach. PCA: the best linear "
        f"code of the same size, fitted on the same random training frames. JPEG (Pillow, "
        "optimised Huffman tables): the highest quality whose whole file, headers included, needs at "
        "most the autoencoder's rate (file bytes * 8 / pixels). psnr_std_error_db: the standard error of "
        f"the PSNR over the image's {(size // p) ** 2} non-overlapping {p}x{p} frames, by the delta method "
        "from the per-frame squared errors (10 / ln 10 * se of their mean / their mean); it treats the "
        "frames as a sample, so it is the uncertainty of this image's PSNR, not of another photograph's."))
    paired = write_table(ev.paired, os.path.join(args.output_dir, "paired_psnr_differences"), caption=(
        "Question G: paired PSNR differences (dB), first minus second, on the same frames of the same image "
        "(the float code against each rounded code, and against PCA's code of the same size). The "
        "difference is 10 log10(MSE_second / MSE_first); its standard error, by the delta method over the "
        f"{(size // p) ** 2} frames, is 10 / ln 10 * sd(m_second,i / MSE_second - m_first,i / MSE_first) / "
        "sqrt(frames) with m_i the per-frame MSE (a frame hard for both cancels out); low/high: the 95 % "
        "normal interval."))
    return [*psnr_table, *paired]


def export(args: argparse.Namespace, trained: Trained) -> str | None:
    """The SavedModel with its whole-image endpoints (none with ``--no-export``)."""
    from keras_ae.export import export_model

    if args.no_export:
        return None
    p, size = args.patch_size, args.image_size
    return str(export_model(trained.model, os.path.join(args.saved_models_dir, trained.model_name), metadata={
        "question": "G", "value_range": "signed",
        "input": f"encode/reconstruct: {p}x{p} frames flattened to {p * p} values in [-1, 1]; compress_image: "
                 f"(N, {size}, {size}) images in [-1, 1] (uint8 / 127.5 - 1)",
        "quantizer": "uniform over [-1, 1], 2**bits levels -1 + (2k + 1) / 2**bits, k = 0 .. 2**bits - 1",
        "train_image": str(args.train_image), "test_image": str(args.test_image),
        "activation": args.activation, "output_activation": args.output_activation,
        "code_units": args.code_units, "patch_size": p, "image_size": size, "bits": args.bits,
        "epochs": args.epochs, "patches": args.patches, "seed": args.seed,
    }))


def write_outputs(args: argparse.Namespace, data: dict, trained: Trained, ev: Evaluation) -> RunResult:
    figures = write_figures(args, data, trained, ev)
    table = write_tables(args, ev)
    saved = export(args, trained)
    print(f"[question G] figures {figures[0]}, {figures[1]}; tables {table[0]}, {table[2]}", flush=True)
    return RunResult.of(QUESTION, figures=figures, tables=table,
                        models={"patch_autoencoder": saved} if saved else {},
                        details={"rows": ev.rows, "train_seconds": trained.seconds})


def run(args: argparse.Namespace) -> RunResult:
    """Load the two images -> train the network and the PCA -> compress and measure -> write outputs."""
    check_options(args)
    data = load_images(args)
    os.makedirs(args.output_dir, exist_ok=True)
    trained = train(args, data)
    return write_outputs(args, data, trained, evaluate(args, data, trained))


# --- answers from the tables -----------------------------------------------------------------

def _images(rows) -> list[str]:
    """The images of ``rows`` in table order (the training image first)."""
    return list(dict.fromkeys(r.get("image", "") for r in rows))


def _paired(rows, image: str, first: str, second: str):
    """The :class:`~keras_ae.verdicts.Difference` of the paired row ``first`` - ``second`` on ``image``
    (``second`` a method prefix), or None."""
    from keras_ae.verdicts import Difference

    for r in rows:
        if r.get("image") == image and r.get("first") == first and str(r.get("second", "")).startswith(second):
            d, se = number(r.get("psnr_difference_db")), number(r.get("std_error_db"))
            if d is not None and se is not None:
                return Difference(d, se)
    return None


def _quantisation_cost(tables) -> Answer | None:
    """What rounding the code to b bits costs in PSNR, per image: float code minus rounded code,
    paired over the same frames."""
    import re

    rows, psnr_rows = tables.get("paired_psnr_differences", []), tables.get("bits_per_pixel_psnr", [])
    bits = sorted({int(m.group(1)) for r in rows if (m := re.fullmatch(r"autoencoder, (\d+)-bit code",
                                                                       str(r.get("second", ""))))}, reverse=True)
    parts, evidence = [], []
    for b in bits:
        method = f"autoencoder, {b}-bit code"
        bpp = next((r["bits_per_pixel"] for r in psnr_rows if r.get("method") == method), None)
        phrases = []
        for image in _images(rows):
            d = _paired(rows, image, _FLOAT, method)
            if d is None:
                continue
            where = image.split(" (")[0]
            phrases.append(f"costs {d.difference:.3g} dB on the {where}" if d.verdict == "higher" else
                           f"gains {-d.difference:.3g} dB on the {where}" if d.verdict == "lower" else
                           f"costs nothing measurable on the {where} ({d.difference:+.3g} dB, within the uncertainty)")
            evidence.append(f"{image}, float minus {b}-bit code: {d.text('.3g')}")
        if phrases:
            parts.append(f"rounding to {b} bits" + (f" ({number(bpp):g} bpp)" if number(bpp) is not None else "")
                         + " " + " and ".join(phrases))
    if not parts:
        return None
    text = "; ".join(parts)
    return Answer(text[0].upper() + text[1:] + " (PSNR of the float code minus that of the rounded code).",
                  "Paired over the same 8x8 frames (delta method, 95 % intervals): " + "; ".join(evidence) + ".")


def _generalises(tables) -> Answer | None:
    """The float code's PSNR on the new image against that on the training image (different frames:
    an unpaired difference of the two PSNRs with their standard errors over the frames)."""
    from keras_ae.verdicts import difference

    rows = tables.get("bits_per_pixel_psnr", [])
    train = next((i for i in _images(rows) if i.startswith("training")), None)
    new = next((i for i in _images(rows) if i.startswith("new")), None)
    if train is None or new is None:
        return None
    found = {}
    for key, method in (("ae", _FLOAT), ("pca", "PCA")):
        got = [row_where([r for r in rows if r.get("image") == image], "method", method) for image in (new, train)]
        values = [(number(r.get("psnr_db")), number(r.get("psnr_std_error_db"))) for r in got]
        if all(v is not None for pair in values for v in pair):
            found[key] = difference(values[0][0], values[0][1], values[1][0], values[1][1]), values
    if "ae" not in found:
        return None
    d, ((psnr_new, se_new), (psnr_train, se_train)) = found["ae"]
    verdict = {"lower": "Less well than to its training image: the new image, never seen in training, is "
                        f"reconstructed {-d.difference:.2f} dB worse",
               "higher": f"Yes: the new image, never seen in training, is reconstructed {d.difference:.2f} dB "
                         "better than the training image",
               "tie": "Yes: the new image, never seen in training, is reconstructed as well as the training image "
                      "within the uncertainty"}[d.verdict]
    evidence = (f"float code: {psnr_new:.2f} +- {se_new:.2f} dB on the {new} against {psnr_train:.2f} +- "
                f"{se_train:.2f} dB on the {train} (standard errors over the frames); new minus training "
                f"{d.text('.2f')}")
    if "pca" in found:
        evidence += (f". PCA, fitted on the same training frames, new minus training {found['pca'][0].text('.2f')}: "
                     "the part of the gap that the two photographs' content alone would give a linear code")
    return Answer(verdict + " (float code).", evidence + ".")


def _beats_pca(tables) -> Answer | None:
    """The float code against PCA's 16 float components on each image, paired over the same frames."""
    rows = tables.get("paired_psnr_differences", [])
    found = [(image, d) for image in _images(rows) if (d := _paired(rows, image, _FLOAT, "PCA")) is not None]
    if not found:
        return None
    verdicts = {d.verdict for _, d in found}
    prefix = ("Yes" if verdicts == {"higher"} else "No" if verdicts == {"lower"} else
              "Not shown" if verdicts == {"tie"} else "Not everywhere")
    verbs = {"higher": "beats it by", "lower": "falls short by", "tie": "ties with it, differing by"}
    phrases = [f"{verbs[d.verdict]} {abs(d.difference):.2f} dB on the {image.split(' (')[0]}" for image, d in found]
    return Answer(f"{prefix}: the autoencoder's float code, against PCA with a code of the same size, "
                  + " and ".join(phrases) + ".",
                  "PSNR of the autoencoder's float code minus PCA's, paired over the same 8x8 frames (delta method): "
                  + "; ".join(f"{image}: {d.text('.3g')}" for image, d in found) + ".")


_FLOAT = "autoencoder, float32 code"
_SHEET = "004 slides 'compression - historical implementation'"
ASKS = (
    Ask(f"{_SHEET} (C), (D)", "How much PSNR does rounding the code to 6 bits (1.5 bit per pixel) and to 4 bits "
        "(1 bit per pixel) cost, on the training image and on the new image?", _quantisation_cost),
    Ask(f"{_SHEET}, the new image", "Does the network generalise to an image it never saw?", _generalises),
    Ask(f"{_SHEET} (keras_ae's PCA reference)", "Does the nonlinear 64-16-64 network beat PCA with a code of the "
        "same size (16 numbers per frame)?", _beats_pca),
)


def headline(tables) -> dict:
    """``<image>_<panel>_psnr_db`` and ``<image>_<panel>_bits_per_pixel``: image ``train`` or ``new``,
    panel ``B`` float code, ``C`` 6-bit, ``D`` 4-bit."""
    out = {}
    for row in tables.get("bits_per_pixel_psnr", []):
        image = "train" if str(row.get("image", "")).startswith("training") else "new"
        panel = row.get("panel", "")
        if panel in ("B", "C", "D"):
            out.update(pick(row, {f"{image}_{panel}_psnr_db": "psnr_db", f"{image}_{panel}_bits_per_pixel": "bits_per_pixel"}))
    return out


_PANELS = {"B": "float code", "C": "6-bit code", "D": "4-bit code"}
QUESTION = Question(
    id="G", title="image compression with a 64-16-64 tanh autoencoder, 6- and 4-bit codes vs JPEG",
    sheet="004 slides 'compression - historical implementation'", build_parser=build_parser, run=run,
    quick_args=tuple(QUICK_ARGS), captions=CAPTIONS, summary=__doc__.strip().split("\n\n")[0],
    reference_note=REFERENCE_NOTE, headline=headline, readme_metrics=("new_C_psnr_db", "new_D_psnr_db"), asks=ASKS,
    metric_labels={f"{image}_{panel}_{kind}": f"{where}, {text}: {unit}"
                   for image, where in (("train", "training image"), ("new", "new image"))
                   for panel, text in _PANELS.items()
                   for kind, unit in (("psnr_db", "PSNR (dB)"), ("bits_per_pixel", "bits per pixel"))},
)
main = QUESTION.main


if __name__ == "__main__":
    raise SystemExit(main())
