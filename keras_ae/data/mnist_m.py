"""MNIST-M (Ganin & Lempitsky 2015) built from MNIST and the BSDS500 training photographs.

Each MNIST digit becomes a binary mask (pixel > 0 -> 255, copied to three channels) that is
blended with a random 28x28 crop of a random BSDS500 training photograph as ``|crop - mask|``.
The MNIST training set gives 55,000 training and 5,000 validation images (its last 5,000), the
MNIST test set the 10,000 test images. The result is seeded, saved once as ``.npz`` in the cache
folder and reused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_ae.data.sources import cache_dir, load_dataset, resolve_data_dir
from keras_ae.errors import DataError
from keras_ae.io import atomic_path

SPLIT_SIZES = {"train": 55_000, "validation": 5_000, "test": 10_000}
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class MnistM:
    """Images (N, 28, 28, 3) uint8, labels (N,) uint8 and where each background came from."""

    images: np.ndarray
    labels: np.ndarray
    photo_index: np.ndarray  # (N,) index into the sorted list of BSDS500 photos
    crop_origin: np.ndarray  # (N, 2) top-left (row, col) of the crop in that photo


def bsds500_dir(data_dir: str | os.PathLike | None = None) -> Path:
    folder = resolve_data_dir(data_dir)
    if folder is None:
        raise DataError(
            "MNIST-M needs the BSDS500 training photographs, which tensorflow-datasets does not "
            "provide: set $KERAS_AE_DATA_DIR or --data-dir to a folder with bsds500/train/*.jpg"
        )
    photos = folder / "bsds500" / "train"
    if not photos.is_dir() or not any(photos.glob("*.jpg")):
        raise DataError(f"no BSDS500 photographs found: expected JPEG files in {photos}")
    return photos


def load_photos(folder: Path) -> list[np.ndarray]:
    """The BSDS500 photographs as uint8 (H, W, 3) arrays, in sorted file-name order."""
    from keras_ae.data.images import read_image

    photos = []
    for path in sorted(folder.glob("*.jpg")):
        photo = read_image(path, channels=3)
        if photo.shape[0] < 28 or photo.shape[1] < 28:
            raise DataError(f"{path}: photo of shape {photo.shape} is smaller than a 28x28 crop")
        photos.append(photo)
    return photos


def blend(digits: np.ndarray, photos: list[np.ndarray], rng: np.random.Generator):
    """Blend each (28, 28) uint8 digit with a random crop of a random photo as |crop - mask|.

    Returns images (N, 28, 28, 3), the photo index and crop origin of each image.
    """
    n = len(digits)
    photo_index = rng.integers(0, len(photos), size=n)
    origins = np.empty((n, 2), dtype=np.int32)
    crops = np.empty((n, 28, 28, 3), dtype=np.int16)
    for i, p in enumerate(photo_index):
        photo = photos[p]
        y = rng.integers(0, photo.shape[0] - 28 + 1)
        x = rng.integers(0, photo.shape[1] - 28 + 1)
        origins[i] = (y, x)
        crops[i] = photo[y : y + 28, x : x + 28]
    mask = np.where(np.asarray(digits) > 0, 255, 0).astype(np.int16)[..., None]
    images = np.abs(crops - mask).astype(np.uint8)
    return images, photo_index.astype(np.int32), origins


def build_mnist_m(data_dir: str | os.PathLike | None = None, seed: int = 0, limit: int | None = None) -> dict[str, MnistM]:
    """Build all three splits (``limit`` caps each split, for tests) without caching."""
    photos = load_photos(bsds500_dir(data_dir))
    rng = np.random.default_rng(seed)
    train = load_dataset("mnist", "train", data_dir)
    test = load_dataset("mnist", "test", data_dir)
    sources = {
        "train": (train.images[:55_000], train.labels[:55_000]),
        "validation": (train.images[55_000:], train.labels[55_000:]),
        "test": (test.images, test.labels),
    }
    result = {}
    for split, (digits, labels) in sources.items():
        if limit is not None:
            digits, labels = digits[:limit], labels[:limit]
        images, index, origins = blend(digits, photos, rng)
        result[split] = MnistM(images, np.array(labels), index, origins)
    return result


def _cache_path(seed: int) -> Path:
    return cache_dir() / f"mnist_m_v{_FORMAT_VERSION}_seed{seed}.npz"


def load_mnist_m(split: str = "train", data_dir: str | os.PathLike | None = None, seed: int = 0,
                 rebuild: bool = False) -> MnistM:
    """One split of MNIST-M, built on first use and then read from the cache folder."""
    if split not in SPLIT_SIZES:
        raise DataError(f"unknown MNIST-M split {split!r}; choose one of {', '.join(SPLIT_SIZES)}")
    path = _cache_path(seed)
    if rebuild or not path.is_file():
        print(f"Building MNIST-M (seed {seed}) into {path} ...", flush=True)
        built = build_mnist_m(data_dir, seed)
        arrays = {f"{s}_{field}": getattr(d, field) for s, d in built.items()
                  for field in ("images", "labels", "photo_index", "crop_origin")}
        with atomic_path(path) as tmp:  # never leave a half-written cache behind
            np.savez_compressed(tmp, **arrays)
    try:
        with np.load(path, allow_pickle=False) as f:
            data = MnistM(*(f[f"{split}_{field}"] for field in ("images", "labels", "photo_index", "crop_origin")))
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise DataError(f"MNIST-M cache {path} is unreadable ({exc}); delete it to rebuild") from None
    if data.images.shape != (SPLIT_SIZES[split], 28, 28, 3):
        raise DataError(f"MNIST-M cache {path}: {split} images have shape {data.images.shape}, "
                        f"expected {(SPLIT_SIZES[split], 28, 28, 3)}; delete it to rebuild")
    return data
