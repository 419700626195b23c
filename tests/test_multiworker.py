"""``--strategy multiworker``: two worker processes on 127.0.0.1 train question A's network to the
weights of one process with the same global batch (see test_performance.py for ``mirrored``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

# ce_glorot on 256 images, global batch 64: one epoch of 4 Adam steps; --fused-steps 1 because
# strategies ignore fusion (the single process would fuse otherwise), --no-xla for a quicker start
OPTIONS = ["--variants", "ce_glorot", "--train-limit", "256", "--batch-size", "64", "--epochs", "1",
           "--fused-steps", "1", "--no-xla", "--seed", "3"]
TIMEOUT = 180  # seconds for all three processes


def _free_ports(count: int) -> list[int]:
    """``count`` different ports on 127.0.0.1 that were free a moment ago."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start(out, options, tf_config=None) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, "-m", "tests.multiworker_worker", str(out), *options], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _train(tmp_path, worker_options=(OPTIONS, OPTIONS)):
    """Two workers under ``--strategy multiworker`` and one process without a strategy, side by side;
    each one's ``.npz`` (see tests/multiworker_worker.py)."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    runs = {f"worker{i}": (tmp_path / f"worker{i}.npz",
                           [*options, "--strategy", "multiworker"],
                           {"cluster": cluster, "task": {"type": "worker", "index": i}})
            for i, options in enumerate(worker_options)}
    runs["single"] = (tmp_path / "single.npz", [*OPTIONS, "--strategy", "none"], None)
    processes = {}
    deadline = time.monotonic() + TIMEOUT
    try:
        for name, (out, options, tf_config) in runs.items():
            processes[name] = _start(out, options, tf_config)
        for name, process in processes.items():
            output, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            assert process.returncode == 0, f"{name} failed ({process.returncode}):\n{output[-3000:]}"
    finally:
        for process in processes.values():  # a failed or hung worker leaves the other one waiting
            if process.poll() is None:
                process.kill()
                process.communicate()
    return {name: dict(np.load(out)) for name, (out, _, _) in runs.items()}


def _weights(run, prefix="w"):
    return [run[f"{prefix}{i}"] for i in range(sum(key.startswith(prefix) for key in run))]


def test_multiworker_strategy_on_two_local_workers_matches_one_process(tmp_path):
    runs = _train(tmp_path)
    single, worker0, worker1 = runs["single"], runs["worker0"], runs["worker1"]
    # each global batch of 64 really was split over two replicas, one per worker
    assert (int(single["replicas"]), int(worker0["replicas"]), int(worker1["replicas"])) == (1, 2, 2)
    assert len(_weights(single)) == len(_weights(worker0)) == 8  # 784-256-128-256-784
    # the workers' all-reduced updates keep their copies of the model identical
    for w0, w1 in zip(_weights(worker0), _weights(worker1)):
        np.testing.assert_array_equal(w0, w1)
    # ... and equal to the single process's: the same batches, the summed halves' gradients
    for w0, w in zip(_weights(worker0), _weights(single)):
        np.testing.assert_allclose(w0, w, rtol=1e-4, atol=1e-6)  # measured: 1e-7 apart
    assert worker0["loss"] == pytest.approx(single["loss"], rel=1e-4)
    # ... which the 4 steps moved far more than that (Adam: up to 1e-3 a step)
    moved = max(float(np.abs(w - w_init).max()) for w, w_init in zip(_weights(single), _weights(single, "initial")))
    assert moved > 2e-3
