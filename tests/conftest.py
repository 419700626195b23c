"""Shared fixtures. pytest-xdist runs the suite in two processes (setup.cfg: ``-n 2 --dist loadfile``),
each file whole in one of them; TensorFlow is imported once per process.

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


WORKER_SETUP = {
    # no keras_ae may be imported there: what an exported model's user without keras_ae has
    "no_keras_ae": "",
    "keras_ae": "",
    # two logical CPUs (set before TensorFlow starts its runtime) for the tf.distribute tests
    "two_cpus": ("import tensorflow as tf\n"
                 "cpu = tf.config.list_physical_devices('CPU')[0]\n"
                 "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"),
}
_WORKERS: dict = {}


class _Worker:
    """One ``python -m tests.fresh_worker`` process, started on first use and kept for the session."""

    def __init__(self, kind: str):
        import subprocess
        import sys
        import tempfile

        self.kind = kind
        self.stderr = tempfile.TemporaryFile(mode="w+")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fresh_worker", *(["--no-keras-ae"] if kind == "no_keras_ae" else [])],
            cwd=REPO_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        if WORKER_SETUP[kind]:
            self.send(WORKER_SETUP[kind], None, 300)

    def send(self, code: str, cwd, timeout: int) -> str:
        import json
        import threading

        self.process.stdin.write(json.dumps({"code": code, "cwd": str(cwd) if cwd else None}) + "\n")
        self.process.stdin.flush()
        timer = threading.Timer(timeout, self.process.kill)
        timer.start()
        try:
            line = self.process.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            self.stderr.seek(0)
            raise AssertionError(f"the {self.kind} worker died ({self.process.poll()}) or took over {timeout} s:\n"
                                 f"{self.stderr.read()[-3000:]}")
        answer = json.loads(line)
        if answer["retire"]:
            self.close()  # its process ends; run_python starts a new one for the next request
        if not answer["ok"]:
            raise AssertionError(f"the code failed in the {self.kind} process:\n{answer['error'][-3000:]}")
        return answer["out"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)
        self.stderr.close()


def run_python(code: str, cwd: Path | None = None, timeout: int = 300, process: str = "no_keras_ae") -> str:
    """Run ``code`` in another Python process than the tests' (no state shared with pytest's); return
    what it printed. ``process``: which shared worker process runs it (one per kind and session, so
    TensorFlow is imported once per kind): ``"no_keras_ae"`` (fails if the code imports keras_ae:
    the checks that an export serves without it), ``"keras_ae"``, ``"two_cpus"`` (two logical CPUs,
    for tf.distribute), or ``"own"`` (a new process of its own, for code that sets global state)."""
    import subprocess
    import sys

    if process == "own":
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run([sys.executable, "-c", code], cwd=cwd or REPO_ROOT, env=env,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"fresh process failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout
    worker = _WORKERS.get(process)
    if worker is None or worker.process.poll() is not None:
        worker = _WORKERS[process] = _Worker(process)
    return worker.send(code, cwd, timeout)


@pytest.fixture(scope="session", autouse=True)
def _close_workers():
    yield
    for worker in _WORKERS.values():
        worker.close()
    _WORKERS.clear()
