"""Shared fixtures. One process runs the whole suite; TensorFlow is imported once.

Tests read the real data from ../shared/data (or $KERAS_AE_DATA_DIR) and train small models on
small slices for a few steps. Built caches (MNIST-M) go to a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def _data_dir() -> Path:
    path = Path(os.environ.get("KERAS_AE_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    if not (path / "mnist").is_dir():
        pytest.exit(f"test data not found in {path}: set KERAS_AE_DATA_DIR to the shared data folder", 3)
    return path


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory) -> Path:
    """The shared data folder, also exported as $KERAS_AE_DATA_DIR; caches in a temp folder."""
    path = _data_dir()
    os.environ["KERAS_AE_DATA_DIR"] = str(path)
    os.environ["KERAS_AE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    return path


@pytest.fixture(scope="session")
def mnist_small(data_dir):
    """2,048 training and 512 test MNIST digits, flattened to [0, 1]."""
    from keras_ae.data import flatten, load_dataset, to_unit

    train = load_dataset("mnist", "train")
    test = load_dataset("mnist", "test")
    return (flatten(to_unit(train.images[:2048])), train.labels[:2048],
            flatten(to_unit(test.images[:512])), test.labels[:512])


def run_python(code: str, cwd: Path | None = None, timeout: int = 300) -> str:
    """Run ``code`` in a fresh Python process (no state shared with this one); return stdout."""
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd or REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"fresh process failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout
