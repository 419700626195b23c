"""Image compression with a patch autoencoder (question G): quantiser, bit rates, PSNR, JPEG.

The image is cut into non-overlapping ``size x size`` frames (row-major, as
:func:`keras_ae.data.image_to_patches` does); each frame is encoded to ``code_units`` tanh
values in [-1, 1]; each value is stored with ``bits`` bits by a **uniform quantiser over
[-1, 1] with exactly 2**bits levels**:

    index  k = clip(floor((c + 1) / 2 * 2**bits), 0, 2**bits - 1)      (an integer 0 .. 2**bits - 1)
    level    = -1 + (2 k + 1) / 2**bits                                (the centre of bin k)

so [-1, 1] is split into 2**bits bins of width 2 / 2**bits and every value is replaced by the
centre of its bin (error at most 1 / 2**bits). 6 bits: levels -63/64, -61/64, ..., 63/64;
4 bits: -15/16, ..., 15/16. The bit rate is ``code_units * bits / (size * size)`` bits per
pixel: 16 * 6 / 64 = 1.5 and 16 * 4 / 64 = 1.0 for the 64-16-64 network.

Every function has a numpy form (used for reports and tests) and the quantiser and framing
also have TensorFlow forms (``tf_*``) used inside the SavedModel's ``compress_image`` /
``decompress_image`` endpoints; tests check that both agree.
"""

from __future__ import annotations

import io
import math

import numpy as np

from keras_ae.data.transforms import image_to_patches, patches_to_image
from keras_ae.errors import ConfigError, DataError

MAX_BITS = 16


def check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= MAX_BITS:
        raise ConfigError(f"bits per code unit must be an integer in 1..{MAX_BITS}, got {bits!r}")
    return int(bits)


def quantization_levels(bits: int) -> np.ndarray:
    """The 2**bits reconstruction levels, ascending: -1 + (2k + 1) / 2**bits."""
    n = 2 ** check_bits(bits)
    return (-1.0 + (2.0 * np.arange(n) + 1.0) / n).astype(np.float32)


def quantize(codes, bits: int) -> np.ndarray:
    """Codes in [-1, 1] -> integer indices 0 .. 2**bits - 1 (values outside [-1, 1] are clipped)."""
    n = 2 ** check_bits(bits)
    codes = np.asarray(codes, dtype=np.float64)
    if not np.all(np.isfinite(codes)):
        raise DataError("codes to quantise hold NaN or infinite values")
    index = np.floor((codes + 1.0) / 2.0 * n)
    return np.clip(index, 0, n - 1).astype(np.int32)


def dequantize(indices, bits: int) -> np.ndarray:
    """Integer indices -> reconstruction levels (float32)."""
    n = 2 ** check_bits(bits)
    indices = np.asarray(indices)
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise DataError(f"quantiser indices must lie in 0..{n - 1} for {bits} bits, "
                        f"found {indices.min()}..{indices.max()}")
    return (-1.0 + (2.0 * indices.astype(np.float32) + 1.0) / n).astype(np.float32)


def round_codes(codes, bits: int) -> np.ndarray:
    """``dequantize(quantize(codes))``: each code replaced by its level."""
    return dequantize(quantize(codes, bits), bits)


def _tf_levels(bits):
    """2**bits as float32, with ops TFLite has (no ``tf.bitwise.left_shift``, which it lacks):
    ``pow`` of 2.0 to a whole exponent is exact in float32 for every exponent up to 127."""
    import tensorflow as tf

    return tf.pow(tf.constant(2.0, tf.float32), tf.cast(bits, tf.float32))


def tf_quantize(codes, bits):
    """TensorFlow form of :func:`quantize` (``bits`` may be a tensor)."""
    import tensorflow as tf

    n = _tf_levels(bits)
    index = tf.floor((tf.cast(codes, tf.float32) + 1.0) / 2.0 * n)
    return tf.cast(tf.clip_by_value(index, 0.0, n - 1.0), tf.int32)


def tf_dequantize(indices, bits):
    """TensorFlow form of :func:`dequantize` (indices are clipped into range)."""
    import tensorflow as tf

    n = _tf_levels(bits)
    # clipped as floats: every int32 index past 2**24 (where float32 stops being exact) clips to n - 1 or 0
    k = tf.clip_by_value(tf.cast(indices, tf.float32), 0.0, n - 1.0)
    return -1.0 + (2.0 * k + 1.0) / n


def bits_per_pixel(code_units: int, bits: int, patch_pixels: int = 64) -> float:
    """Bits per pixel of fixed-length codes: ``code_units * bits / patch_pixels``."""
    if code_units < 1 or bits < 1 or patch_pixels < 1:
        raise ConfigError("code_units, bits and patch_pixels must be positive")
    return code_units * bits / patch_pixels


def index_entropy_bpp(indices, patch_pixels: int = 64) -> float:
    """Bits per pixel an ideal entropy coder would need for ``indices`` (N, code_units): the
    sum over code units of the empirical entropy of that unit's indices, divided by the pixels
    of a patch. A lower bound for coding each unit separately; the fixed-length rate is the
    upper one."""
    indices = np.asarray(indices)
    total = 0.0
    for unit in indices.reshape(len(indices), -1).T:
        _, counts = np.unique(unit, return_counts=True)
        p = counts / counts.sum()
        total += float(-(p * np.log2(p)).sum())
    return total / patch_pixels


def to_uint8(x_signed) -> np.ndarray:
    """Model-space values in [-1, 1] -> 8-bit pixels (rounded, clipped)."""
    return np.clip(np.rint((np.asarray(x_signed, np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def psnr(original, reconstruction, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of two 8-bit images: 10 log10(peak^2 / MSE)."""
    a = np.asarray(original, np.float64)
    b = np.asarray(reconstruction, np.float64)
    if a.shape != b.shape:
        raise DataError(f"PSNR needs images of the same shape, found {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def block_mse(original, reconstruction, size: int = 8) -> np.ndarray:
    """The mean squared error of every ``size x size`` frame of two images of the same shape.

    The frames are the non-overlapping ones, row-major, as :func:`compress_image` cuts them; their
    mean is the image's MSE, so they are the items over which the uncertainty of its PSNR is
    measured."""
    a = np.asarray(original, np.float64)
    b = np.asarray(reconstruction, np.float64)
    if a.shape != b.shape:
        raise DataError(f"block MSE needs images of the same shape, found {a.shape} and {b.shape}")
    return np.mean(image_to_patches(a - b, size) ** 2, axis=1)


_DB_PER_NEPER = 10.0 / math.log(10.0)  # d(10 log10 x) / d(ln x)


def psnr_std_error(block_errors) -> float:
    """The standard error (dB) of a PSNR over the image's frames, from their :func:`block_mse`.

    The delta method on the mean of the per-frame MSEs: ``10 / ln 10 * se(mean) / mean`` with
    ``se(mean) = sd / sqrt(n)``. NaN where the MSE is 0 (an infinite PSNR) or there is one frame."""
    m = np.asarray(block_errors, np.float64).ravel()
    mean = float(m.mean()) if m.size else 0.0
    if m.size < 2 or mean == 0.0:
        return math.nan
    return _DB_PER_NEPER * float(m.std(ddof=1)) / math.sqrt(m.size) / mean


def paired_psnr_difference(block_errors_a, block_errors_b) -> tuple[float, float]:
    """``PSNR(a) - PSNR(b)`` (dB) of two reconstructions of one image, with its paired standard error.

    From the :func:`block_mse` of each over the same frames: the difference is
    ``10 log10(mean m_b / mean m_a)``, and by the delta method its standard error is
    ``10 / ln 10 * sd(m_b,i / mean m_b - m_a,i / mean m_a) / sqrt(n)`` (frames that are hard for
    both cancel). NaN where either MSE is 0."""
    a = np.asarray(block_errors_a, np.float64).ravel()
    b = np.asarray(block_errors_b, np.float64).ravel()
    if a.shape != b.shape:
        raise DataError(f"a paired PSNR difference needs the same frames, found {a.size} and {b.size}")
    mean_a, mean_b = (float(a.mean()), float(b.mean())) if a.size else (0.0, 0.0)
    if mean_a == 0.0 or mean_b == 0.0:
        return math.nan, math.nan
    diff = _DB_PER_NEPER * math.log(mean_b / mean_a)
    if a.size < 2:
        return diff, math.nan
    return diff, _DB_PER_NEPER * float(np.std(b / mean_b - a / mean_a, ddof=1)) / math.sqrt(a.size)


# --- whole images ------------------------------------------------------------------------------

def compress_image(encode, image_signed, bits: int | None = None, size: int = 8) -> np.ndarray:
    """An image in [-1, 1] -> codes of its frames, row-major: float (N_frames, units), or with
    ``bits`` the int32 quantiser indices. ``encode`` maps (N, size*size) patches to codes."""
    codes = np.asarray(encode(image_to_patches(np.asarray(image_signed, np.float32), size)), np.float32)
    return codes if bits is None else quantize(codes, bits)


def decompress_image(decode, codes, shape: tuple[int, int], bits: int | None = None, size: int = 8) -> np.ndarray:
    """Inverse of :func:`compress_image`: codes (or indices with ``bits``) -> image in [-1, 1]."""
    codes = np.asarray(codes) if bits is None else dequantize(codes, bits)
    patches = np.asarray(decode(np.asarray(codes, np.float32)), np.float32)
    return patches_to_image(patches, shape, size)


def tf_image_to_patches(images, size: int = 8):
    """(N, H, W) -> (N, H/size * W/size, size*size), the frame order of ``image_to_patches``."""
    import tensorflow as tf

    shape = tf.shape(images)
    h, w = shape[1] // size, shape[2] // size
    x = tf.reshape(images, tf.stack([shape[0], h, size, w, size]))
    x = tf.transpose(x, [0, 1, 3, 2, 4])
    return tf.reshape(x, tf.stack([shape[0], h * w, size * size]))


def tf_patches_to_image(patches, image_shape: tuple[int, int], size: int = 8):
    """Inverse of :func:`tf_image_to_patches` for images of ``image_shape`` (H, W)."""
    import tensorflow as tf

    h, w = image_shape[0] // size, image_shape[1] // size
    n = tf.shape(patches)[0]
    x = tf.reshape(patches, tf.stack([n, h, w, size, size]))
    x = tf.transpose(x, [0, 1, 3, 2, 4])
    return tf.reshape(x, tf.stack([n, image_shape[0], image_shape[1]]))


# --- JPEG reference ----------------------------------------------------------------------------

def jpeg_bytes(image_uint8, quality: int) -> bytes:
    """Baseline JPEG of a grayscale uint8 image (Pillow, optimised Huffman tables)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image_uint8, np.uint8), mode="L").save(buf, format="JPEG", quality=int(quality),
                                                                      optimize=True)
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.uint8)


def jpeg_at_bpp(image_uint8, target_bpp: float, qualities=range(1, 96)) -> dict:
    """The JPEG of the highest quality whose file (headers included) needs at most
    ``target_bpp`` bits per pixel (quality 1 when even that needs more).

    Returns quality, bytes, bpp (file bytes * 8 / pixels), the decoded image and its PSNR.
    """
    image = np.asarray(image_uint8, np.uint8)
    if image.ndim != 2:
        raise DataError(f"the JPEG reference needs a 2-D grayscale image, found shape {image.shape}")
    pixels = image.size
    best = None
    for q in sorted(qualities):
        data = jpeg_bytes(image, q)
        bpp = len(data) * 8 / pixels
        if best is None or bpp <= target_bpp:
            best = (q, data, bpp)
        if bpp > target_bpp:
            break
    q, data, bpp = best
    decoded = decode_jpeg(data)
    return {"quality": q, "bytes": len(data), "bpp": bpp, "image": decoded, "psnr": psnr(image, decoded)}


__all__ = [
    "bits_per_pixel", "block_mse", "check_bits", "compress_image", "decode_jpeg", "decompress_image", "dequantize",
    "index_entropy_bpp", "jpeg_at_bpp", "jpeg_bytes", "paired_psnr_difference", "psnr", "psnr_std_error",
    "quantization_levels", "quantize",
    "round_codes", "tf_dequantize", "tf_image_to_patches", "tf_patches_to_image", "tf_quantize", "to_uint8",
]
