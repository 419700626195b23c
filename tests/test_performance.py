"""Multi-device training gives the single-device trajectory; the benchmark counts FLOPs right
and measures both paths (speed targets are checked by scripts/benchmark.py, not here)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device():
    out = run_python("""
import json, tensorflow as tf
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
""", process="two_cpus")
    result = json.loads(out.strip().splitlines()[-1])
    (n1, loss1, w1), (n2, loss2, w2) = result["single"], result["mirrored"]
    assert (n1, n2) == (1, 2)  # the global batch of 128 really was split over two replicas
    assert loss1[-1] < loss1[0]
    assert loss2 == pytest.approx(loss1, rel=1e-4)
    assert w2 == pytest.approx(w1, rel=1e-3, abs=1e-3)


# ---- the benchmark (scripts/benchmark.py, benchmarks/) ------------------------------------------

def _torch_or_skip():
    return pytest.importorskip("torch", reason='PyTorch is not installed (pip install -e ".[bench]")')


def test_flop_count_matches_a_hand_count():
    from benchmarks.flops import Pass, flops_per_image, layer_macs
    from benchmarks.networks import NETWORKS, network_facts
    from keras_ae.models import (GAN, build_adversarial_autoencoder, build_conv_autoencoder, build_dense_autoencoder,
                                 build_discriminator, build_generator)

    # a chain of Dense layers 8-4-2-4-8: forward 32 + 8 + 8 + 32 = 80 multiply-adds; weight
    # gradients as many; input gradients of every layer but the first (80 - 32); 2 FLOPs each
    dense = build_dense_autoencoder(8, (4, 2), (4,))
    assert layer_macs(dense.encoder) + layer_macs(dense.decoder) == (32, 8, 8, 32)
    assert flops_per_image([Pass((32, 8, 8, 32))]) == 2 * (80 + 80 + 48) == 416
    assert Pass((32, 8), backward=False).flops == 80
    assert Pass((32, 8), weights=False, to_input=True).flops == 2 * (40 + 40)
    # convolutions, 8x8x1 -> 4x4x2 (stride 2) -> 4x4x1 (code) -> 8x8x2 (transposed, stride 2) -> 8x8x1,
    # 3x3 kernels: output pixels x kernel size; a transposed convolution: *input* pixels x kernel size
    conv = build_conv_autoencoder((8, 8, 1), filters=(2,), code_channels=1)
    assert layer_macs(conv.encoder) == (4 * 4 * 3 * 3 * 1 * 2, 4 * 4 * 3 * 3 * 2 * 1)
    assert layer_macs(conv.decoder) == (4 * 4 * 3 * 3 * 1 * 2, 8 * 8 * 3 * 3 * 2 * 1)
    # E's three phases: encoder 8-4-2, decoder 2-4-8, discriminator 2-3-1
    aae = build_adversarial_autoencoder(8, 2, (4,), (3,))
    reconstruction = 2 * (80 + 80 + 48)                  # (a) encoder + decoder, all trained
    discriminator = 2 * 40 + 2 * 2 * (9 + 9 + 3)         # (b) codes (forward), D on codes and prior samples
    generator = 2 * (40 + 40 + 8) + 2 * (9 + 9)          # (c) encoder trained through D (D's input gradients)
    assert flops_per_image(NETWORKS["E"].passes(aae)) == reconstruction + discriminator + generator == 792
    # F with k = 2, per real image: G 2-3-4 (6 + 12), D 4-3-1 (12 + 3)
    gan = GAN(build_generator(2, (3,), output_dim=4), build_discriminator(4, (3,)), d_steps=2)
    per_real_image = (2 * 18 + 2 * 2 * (15 + 15 + 3)          # each D update: fakes, D on real and fake
                      + (2 * (18 + 18 + 12) + 2 * (15 + 15)) / 2)  # one G update per 2 real minibatches
    assert flops_per_image(NETWORKS["F"].passes(gan)) == per_real_image == 246
    # question A's network: 784-256-128-256-784
    macs = 784 * 256 + 256 * 128 + 128 * 256 + 256 * 784
    a = network_facts(NETWORKS["A"])
    assert a["flops_per_image"] == 2 * (macs + macs + (macs - 784 * 256))
    # the "one A epoch at a 78 GFLOP/s peak is near 2.2 s" uses 6 FLOPs per MAC everywhere;
    # without the first layer's (never computed) input gradient the same peak gives 1.85 s
    assert 60_000 * 6 * macs / 78e9 == pytest.approx(2.2, abs=0.1)
    assert 60_000 * a["flops_per_image"] / 78e9 == pytest.approx(1.85, abs=0.01)
    h = network_facts(NETWORKS["H"])
    assert h["dense_widths"] == (784, 1000, 500, 250, 30, 250, 500, 1000, 784)
    assert network_facts(NETWORKS["B"])["dense_widths"] == (784, 128, 64, 32, 16, 8, 8, 32, 64, 128, 784)


def test_pytorch_networks_are_the_keras_networks():
    """Each network's PyTorch model has the Keras model's parameters, tensor by tensor (sizes), and
    its step runs on one batch of the question's size."""
    import numpy as np

    torch = _torch_or_skip()
    from benchmarks.flops import keras_parameter_count
    from benchmarks.networks import NETWORKS

    for name, spec in NETWORKS.items():
        args = spec.defaults()
        model = spec.keras_model(args)
        net = spec.torch_model(args)
        assert net.parameter_count == keras_parameter_count(model) > 0, name
        keras_sizes = sorted(int(np.prod(v.shape)) for v in {id(v): v for v in model.trainable_weights}.values())
        torch_sizes = sorted(p.numel() for m in net.modules for p in m.parameters())
        assert torch_sizes == keras_sizes, name
        shape = model.generator.outputs[0].shape[1:] if name == "F" else model.sample_shape
        x = np.random.default_rng(0).random((spec.rows_per_step(args), *shape), dtype=np.float32)
        before = [[p.detach().clone() for p in m.parameters()] for m in net.modules]
        net.step(torch.from_numpy(net.layout(x) if net.layout else x))
        for old, module in zip(before, net.modules):  # the step trained every module
            assert any(not b.equal(a) for b, a in zip(old, module.parameters())), name


def test_benchmark_without_pytorch_says_so_in_one_line_and_exits_2(capsys, monkeypatch):
    """Without PyTorch (and without --no-torch) the command stops before timing anything."""
    import builtins

    from benchmarks.runner import main

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert main(["--quick"], prog="python -m benchmarks") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "PyTorch is not installed" in lines[0] and "--no-torch" in lines[0]


def test_benchmark_script_prints_a_ratio_and_a_flops_line_per_network(capsys, tmp_path):
    """``--quick``: images/s and flops lines for every network measured, ratio lines with PyTorch, the
    H target line. (A dense, the GAN and H; that every network is built alike on both sides is
    test_pytorch_networks_are_the_keras_networks'.)"""
    import json
    import runpy

    from benchmarks.networks import NETWORKS
    from tests.conftest import REPO_ROOT

    try:
        import torch  # noqa: F401
        torch_available = True
    except ImportError:
        torch_available = False
    main = runpy.run_path(str(REPO_ROOT / "scripts" / "benchmark.py"), run_name="benchmark_script")["main"]
    networks = ["A", "F", "H"]
    argv = ["--quick", "--networks", *networks, "--train-limit", "256", "--json", str(tmp_path / "bench.json")]
    assert main(argv + ([] if torch_available else ["--no-torch"])) == 0
    lines = capsys.readouterr().out.splitlines()
    result = json.loads((tmp_path / "bench.json").read_text())
    assert list(result["networks"]) == networks and set(networks) <= set(NETWORKS) and result["peak_gflops"] > 0
    for name in networks:
        row = result["networks"][name]
        flops = [line.split() for line in lines if line.startswith(f"flops {name} ")]
        assert len(flops) == 1 and float(flops[0][2]) > 0 and flops[0][3].endswith("%"), name
        assert f"images/s {name} keras_ae {row['keras_rate']:.1f}" in lines
        if torch_available:
            assert f"ratio {name} {row['keras_rate'] / row['torch']:.2f}" in lines
    assert any(line.startswith("target H >= 50% of peak") for line in lines)
    if not torch_available:
        pytest.skip('ratio lines need PyTorch (pip install -e ".[bench]")')


def test_benchmark_times_the_keras_configurations_one_change_at_a_time():
    from benchmarks.networks import NETWORKS
    from benchmarks.runner import run_benchmark
    from benchmarks.timing import REFERENCE_CONFIG, TRAINING_PATH, training_path

    lines = []
    configs = ["numpy fit", REFERENCE_CONFIG]
    result = run_benchmark(["A"], epochs=1, train_limit=256, configs=configs, torch_baseline=False, peak=False,
                           matmuls=False, log=lines.append)
    row = result["networks"]["A"]
    assert set(row["keras"]) == {TRAINING_PATH, *configs} and all(v > 0 for v in row["keras"].values())
    # the ratio and FLOP rate are those of the training path, the questions' (16 fused steps)
    assert row["keras_rate"] == row["keras"][TRAINING_PATH] and row["training_path"] == "tf.data + XLA + 16 fused steps"
    assert row["torch"] is None and "ratio_vs_torch" not in row and "flops A" in "\n".join(lines)
    assert all(training_path(spec)["fused_steps"] == 16 for spec in NETWORKS.values())  # every question fuses


def test_step_matmuls_count_the_step_flops_and_are_timed_on_each_backend():
    from benchmarks.networks import NETWORKS, network_facts
    from benchmarks.timing import matmul_rates, step_matmuls

    for name in ("A", "B", "H"):  # the products listed are exactly the FLOPs the rates are computed from
        facts = network_facts(NETWORKS[name])
        widths = facts["dense_widths"]
        products = step_matmuls(widths, 128)
        flops = sum(2 * lhs[0] * lhs[1] * (rhs[0] if tb else rhs[1]) for lhs, rhs, _, tb in products)
        assert flops == 128 * facts["flops_per_image"]
        assert len(products) == 3 * (len(widths) - 1) - 1
    rates = matmul_rates((64, 32, 64), batch_size=16, loops=4, repeats=1)
    assert {"XLA", "TensorFlow oneDNN (graph)"} <= set(rates) and all(r > 0 for r in rates.values())


def _train_small(x, minibatch_size, batch_size, jit_compile, epochs=2):
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.losses import get_loss
    from keras_ae.models import build_dense_autoencoder

    keras.utils.set_random_seed(0)
    model = build_dense_autoencoder(784, (32, 8), (32,), init="glorot", minibatch_size=minibatch_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss("cross_entropy"),
                  metrics=[keras.metrics.MeanSquaredError(name="mse")], jit_compile=jit_compile)
    history = model.fit(make_dataset(x, batch_size=batch_size, seed=0), epochs=epochs, shuffle=False, verbose=0)
    return model, history.history


@pytest.mark.parametrize("batch_size, jit_compile", [(512, True), (128, True), (512, False)])
def test_fused_steps_make_the_same_updates_as_plain_fit(mnist_small, batch_size, jit_compile):
    """1,000 rows = 7 minibatches of 128 and one of 104: fused calls (batches of 512, or of 128
    where every call holds one minibatch) give plain fit's losses, metrics, step count and weights."""
    import numpy as np

    x = mnist_small[0][:1000]
    plain, h_plain = _train_small(x, None, 128, False)
    fused, h_fused = _train_small(x, 128, batch_size, jit_compile)
    assert int(fused.optimizer.iterations.numpy()) == int(plain.optimizer.iterations.numpy()) == 2 * 8
    assert h_fused["loss"] == pytest.approx(h_plain["loss"], rel=1e-5)
    assert h_fused["mse"] == pytest.approx(h_plain["mse"], rel=1e-5)
    assert h_fused["loss"][1] < h_fused["loss"][0]
    for a, b in zip(plain.get_weights(), fused.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5)


def test_fused_model_round_trips(mnist_small, tmp_path):
    import keras
    import numpy as np

    model, _ = _train_small(mnist_small[0][:256], 128, 256, True, epochs=1)
    path = tmp_path / "fused.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.minibatch_size == 128
    np.testing.assert_allclose(loaded.predict(mnist_small[2][:8], verbose=0),
                               model.predict(mnist_small[2][:8], verbose=0), atol=1e-6)


def test_make_dataset_order_does_not_depend_on_the_batch_size_and_pairs_stay_aligned():
    import numpy as np

    from keras_ae.data import make_dataset

    x = np.arange(50 * 3, dtype=np.float32).reshape(50, 3)
    y = np.arange(50)

    def epoch_order(ds):
        xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in ds])
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        np.testing.assert_array_equal(xs[:, 0] // 3, ys)  # each row with its own label
        return ys

    ds_small, ds_large = make_dataset(x, y, batch_size=4, seed=3), make_dataset(x, y, batch_size=16, seed=3)
    first, second = epoch_order(ds_small), epoch_order(ds_small)
    np.testing.assert_array_equal(first, epoch_order(ds_large))  # batches of 16 = four batches of 4
    assert sorted(first) == list(range(50)) and list(first) != list(second)  # a permutation, new each epoch
    inputs, targets = next(iter(make_dataset(x, batch_size=8, shuffle=False)))
    np.testing.assert_array_equal(inputs.numpy(), x[:8])
    np.testing.assert_array_equal(targets.numpy(), x[:8])
    # one private thread and no autotuner, so that the pipeline leaves the cores to the training step
    options = ds_small.options()
    assert options.autotune.enabled is False
    assert options.threading.private_threadpool_size == 1


# The custom train_steps (C's denoising, E's three phases, F's GAN, J's VAE) under a mirrored
# strategy. SGD, so that a gradient twice too large (each replica's batch mean differentiated as
# it is, then summed over the replicas by the optimizer) changes the trajectory (Adam would all
# but hide it); with momentum, so that the optimizers have variables, which must exist before the
# replicas' first step. keras.random.normal is replaced by a constant, because every replica draws
# its own noise and prior samples (ReplicaSeedGenerator) and no draw can match the one-device run's.
# F_goodfellow2014: F's preset networks (maxout D, uniform-init G) with its SGD (momentum schedule, decay).
CUSTOM_STEP_CASES = ("C", "E", "F", "F_goodfellow2014", "J")


@pytest.fixture(scope="module")
def custom_steps_one_vs_two_replicas(data_dir):
    out = run_python("""
import json, tensorflow as tf
import keras, numpy as np
from keras import ops
from keras_ae.data import load_dataset, flatten, to_unit
from keras_ae.models import GAN, build_adversarial_autoencoder, build_discriminator, build_generator
from keras_ae.models.distribute import ReplicaSeedGenerator
from keras_ae.models.variational import build_vae
from keras_ae.questions.common import distribution_strategy
from keras_ae.questions.question_c import build_model as build_c

# every replica draws different noise (checked here with the real keras.random.normal) ...
mirrored = distribution_strategy("mirrored")
with mirrored.scope():
    generator = ReplicaSeedGenerator(0)
draws = mirrored.experimental_local_results(tf.function(
    lambda: mirrored.run(lambda: keras.random.normal((4,), seed=generator)))())
noise_differs = not np.allclose(draws[0], draws[1])
# ... so the trajectories are compared with constant "noise" (the real one back afterwards: the
# worker process is shared with other tests)
real_normal = keras.random.normal
keras.random.normal = lambda shape, mean=0.0, stddev=1.0, dtype=None, seed=None: (
    ops.full(shape, 0.5 * stddev + mean, dtype=dtype))
x = flatten(to_unit(load_dataset("mnist", "train").images[:256]))
def sgd(learning_rate):
    return keras.optimizers.SGD(learning_rate, momentum=0.5)

def make(case):
    if case == "C":
        model = build_c((32, 8), (32,), noise_stddev=0.5, seed=0)
        model.compile(optimizer=sgd(0.05), loss="mse")
    elif case == "E":
        model = build_adversarial_autoencoder(784, 8, (32,), (16,), seed=0)
        model.compile(sgd(1e-3), sgd(0.05), sgd(0.05))
    elif case == "F":
        model = GAN(build_generator(8, (32,), output_dim=784, seed=0),
                    build_discriminator(784, (32,), dropout=0.0, seed=0), d_steps=1, seed=0)
        model.compile(d_optimizer=sgd(0.05), g_optimizer=sgd(0.05))
    elif case == "F_goodfellow2014":
        from keras_ae.models.gan import build_maxout_discriminator, build_uniform_generator
        from keras_ae.questions.question_f import make_optimizer
        model = GAN(build_uniform_generator(8, (32,), seed=0, output_bias=np.full(784, -2.0)),
                    build_maxout_discriminator(784, (16,), 3, input_dropout=0.0, dropout=0.0, init_range=0.05,
                                               seed=0), d_steps=1, seed=0, generator_loss="non_saturating")
        def preset_sgd(rate):  # momentum 0.5 in epoch 1, 0.7 from epoch 2 (2 steps per epoch), rate / 1.1 per step
            return make_optimizer("sgd", rate, momentum=0.5, final_momentum=0.7, momentum_saturate=2,
                                  decay_factor=1.1, min_learning_rate=1e-3, steps_per_epoch=2)
        model.compile(d_optimizer=preset_sgd(0.05), g_optimizer=preset_sgd(0.1))
    else:
        model = build_vae(784, (32,), latent_dim=2, seed=0)
        model.compile(optimizer=sgd(1e-3))
    return model

def train(case, name):
    strategy = distribution_strategy(name)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = make(case)
    h = model.fit(tf.data.Dataset.from_tensor_slices((x, x)).batch(64), epochs=2, shuffle=False, verbose=0)
    evaluation = model.evaluate(x, x, batch_size=64, verbose=0, return_dict=True)
    return {"replicas": strategy.num_replicas_in_sync, "history": h.history, "evaluation": evaluation,
            "weights": [float(np.abs(w).sum()) for w in model.get_weights()]}

try:
    result = {case: {"single": train(case, "none"), "mirrored": train(case, "mirrored")} for case in %r}
finally:
    keras.random.normal = real_normal
result["noise_differs"] = noise_differs
print(json.dumps(result))
""" % (CUSTOM_STEP_CASES,), process="two_cpus")
    return json.loads(out.strip().splitlines()[-1])


def test_replicas_draw_different_noise(custom_steps_one_vs_two_replicas):
    assert custom_steps_one_vs_two_replicas["noise_differs"]


@pytest.mark.parametrize("case", CUSTOM_STEP_CASES)
def test_custom_train_step_on_two_logical_cpus_matches_one_device(custom_steps_one_vs_two_replicas, case):
    single, mirrored = (custom_steps_one_vs_two_replicas[case][k] for k in ("single", "mirrored"))
    assert (single["replicas"], mirrored["replicas"]) == (1, 2)
    assert set(mirrored["history"]) == set(single["history"])
    for name, values in single["history"].items():  # logged losses: undivided, same trajectory
        assert mirrored["history"][name] == pytest.approx(values, rel=1e-4, abs=1e-5), name
    assert mirrored["evaluation"] == pytest.approx(single["evaluation"], rel=1e-4, abs=1e-5)
    assert mirrored["weights"] == pytest.approx(single["weights"], rel=1e-4, abs=1e-4)
    assert any(values[0] != values[-1] for values in single["history"].values())  # it did train


def test_every_question_offering_strategy_builds_its_models_under_it(tmp_path, monkeypatch):
    """Each question either rejects --strategy or enters the named strategy's scope before it
    builds its first model (the spy stops the run there, so no training happens)."""
    import importlib

    from keras_ae.questions import QUESTIONS, common

    class Reached(Exception):
        pass

    asked = []

    def spy(name="none"):
        asked.append(name)
        raise Reached

    modules = [importlib.import_module(m) for m in QUESTIONS.values()]
    for module in [common, importlib.import_module("keras_ae.questions.question_bc"), *modules]:
        if hasattr(module, "distribution_strategy"):
            monkeypatch.setattr(module, "distribution_strategy", spy)
    for qid, module in zip(QUESTIONS, modules):
        parser = module.QUESTION.build_parser()
        argv = [*module.QUESTION.quick_args, "--output-dir", str(tmp_path / qid), "--no-export", "--verbose", "0",
                "--strategy", "mirrored"]
        if not any("--strategy" in a.option_strings for a in parser._actions):
            with pytest.raises(SystemExit):
                parser.parse_args(argv)
            continue
        asked.clear()
        try:
            module.QUESTION.run(parser.parse_args(argv))
        except Reached:
            assert asked == ["mirrored"], qid
        else:
            pytest.fail(f"question {qid} offers --strategy but trained without entering the strategy's scope")
