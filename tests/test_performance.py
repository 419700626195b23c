"""Multi-device training gives the single-device trajectory; the benchmark counts FLOPs right
and measures both paths (speed targets are checked by scripts/benchmark.py, not here)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device():
    out = run_python("""
import json, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, numpy as np
from keras_ae.data import load_dataset, flatten, to_unit
from keras_ae.questions.common import distribution_strategy
from keras_ae.questions.question_a import VARIANTS, build_model, compile_model
x = flatten(to_unit(load_dataset("mnist", "train").images[:768]))
def train(name):
    strategy = distribution_strategy(name)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = compile_model(build_model(VARIANTS["ce_glorot"]), VARIANTS["ce_glorot"], 1e-3)
    h = model.fit(tf.data.Dataset.from_tensor_slices((x, x)).batch(128), epochs=3, shuffle=False, verbose=0)
    return strategy.num_replicas_in_sync, h.history["loss"], [float(w.sum()) for w in model.get_weights()]
print(json.dumps({"single": train("none"), "mirrored": train("mirrored")}))
""")
    result = json.loads(out.strip().splitlines()[-1])
    (n1, loss1, w1), (n2, loss2, w2) = result["single"], result["mirrored"]
    assert (n1, n2) == (1, 2)  # the global batch of 128 really was split over two replicas
    assert loss1[-1] < loss1[0]
    assert loss2 == pytest.approx(loss1, rel=1e-4)
    assert w2 == pytest.approx(w1, rel=1e-3, abs=1e-3)


def test_flop_count_matches_a_hand_count():
    from keras_ae.benchmark import NETWORKS

    a = NETWORKS["A"]
    macs = 784 * 256 + 256 * 128 + 128 * 256 + 256 * 784
    assert a.macs_forward == macs == 466_944
    # forward + weight gradients + input gradients of every layer but the first, 2 FLOPs per MAC
    assert a.flops_per_image == 2 * (macs + macs + (macs - 784 * 256))
    # the "one A epoch at a 78 GFLOP/s peak is near 2.2 s" uses 6 FLOPs per MAC everywhere;
    # without the first layer's (never computed) input gradient the same peak gives 1.85 s
    assert 60_000 * 6 * macs / 78e9 == pytest.approx(2.2, abs=0.1)
    assert 60_000 * a.flops_per_image / 78e9 == pytest.approx(1.85, abs=0.01)
    b = NETWORKS["B"]
    assert b.layers == (784, 128, 64, 32, 16, 8, 8, 32, 64, 128, 784) and b.activations[-1] == "tanh"


def test_benchmark_measures_keras_and_torch_paths_on_a_small_slice():
    from keras_ae.benchmark import run_benchmark

    lines = []
    torch_available = True
    try:
        import torch  # noqa: F401
    except ImportError:
        torch_available = False
    result = run_benchmark(["A"], epochs=1, train_limit=1024, configs=["numpy fit", "tf.data + XLA"],
                           torch_baseline=torch_available, peak=False, log=lines.append)
    row = result["networks"]["A"]
    assert set(row["keras"]) == {"numpy fit", "tf.data + XLA"} and all(v > 0 for v in row["keras"].values())
    assert row["best_rate"] == max(row["keras"].values())
    if torch_available:
        assert row["torch"] > 0 and row["ratio_vs_torch"] == pytest.approx(row["best_rate"] / row["torch"])
    assert any("images/s" in line for line in lines)
