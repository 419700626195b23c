"""Outputs survive a kill: a writer that fails half-way leaves the old file whole and no partial
file under the final name; an export killed between its folder renames is complete again on the
next load; a corrupt metadata.json or summary.json is one line naming the file."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture
def failing_writes(tmp_path, monkeypatch):
    """Every file opened for writing under ``tmp_path / "out"`` takes half of what it is given,
    then the write fails (a full disk, or a kill, half-way through)."""
    real_open = builtins.open
    folder = str(tmp_path / "out")

    class HalfWriter:
        def __init__(self, fh):
            self._fh = fh

        def write(self, data):
            self._fh.write(data[: max(1, len(data) // 2)])
            self._fh.flush()
            raise OSError("simulated failure half-way through a write")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()
            return False

        def __getattr__(self, name):
            return getattr(self._fh, name)

    def fake_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(os.fspath(file)).startswith(folder) \
                and any(m in mode for m in "wax"):
            return HalfWriter(fh)
        return fh

    os.makedirs(folder)
    return folder, lambda: monkeypatch.setattr(builtins, "open", fake_open)


def _listing(folder) -> dict:
    return {name: open(os.path.join(folder, name), "rb").read() for name in sorted(os.listdir(folder))}


def test_tables_json_and_text_keep_the_old_file_when_the_writer_fails_half_way(failing_writes):
    from keras_ae.io import write_json
    from keras_ae.reporting import write_table

    folder, arm = failing_writes
    rows = [{"model": "old", "loss": 0.5}]
    write_table(rows, os.path.join(folder, "losses"), caption="old table")
    write_json({"old": True}, os.path.join(folder, "summary.json"))
    before = _listing(folder)
    arm()
    with pytest.raises(OSError, match="half-way"):
        write_table([{"model": "new", "loss": 0.25}] * 100, os.path.join(folder, "losses"), caption="new table")
    with pytest.raises(OSError, match="half-way"):
        write_json({"new": list(range(1000))}, os.path.join(folder, "summary.json"))
    assert _listing(folder) == before  # the old files, whole; nothing else (no partial or temporary file)


def test_a_figure_that_fails_half_way_leaves_the_old_png(tmp_path, monkeypatch):
    import matplotlib.figure

    from keras_ae.plots import plt, save_figure

    path = tmp_path / "figure.png"
    fig = plt.figure()
    save_figure(fig, path)
    old = path.read_bytes()

    def half_savefig(self, fname, *args, **kwargs):
        with open(fname, "wb") as fh:
            fh.write(old[: len(old) // 2])
        raise OSError("simulated failure half-way through savefig")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", half_savefig)
    with pytest.raises(OSError, match="half-way"):
        save_figure(plt.figure(), path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["figure.png"]


def test_report_html_and_inference_output_keep_the_old_file(failing_writes, tmp_path):
    from keras_ae.cli import _save_npy
    from keras_ae.report import write_report

    folder, arm = failing_writes
    html = os.path.join(folder, "report.html")
    write_report([], html)
    _save_npy(os.path.join(folder, "out.npy"), np.arange(5))
    before = _listing(folder)
    arm()
    with pytest.raises(OSError, match="half-way"):
        write_report([], html, quick=True)
    with pytest.raises(OSError, match="half-way"):
        _save_npy(os.path.join(folder, "out.npy"), np.ones((100, 100)))
    assert _listing(folder) == before
    assert np.array_equal(np.load(os.path.join(folder, "out.npy")), np.arange(5))


def _tiny_export(path, seed: int, metadata=None):
    import keras

    from keras_ae.export import export_model
    from keras_ae.models import build_dense_autoencoder

    keras.utils.set_random_seed(seed)
    model = build_dense_autoencoder(784, (4,), (), seed=seed, name=f"tiny_{seed}")
    return model, export_model(model, path, metadata=metadata or {"value_range": "unit"}, save_keras=False)


def test_an_export_killed_between_its_renames_is_complete_on_the_next_load(tmp_path):
    from keras_ae.export import InferenceModel

    path = tmp_path / "model"
    _tiny_export(path, seed=0)
    x = np.random.default_rng(0).random((3, 784)).astype(np.float32)
    old = InferenceModel(path)("reconstruct", x)
    # a fresh process re-exports with another seed and is SIGKILLed right after the first rename
    code = f"""
import os, signal
import keras_ae.export as E
real_replace, calls = os.replace, []
def replace(src, dst):
    real_replace(src, dst)
    calls.append(dst)
    if str(dst).endswith(".old-export"):
        os.kill(os.getpid(), signal.SIGKILL)
E.os.replace = replace
import sys; sys.path.insert(0, {str(REPO_ROOT)!r})
from tests.test_atomic_outputs import _tiny_export
model, _ = _tiny_export({str(path)!r}, seed=1)
print("not killed")
"""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == -9, (result.returncode, result.stdout, result.stderr[-2000:])
    assert not path.exists() and (tmp_path / "model.old-export").is_dir()  # the instant the kill caught
    new = InferenceModel(path)("reconstruct", x)  # the load finishes the swap: the complete new export
    assert not np.allclose(new, old)
    assert sorted(os.listdir(tmp_path)) == ["model"]
    # and a kill before the renames (the new folder half-written) leaves the old export in place
    os.replace(path, tmp_path / "model.old-export")
    (tmp_path / "model.tmp-export").mkdir()
    np.testing.assert_array_equal(InferenceModel(path)("reconstruct", x), new)
    assert sorted(os.listdir(tmp_path)) == ["model", "model.tmp-export"]  # removed by the next export


@pytest.mark.parametrize("text", ["{\"value_range\": \"unit\", ", "[1, 2]"])
def test_corrupt_metadata_is_one_line_naming_the_file_and_exit_2(tmp_path, capsys, text):
    from keras_ae.cli import main

    _, path = _tiny_export(tmp_path / "model", seed=0)
    (path / "metadata.json").write_text(text)
    np.save(tmp_path / "x.npy", np.zeros((2, 784), np.uint8))
    for argv in (["info", "--model", str(path)],
                 ["reconstruct", "--model", str(path), "--input", str(tmp_path / "x.npy"),
                  "--output", str(tmp_path / "y.npy")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path / "metadata.json") in err and "corrupt model metadata" in err, err
    assert not (tmp_path / "y.npy").exists()


def test_corrupt_summary_of_question_b_is_one_line_naming_the_file(tmp_path):
    from keras_ae.errors import DataError
    from keras_ae.questions import question_b, question_c

    args = question_c.build_parser().parse_args(
        ["--baseline", "load", "--saved-models-dir", str(tmp_path / "sm"),
         "--baseline-output-dir", str(tmp_path / "b"), "--output-dir", str(tmp_path / "c")])
    _tiny_export(tmp_path / "sm" / question_b.MODEL_NAME, seed=0,
                 metadata={"question": "B", "value_range": "signed"})
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "summary.json").write_text('{"settings": {"epochs": 2')  # cut off by a kill
    with pytest.raises(DataError) as info:
        question_c.load_baseline(args, train_rows=100)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "b" / "summary.json") in message and "corrupt" in message
