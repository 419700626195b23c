"""README.md's Python blocks run as written, on a small slice, so that they cannot rot; and the
public API they use is declared (``__all__``) and documented (a one-line summary per name)."""

from __future__ import annotations

import csv
import importlib
import inspect
import json
import re

import pytest

from tests.conftest import REPO_ROOT, run_python

README = REPO_ROOT / "README.md"

# The only rewrites: the size knobs of "Using keras_ae as a library". Each must be found in the
# README, so that a changed knob fails here instead of running the full-size fit.
SMALL = {"train.images[:60000]": "train.images[:256]", "test.images[:10000]": "test.images[:128]",
         "epochs=5": "epochs=1"}

# Before the blocks: what "Using an exported model" loads, a small stand-in for the model that
# `keras-ae run A` exports there, untrained (the README block itself runs unchanged).
SETUP = """
from keras_ae.export import export_model
from keras_ae.models import build_dense_autoencoder

model = build_dense_autoencoder(784, (32, 8), (32,), init="glorot", seed=0, name="question_a_ce_glorot")
export_model(model, "saved_models/question_a_ce_glorot", metadata={"value_range": "unit"})
"""

# After the blocks: the library block's export loads without keras_ae and has its endpoints.
CHECK = """
import json
import numpy as np
import tensorflow as tf

m = tf.saved_model.load("saved_models/my_aae")
print("EXPORT " + json.dumps({"codes": list(m.encode(np.zeros((2, 784), np.float32))["codes"].shape),
                              "images": list(m.generate(np.zeros((2, 100), np.float32))["images"].shape)}))
"""

PUBLIC_MODULES = ("keras_ae.models", "keras_ae.losses", "keras_ae.callbacks", "keras_ae.data", "keras_ae.export")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.M | re.S)


def small(blocks: list[str]) -> list[str]:
    text = "\n".join(blocks)
    for full, reduced in SMALL.items():
        assert text.count(full) == 1, f"README.md's Python blocks should hold {full!r} once (tests/test_readme.py)"
    for full, reduced in SMALL.items():
        blocks = [block.replace(full, reduced) for block in blocks]
    return blocks


def test_readme_python_blocks_run(tmp_path):
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 2, "README.md should hold the library and the exported-model Python blocks"
    runner = "\n".join([
        SETUP,
        f"for i, block in enumerate({small(blocks)!r}):",
        "    exec(compile(block, f'README.md python block {i + 1}', 'exec'), {'__name__': '__main__'})",
        "    print(f'BLOCK {i + 1} ran', flush=True)",
        CHECK,
    ])
    out = run_python(runner, cwd=tmp_path, timeout=600, process="own")
    assert [line for line in out.splitlines() if line.startswith("BLOCK")] == [
        f"BLOCK {i + 1} ran" for i in range(len(blocks))]
    # the library block: trained (keras_ae's CSV log of its one epoch, with Keras' validation
    # loss that EarlyStopping watches), logged for TensorBoard, exported
    with open(tmp_path / "runs" / "aae" / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and float(rows[0]["val_reconstruction_loss"]) > 0
    assert list((tmp_path / "runs" / "aae" / "tensorboard").rglob("events.out.tfevents.*"))
    exported = json.loads(next(line for line in out.splitlines() if line.startswith("EXPORT "))[len("EXPORT "):])
    assert exported == {"codes": [2, 100], "images": [2, 784]}
    assert json.loads((tmp_path / "saved_models" / "my_aae" / "metadata.json").read_text())["value_range"] == "unit"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_api_is_declared_with_one_line_summaries(module_name):
    module = importlib.import_module(module_name)
    names = module.__all__
    assert names and len(set(names)) == len(names)
    assert not [name for name in names if name.startswith("_")]
    for name in names:
        value = getattr(module, name)  # an AttributeError names a stale entry
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue  # constants carry no docstring of their own
        doc = inspect.getdoc(value) if value.__doc__ else None
        assert doc, f"{module_name}.{name} has no docstring"
        summary = doc.split("\n\n")[0]
        assert "\n" not in summary, f"{module_name}.{name}: the docstring's first paragraph is not one line"
