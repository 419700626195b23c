"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or raw)."""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from keras_ae.errors import DataError
from keras_ae.io import atomic_write

# Third byte of the magic number -> numpy dtype (big-endian where it matters).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"IDX file not found: {path}") from None
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{path}: the gzip stream is truncated or corrupt ({exc}); "
                "download the file again"
            ) from None
    return raw


def read_idx(path: str | os.PathLike, expected_shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Read one IDX file into a numpy array.

    ``expected_shape`` (``None`` entries match any size) is checked against the header, so a
    labels file given where images are expected is refused with a message naming both shapes.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes is too short for an IDX header (expected at least 4)")
    zero, dtype_code, ndim = data[0] | data[1], data[2], data[3]
    if zero != 0 or dtype_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
        raise DataError(
            f"{path}: wrong magic number 0x{data[:4].hex()}; expected an IDX file "
            "(0x00000801 for labels, 0x00000803 for images)"
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path}: header truncated ({len(data)} bytes, expected {header_len})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[dtype_code]
    expected_len = header_len + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected_len:
        raise DataError(
            f"{path}: wrong length: the header promises shape {shape} ({expected_len} bytes), "
            f"the file holds {len(data)} bytes; it is truncated or corrupt"
        )
    if expected_shape is not None:
        ok = len(shape) == len(expected_shape) and all(
            e is None or e == s for e, s in zip(expected_shape, shape)
        )
        if not ok:
            want = tuple("N" if e is None else e for e in expected_shape)
            raise DataError(f"{path}: found shape {shape}, expected {want}")
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("=")) if dtype.byteorder == ">" else array.copy()


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip when the name ends in .gz). Used by tests and tools."""
    path = os.fspath(path)
    codes = {v: k for k, v in _IDX_DTYPES.items()}
    dtype = np.dtype(array.dtype).newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = codes.get(dtype) or codes.get(np.dtype(array.dtype))
    if code is None:
        raise ValueError(f"dtype {array.dtype} has no IDX code")
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + np.ascontiguousarray(array.astype(dtype)).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    with atomic_write(path, "wb") as fh:
        fh.write(gzip.compress(payload, mtime=0) if compress else payload)
