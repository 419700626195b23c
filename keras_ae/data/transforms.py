"""Scaling, flattening, noise, 8x8 patches and the tf.data input pipeline."""

from __future__ import annotations

import os

import numpy as np

from keras_ae.errors import DataError


def to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [0, 1]."""
    return np.asarray(images, dtype=np.float32) / np.float32(255.0)


def to_signed(images: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1] (the range of a tanh output layer)."""
    return np.asarray(images, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)


def from_signed(x: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> float32 [0, 1], for display."""
    return np.clip((np.asarray(x, dtype=np.float32) + 1.0) / 2.0, 0.0, 1.0)


SCALERS = {"unit": to_unit, "signed": to_signed}
VALUE_RANGES = {"unit": (0.0, 1.0), "signed": (-1.0, 1.0)}
HOW_TO_SCALE = {"unit": "divide 0..255 pixels by 255", "signed": "map 0..255 pixels to [-1, 1] with x / 127.5 - 1"}


def scale(images: np.ndarray, value_range: str) -> np.ndarray:
    """Scale uint8 images to ``"unit"`` ([0, 1]) or ``"signed"`` ([-1, 1])."""
    try:
        return SCALERS[value_range](images)
    except KeyError:
        raise ValueError(f"unknown value range {value_range!r}; choose 'unit' or 'signed'") from None


def pixels_to_range(array, value_range: str = "unit", what: str = "input",
                    float_range: tuple[float, float] | None = None) -> np.ndarray:
    """Pixels -> float32 in ``value_range`` (``"unit"``: [0, 1], ``"signed"``: [-1, 1]).

    Integer arrays of any integer dtype must hold 0..255 and are scaled like uint8; float arrays
    must already lie in the range (``float_range`` widens it, e.g. for noisy inputs) and hold no
    NaN or infinity. Anything else is a :class:`DataError` that starts with ``what`` and says
    what was expected, what was found and how to scale.
    """
    if value_range not in VALUE_RANGES:
        raise ValueError(f"unknown value range {value_range!r}; choose 'unit' or 'signed'")
    array = np.asarray(array)
    if array.dtype.kind in "iu":
        if array.size:
            lo, hi = int(array.min()), int(array.max())
            if lo < 0 or hi > 255:
                raise DataError(f"{what}: integer pixels must lie in 0..255, found {lo}..{hi}")
        return scale(array, value_range)
    if array.dtype.kind != "f":
        raise DataError(f"{what}: expected an integer or float array, found dtype {array.dtype}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise DataError(f"{what}: {int(bad.sum())} NaN or infinite values (first in row {int(np.argwhere(bad)[0][0])})")
    low, high = float_range or VALUE_RANGES[value_range]
    if array.size:
        lo, hi = float(array.min()), float(array.max())
        if lo < low or hi > high:
            hint = f"{HOW_TO_SCALE[value_range]}, or pass them as an integer array (scaled for you)"
            if value_range == "unit" and lo >= -1.0 and hi <= 1.0:
                hint = "map [-1, 1] values to [0, 1] with (x + 1) / 2"
            raise DataError(f"{what}: float pixels must lie in [{low:g}, {high:g}], found {lo:g}..{hi:g} "
                            f"(value range {value_range!r}); {hint}")
    return array.astype(np.float32)


def to_display(x: np.ndarray, value_range: str) -> np.ndarray:
    """Model-space values -> [0, 1] for plotting."""
    return from_signed(x) if value_range == "signed" else np.clip(np.asarray(x, np.float32), 0.0, 1.0)


def flatten(images: np.ndarray) -> np.ndarray:
    """(N, H, W[, C]) -> (N, H*W*C)."""
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def add_gaussian_noise(x, stddev: float, seed=None, clip: tuple[float, float] | None = None):
    """White Gaussian noise of standard deviation ``stddev`` added to ``x``.

    Works on numpy arrays (``seed`` an int or a numpy Generator) and, inside a ``train_step``,
    on tensors (``seed`` a ``keras.random.SeedGenerator``). ``clip`` keeps values in range.
    """
    if isinstance(x, np.ndarray):
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        noisy = x + rng.normal(0.0, stddev, size=x.shape).astype(x.dtype)
        return np.clip(noisy, *clip) if clip else noisy
    from keras import ops, random

    noisy = x + random.normal(ops.shape(x), stddev=stddev, dtype=x.dtype, seed=seed)
    return ops.clip(noisy, *clip) if clip else noisy


def image_to_patches(image: np.ndarray, size: int = 8) -> np.ndarray:
    """Split a (H, W) grayscale image into non-overlapping size x size patches, row-major.

    Returns (H/size * W/size, size * size). H and W must be multiples of ``size``.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise DataError(f"expected a 2-D grayscale image, found shape {image.shape}")
    h, w = image.shape
    if h % size or w % size:
        raise DataError(f"image of shape {image.shape} does not split into {size}x{size} patches")
    return (
        image.reshape(h // size, size, w // size, size).swapaxes(1, 2).reshape(-1, size * size)
    )


def patches_to_image(patches: np.ndarray, shape: tuple[int, int], size: int = 8) -> np.ndarray:
    """Inverse of :func:`image_to_patches`."""
    h, w = shape
    patches = np.asarray(patches)
    expected = (h // size) * (w // size)
    if patches.shape != (expected, size * size):
        raise DataError(f"expected {expected} patches of {size * size} values for {shape}, found {patches.shape}")
    return patches.reshape(h // size, w // size, size, size).swapaxes(1, 2).reshape(h, w)


def random_patches(image: np.ndarray, count: int, size: int = 8, seed=None) -> np.ndarray:
    """``count`` patches taken at uniformly random positions (overlap allowed), flattened."""
    image = np.asarray(image)
    rng = np.random.default_rng(seed)
    h, w = image.shape
    ys = rng.integers(0, h - size + 1, size=count)
    xs = rng.integers(0, w - size + 1, size=count)
    rows = ys[:, None, None] + np.arange(size)[None, :, None]
    cols = xs[:, None, None] + np.arange(size)[None, None, :]
    return image[rows, cols].reshape(count, size * size)


def epoch_permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the rows in one epoch of a seeded :func:`make_dataset` pipeline.

    The order of the ``n`` rows in epoch ``epoch`` (0-based) of a pipeline seeded with ``seed``:
    a function of ``(seed, epoch)`` alone (numpy's ``Generator`` seeded with ``[seed, epoch]``)."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(int(n))


def _epoch_orders(n: int, seed: int, first_epoch: int = 0, probe_pass: bool = False):
    """A one-element dataset that holds, at each pass, that pass's :func:`epoch_permutation`.

    Pass ``p`` of the pipeline (the ``p``-th iterator made of it, or the ``p``-th repetition
    under ``repeat()``) is epoch ``first_epoch + p``: the count lives in this pipeline alone.
    With ``probe_pass`` the first pass does not count (it is Keras' probe under a strategy): it
    and the next one are both epoch ``first_epoch``.
    """
    import tensorflow as tf

    passes = {"next": int(first_epoch), "probe": bool(probe_pass)}

    def next_order():
        epoch = passes["next"]
        if passes["probe"]:
            passes["probe"] = False
        else:
            passes["next"] += 1
        return epoch_permutation(n, seed, epoch).astype(np.int64)

    order = tf.data.Dataset.range(1).map(lambda _: tf.numpy_function(next_order, [], tf.int64, stateful=True))
    return order.map(lambda o: tf.ensure_shape(o, [n]))


def make_dataset(x, y=None, batch_size: int = 128, shuffle: bool = True, seed: int | None = 0,
                 drop_remainder: bool = False, steps_per_batch: int = 1, repeat: bool = False, first_epoch: int = 0,
                 probe_pass: bool = False):
    """An in-memory ``tf.data`` pipeline: shuffle (seeded, a new order each epoch), batch, prefetch.

    With ``y=None`` the elements are ``(x, x)``: inputs that are also the targets. The arrays
    become two in-memory tensors once; what is shuffled is the row indices, and each batch is
    one gather of its rows, so an epoch costs one permutation of N integers instead of copying
    N samples through a shuffle buffer. The order of epoch ``e`` is :func:`epoch_permutation`
    ``(len(x), seed, e)``: it depends only on ``seed``, ``e`` and ``len(x)``, never on the batch
    size (a batch of ``k * b`` rows holds exactly the next ``k`` batches of ``b`` rows) nor on how
    the run got to epoch ``e``. Pass ``p`` of the pipeline (``fit``'s ``p``-th epoch on it) is epoch
    ``first_epoch + p``: a ``fit`` resumed at epoch ``s`` from a backup
    (``start = backup.restore(model, epochs)``, :class:`keras_ae.callbacks.TrainingBackup`) is fed
    ``make_dataset(..., first_epoch=start)`` and ``fit(..., initial_epoch=start)``, and sees the
    batches of an uninterrupted run. Under a ``tf.distribute`` strategy Keras' ``fit`` reads one
    batch of a first pass before its first epoch (to build the model and metrics); give
    ``probe_pass=True`` there (:func:`keras_ae.questions.common.probe_pass`) and that pass does not
    count, so epoch ``e`` sees the order of epoch ``e`` as on one device (without it, the order of
    epoch ``e + 1``; with ``repeat=True`` the probe takes a batch from the one pass instead, and the
    flag does not apply). ``seed=None`` draws a
    seed from Python's ``random`` (seeded by ``keras.utils.set_random_seed``).

    ``steps_per_batch=k`` is the feed of a model with fused steps (``minibatch_size=batch_size``,
    :mod:`keras_ae.models.fused`): each element holds the next ``k`` batches of ``batch_size``
    rows (fewer at the end of an epoch), and with ``drop_remainder`` the rows that plain batches
    would drop are dropped too.

    ``repeat=True``: one pass of the pipeline runs through epoch after epoch (each batched on its
    own, so no batch spans two epochs) without end; ``fit`` it with ``steps_per_epoch=``
    :func:`batches_per_epoch`. Keras then keeps one iterator for the whole ``fit`` instead of
    making a new one each epoch (some 10 ms, which matters for fits of many tiny epochs), and
    epoch ``e`` still sees the order of epoch ``e``.
    """
    import random

    import tensorflow as tf

    x = tf.constant(np.asarray(x, dtype=np.float32))
    targets = None if y is None else tf.constant(np.asarray(y))
    if targets is not None and targets.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {targets.shape[0]}")
    n = int(x.shape[0])
    if int(first_epoch) < 0:
        raise ValueError(f"first_epoch must be 0 or more, got {first_epoch}")
    if shuffle:
        seed = random.randint(0, 2**31 - 1) if seed is None else seed
        ds = _epoch_orders(n, seed, first_epoch, probe_pass and not repeat).unbatch().apply(tf.data.experimental.assert_cardinality(n))
    else:
        ds = tf.data.Dataset.range(n)
    if steps_per_batch > 1 and drop_remainder:  # whole minibatches only, then k of them per element
        ds = ds.batch(batch_size, drop_remainder=True).batch(steps_per_batch).map(lambda i: tf.reshape(i, [-1]))
    else:
        ds = ds.batch(batch_size * steps_per_batch, drop_remainder=drop_remainder)
    if repeat:
        ds = ds.repeat()

    def rows(index):
        batch = tf.gather(x, index)
        return batch, (batch if targets is None else tf.gather(targets, index))

    ds = ds.map(rows, num_parallel_calls=1, deterministic=True).prefetch(2)
    # The training step needs every core (2 on the CI machine); tf.data's autotuner would spend CPU
    # time and spawn threads that compete with it (measured: unsteady epochs, 5-10% slower).
    options = tf.data.Options()
    options.autotune.enabled = False
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    return ds.with_options(options)


def batches_per_epoch(rows: int, batch_size: int, steps_per_batch: int = 1, drop_remainder: bool = False) -> int:
    """How many elements one epoch of :func:`make_dataset` ``(rows, batch_size, ...)`` has."""
    if drop_remainder:
        return -(-(rows // batch_size) // steps_per_batch)
    return -(-rows // (batch_size * steps_per_batch))


def load_user_array(path: str | os.PathLike, feature_dim: int = 784) -> np.ndarray:
    """A user's ``.npy`` file of shape (N, feature_dim) -> float32 in [0, 1].

    Loaded with ``allow_pickle=False``. Integer arrays must hold 0..255 and are divided by 255;
    float arrays must already lie in [0, 1]. Wrong shape, dtype, NaN/inf and out-of-range values
    are refused with a message saying what was expected and what was found.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"data file not found: {path} (expected a .npy array of shape (N, {feature_dim}))")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"{path}: not a plain numeric .npy array ({exc}); object arrays are refused") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read as .npy ({exc}); is it truncated?") from None
    if not isinstance(array, np.ndarray):
        raise DataError(f"{path}: expected one .npy array, found {type(array).__name__}")
    if array.ndim != 2 or array.shape[1] != feature_dim or array.shape[0] == 0:
        raise DataError(f"{path}: expected shape (N, {feature_dim}) with N >= 1, found {array.shape}")
    return pixels_to_range(array, "unit", path)
