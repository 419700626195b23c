"""Single grayscale images: a BSDS500 photograph (by file name or index) or any image file.

Question G compresses one 256x256 8-bit grayscale image. :func:`load_gray_image` gives it as a
uint8 ``(size, size)`` array: the photo is read (JPEG, PNG, GIF, BMP or WebP), converted to gray with
the ITU-R 601 weights of ``tf.image.rgb_to_grayscale`` and cropped to ``size x size`` around its
centre (or at ``origin``). Nothing is resized, so the pixels are the photo's own.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_ae.errors import ConfigError, DataError

def read_image(path: str | os.PathLike, channels: int = 3) -> np.ndarray:
    """An image file as a uint8 ``(H, W, channels)`` array (``channels`` 1 converts to gray).

    The one place the data layer decodes image files (MNIST-M's photographs use it too).
    """
    import tensorflow as tf

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image file not found: {path}")
    try:
        image = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except (tf.errors.OpError, ValueError) as exc:
        message = getattr(exc, "message", str(exc)).split("}}")[-1].split("[Op:")[0].strip()
        raise DataError(f"{path}: not a readable image ({message})") from None
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    elif channels != 3:
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return image.numpy()


def bsds500_photo_names(data_dir: str | os.PathLike | None = None) -> list[str]:
    """File names of the BSDS500 training photographs, sorted (the order indices refer to)."""
    from keras_ae.data.mnist_m import bsds500_dir

    return sorted(p.name for p in bsds500_dir(data_dir).glob("*.jpg"))


def resolve_image(source: str | int | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """The path of an image named by file, BSDS500 name or index.

    Where ``source`` lives: an existing image file, a BSDS500 file name (``"122048.jpg"`` or
    ``"122048"``) or an index into the sorted BSDS500 photographs (an int, or a string of at most
    three digits: the photos' own names are longer)."""
    from keras_ae.data.mnist_m import bsds500_dir

    text = str(source) if isinstance(source, int) else os.fspath(source)
    if not isinstance(source, int) and Path(text).expanduser().is_file():
        return Path(text).expanduser()
    if isinstance(source, os.PathLike) or "/" in text or os.sep in text:
        raise DataError(f"image file not found: {text}")
    folder = bsds500_dir(data_dir)
    names = sorted(p.name for p in folder.glob("*.jpg"))
    if isinstance(source, int) or (text.isdigit() and len(text) <= 3):
        index = int(text)
        if not 0 <= index < len(names):
            raise DataError(f"BSDS500 photo index {index} out of range: {folder} holds {len(names)} photos "
                            f"(indices 0..{len(names) - 1})")
        return folder / names[index]
    name = text if text.lower().endswith(".jpg") else text + ".jpg"
    if name not in names:
        raise DataError(f"no image {text!r}: not an existing file, and not one of the {len(names)} BSDS500 "
                        f"photos in {folder} (give a file path, a name such as {names[0]!r}, or an index "
                        f"0..{len(names) - 1})")
    return folder / name


def load_gray_image(source: str | int | os.PathLike, size: int = 256, data_dir: str | os.PathLike | None = None,
                    origin: tuple[int, int] | None = None) -> np.ndarray:
    """A uint8 ``(size, size)`` grayscale crop of an image (see :func:`resolve_image` for ``source``).

    The crop is centred unless ``origin`` (top-left row, column) is given. An image smaller than
    the crop is refused rather than enlarged.
    """
    if size < 1:
        raise ConfigError(f"size must be at least 1, got {size}")
    path = resolve_image(source, data_dir)
    gray = read_image(path, channels=1)[..., 0]
    h, w = gray.shape
    if h < size or w < size:
        raise DataError(f"{path}: image of {h}x{w} pixels is smaller than the {size}x{size} crop")
    top, left = origin if origin is not None else ((h - size) // 2, (w - size) // 2)
    if not (0 <= top <= h - size and 0 <= left <= w - size):
        raise DataError(f"{path}: a {size}x{size} crop at {(top, left)} does not fit in {h}x{w} pixels")
    return np.ascontiguousarray(gray[top : top + size, left : left + size])
