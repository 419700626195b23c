"""Files that survive a kill: every file keras_ae writes appears whole under its name, or not at all.

A file is written to a temporary name in its own folder (``.<stem>.tmp-<pid><suffix>``, so
writers that go by the suffix, such as matplotlib and numpy, still see ``.png`` or ``.npy``) and
then ``os.replace``-d onto the final name, which is atomic on POSIX and Windows: a reader, or a
run killed at any instant, finds the old file or the new one, never half of one. If the writer
fails, the temporary file is removed and the old file is left as it was. A run killed with
SIGKILL can leave a hidden ``.*.tmp-*`` file beside the real one; it is never read.

Not covered, on purpose: logs appended line by line during training (Keras' ``CSVLogger``
``history.csv``, :class:`keras_ae.callbacks.PeriodicEvaluation`'s ``test_loss.csv``, TensorBoard
event files); a kill leaves them with the lines written so far, which is what a log is for.
SavedModel folders are swapped whole by :func:`keras_ae.export.export_model`.

Reading: :func:`read_json` turns a missing-or-corrupt JSON file into one
:class:`~keras_ae.errors.DataError` line naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Iterator

from keras_ae.errors import DataError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path`` (same folder, same suffix; folders created) to write
    with any writer (``savefig``, ``np.save``, ...); on leaving the block it is renamed onto
    ``path``. If the block raises, the temporary file is removed and ``path`` is untouched."""
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, suffix = os.path.splitext(name)
    tmp = os.path.join(folder, f".{stem}.tmp-{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs):
    """``open(path, mode)`` that replaces ``path`` only once the block has finished: use it like
    ``open`` (``with atomic_write(p) as fh: fh.write(...)``); ``mode`` is ``"w"`` or ``"wb"``
    (``newline=``, ``encoding=`` go to ``open``)."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write replaces a whole file: mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh


def write_text(path: str | os.PathLike, text: str) -> str:
    """Write ``text`` to ``path`` atomically; return the path."""
    with atomic_write(path) as fh:
        fh.write(text)
    return os.fspath(path)


def write_json(data, path: str | os.PathLike, **dump_kwargs) -> str:
    """``json.dump`` (indented; non-JSON values as ``str``) to ``path`` atomically; return the path."""
    dump_kwargs = {"indent": 2, "default": str, **dump_kwargs}
    return write_text(path, json.dumps(data, **dump_kwargs) + "\n")


def read_json(path: str | os.PathLike, what: str = "JSON file", missing_ok: bool = False):
    """The JSON value in ``path``; a corrupt (or, unless ``missing_ok``, missing) file is a
    :class:`~keras_ae.errors.DataError` of one line naming the file and what to do. ``missing_ok``:
    a missing file gives None."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise DataError(f"{path}: no such {what}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: corrupt {what}, not valid JSON ({exc}); delete it, or write it again "
                        "by rerunning what made it") from None
