"""Quiet by default: no TensorFlow/absl/CUDA log line on a keras-ae command or a question script."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

# The lines TensorFlow 2.x prints on import and first use (absl's banner, absl-prefixed C++ lines,
# the cpu_feature_guard continuation line).
NOISE = re.compile(r"absl::InitializeLog|^[IWEF]\d{4} \d\d:\d\d:\d\d|port\.cc|cudart_stub|cpu_feature_guard|"
                   r"cuInit|To enable the following instructions|oneDNN", re.M)


def _run(args: list[str], verbose: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python args`` in a fresh process, as a user would start it: no TF_CPP_MIN_LOG_LEVEL of
    the test run's own; this worktree's keras_ae first on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_AE_VERBOSE")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if verbose:
        env["KERAS_AE_VERBOSE"] = "1"
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    import keras

    from keras_ae.export import export_model
    from keras_ae.models import build_dense_autoencoder

    keras.utils.set_random_seed(0)
    model = build_dense_autoencoder(input_dim=4, encoder_units=(3, 2), decoder_units=(3,), seed=0, name="tiny")
    return export_model(model, tmp_path_factory.mktemp("quiet") / "tiny", metadata={"value_range": "unit"})


def test_info_and_list_print_no_tensorflow_log_line(tiny_export):
    info = _run(["-m", "keras_ae.cli", "info", "--model", str(tiny_export)])
    assert info.returncode == 0, info.stderr
    assert '"reconstruct"' in info.stdout
    assert not NOISE.search(info.stderr), info.stderr
    assert info.stderr == ""
    listing = _run(["-m", "keras_ae.cli", "list"])
    assert listing.returncode == 0 and listing.stderr == "", listing.stderr


def test_a_question_script_prints_no_tensorflow_log_line(tmp_path):
    script = os.path.join("scripts", "question_a_mlp_autoencoder.py")
    result = _run([script, "--variants", "ce_glorot", "--epochs", "1", "--train-limit", "64", "--test-limit", "16",
                   "--num-images", "2", "--no-export", "--verbose", "0", "--output-dir", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    assert not NOISE.search(result.stderr), result.stderr


# Prints, after importing keras_ae, its sub-modules and then TensorFlow: the keras_ae finders on
# sys.meta_path once keras_ae is imported, the os.dup2 calls made, TF_CPP_MIN_LOG_LEVEL and the
# level of the 'tensorflow' logger; then, with argv, runs that keras-ae command in the same process
# and prints them again.
_PROBE = """
import logging, os, sys
calls, real_dup2 = [], os.dup2
os.dup2 = lambda *a, **k: (calls.append(a), real_dup2(*a, **k))[1]
def state():
    return [len(calls), os.environ.get('TF_CPP_MIN_LOG_LEVEL'), logging.getLogger('tensorflow').level]
import keras_ae, keras_ae.cli, keras_ae.export, keras_ae.questions.common
print([type(f).__module__ for f in sys.meta_path if type(f).__module__.startswith('keras_ae')])
if sys.argv[1:]:
    keras_ae.cli.main(sys.argv[1:])
else:
    import tensorflow
print(state())
"""


def test_import_leaves_tensorflow_its_own_logging_and_the_verbose_switch_too(tiny_export):
    """``import keras_ae`` changes nothing (no finder, fd 2 untouched, TensorFlow's logging its
    own); a command with KERAS_AE_VERBOSE=1 neither."""
    bare = _run(["-c", _PROBE])
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.split("\n")[:2] == ["[]", "[0, None, 0]"], bare.stdout
    loud = _run(["-c", _PROBE, "info", "--model", str(tiny_export)], verbose=True)
    assert loud.returncode == 0, loud.stderr
    assert loud.stdout.splitlines()[-1] == "[0, None, 0]", loud.stdout
    # whatever TensorFlow prints on import on this machine (on x86 Linux: the oneDNN line) reaches
    # stderr, both times
    assert bool(NOISE.search(bare.stderr)) == bool(NOISE.search(loud.stderr)), (bare.stderr, loud.stderr)


def test_filter_keeps_everything_but_tensorflows_lines_below_the_level():
    from keras_ae._quiet import filter_log_text

    text = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1795443266.959092   22342 port.cc:153] oneDNN custom operations are on.\n"
            "I0000 00:00:1795443267.008218   22342 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
            "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n"
            "E0000 00:00:1795443282.620859   22578 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n"
            "a line of someone else's\n")
    assert filter_log_text(text, 3) == "a line of someone else's\n"
    assert filter_log_text(text, 0) == text
    assert [line[:5] for line in filter_log_text(text, 2).splitlines()] == ["E0000", "a lin"]
    other = "Traceback (most recent call last):\nImportError: something real\n"
    assert filter_log_text(other, 3) == other
