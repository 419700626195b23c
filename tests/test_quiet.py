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


def test_verbose_switch_leaves_tensorflow_its_own_logging(tiny_export):
    code = ("import keras_ae.export, tensorflow as tf, os, logging; "
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), logging.getLogger('tensorflow').level)")
    quiet = _run(["-c", code])
    assert quiet.stdout.split() == ["3", str(40)]  # ERROR
    loud = _run(["-c", code], verbose=True)
    assert loud.stdout.split() == ["None", "0"]
    # whatever TensorFlow prints on this machine reaches stderr (on x86 Linux: the oneDNN line)
    assert NOISE.search(loud.stderr) or not NOISE.search(quiet.stderr)


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
