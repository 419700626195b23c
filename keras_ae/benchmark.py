"""Training-throughput benchmark: keras_ae's training path against a plain PyTorch loop.

For question A's network (784-256-128-256-784, sigmoid) and question B's network
(784-128-64-32-16-8 / 8-8-32-64-128-784, ReLU + tanh), MSE loss, Adam, batch 128, on the 60,000
training images held in memory, it measures steady-state images per second (epochs after a
warm-up epoch, several repeats, median) of

- keras_ae's training path, one change at a time, on the questions' own models (question A's
  ``build_model``, question B's ``build_model``): ``fit`` on numpy arrays (plain Keras), on the
  in-memory ``tf.data`` pipeline (``make_dataset``), plus XLA (``jit_compile=True``), plus
  Keras' ``steps_per_execution``, and the path the questions use: XLA with several Adam steps
  fused into one compiled call (``Autoencoder(minibatch_size=...)`` fed batches of
  ``k * batch_size``);
- a reference ceiling, not counted as a training path: the same compiled fused step called on
  batches cut once in advance (no per-epoch shuffle, no ``tf.data``, no ``fit`` loop);
- a plain PyTorch loop over the identical network (``pip install -e ".[bench]"``),

in one process, one after the other, and prints the ratio. It also counts the multiply-adds of
a training step (forward and backward) and sets the achieved FLOP rate against the machine's
attainable float32 peak, measured in the same run as a large matrix multiply, and times the
step's matrix products alone in XLA, in TensorFlow's oneDNN kernels and in PyTorch, which shows
how much of the gap to the peak the matrix products themselves leave at these small shapes.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Network:
    name: str
    layers: tuple[int, ...]  # widths from input to output
    activations: tuple[str, ...]  # one per layer after the input

    @property
    def macs_forward(self) -> int:
        """Multiply-adds of one forward pass of one image."""
        return sum(a * b for a, b in zip(self.layers[:-1], self.layers[1:]))

    @property
    def flops_per_image(self) -> int:
        """FLOPs of one training step per image: forward, weight gradients, input gradients
        (none for the first layer's input), 2 FLOPs per multiply-add. Element-wise work and the
        optimiser update are left out (they are O(width), not O(width^2))."""
        first = self.layers[0] * self.layers[1]
        return 2 * (3 * self.macs_forward - first)


NETWORKS = {
    "A": Network("A", (784, 256, 128, 256, 784), ("sigmoid",) * 4),
    "B": Network("B", (784, 128, 64, 32, 16, 8, 8, 32, 64, 128, 784),
                 ("relu",) * 9 + ("tanh",)),
}


def _median_rate(epoch_seconds: list[float], images: int) -> float:
    return images / statistics.median(epoch_seconds)


def _best_seconds(run, repeats: int) -> float:
    """The shortest of ``repeats`` timed calls of ``run``, after one untimed call (warm-up,
    tracing, compilation)."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def matmul_peak_gflops(n: int = 4096, repeats: int = 5) -> float:
    """Attainable float32 rate (GFLOP/s) of an n x n matrix multiply in TensorFlow: the best of
    ``repeats`` timed runs each of TensorFlow's own kernel (oneDNN) and of XLA's."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    best = min(_best_seconds(lambda: matmul(a, b).numpy(), repeats)
               for matmul in (tf.linalg.matmul, tf.function(tf.linalg.matmul, jit_compile=True)))
    return 2 * n**3 / best / 1e9


def step_matmuls(net: Network, batch_size: int) -> list[tuple[tuple[int, int], tuple[int, int], bool, bool]]:
    """The matrix products of one training step: per layer ``a -> b`` the forward product
    (batch x a)(a x b), the weight gradient (a x batch)(batch x b) and, for every layer but the
    first, the input gradient (batch x b)(b x a). Each item: (lhs shape, rhs shape, transpose_a,
    transpose_b) as the backward pass computes them (x^T g and g W^T)."""
    products = []
    for i, (a, b) in enumerate(zip(net.layers[:-1], net.layers[1:])):
        products.append(((batch_size, a), (a, b), False, False))
        products.append(((batch_size, a), (batch_size, b), True, False))
        if i:
            products.append(((batch_size, b), (a, b), False, True))
    return products


def matmul_rates(net: Network, batch_size: int = 128, loops: int = 64, repeats: int = 5) -> dict:
    """GFLOP/s of the step's matrix products alone (no activations, no optimizer), each backend
    running all of them ``loops`` times: XLA (what keras_ae's compiled step uses), TensorFlow's
    own kernels (oneDNN) in graph mode, and PyTorch (MKL) when it is installed. This separates
    the matrix-product speed of a backend at these small shapes from everything else."""
    import tensorflow as tf

    products = step_matmuls(net, batch_size)
    flops = loops * sum(2 * lhs[0] * lhs[1] * (rhs[0] if tb else rhs[1]) for lhs, rhs, _, tb in products)
    rng = np.random.default_rng(0)
    operands = [(rng.random(lhs, dtype=np.float32), rng.random(rhs, dtype=np.float32)) for lhs, rhs, _, _ in products]
    rates = {}
    # the left operands come in 4 versions, one per loop index mod 4, so that no product is
    # loop-invariant (a compiler would hoist it out of the loop); every output is summed
    variants = 4
    tensors = [(tf.constant(np.stack([np.roll(a, k, axis=0) for k in range(variants)])), tf.constant(b))
               for a, b in operands]
    for name, jit in (("XLA", True), ("TensorFlow oneDNN (graph)", False)):
        @tf.function(jit_compile=jit)
        def all_products():
            def body(i, total):
                for (a, b), (_, _, ta, tb) in zip(tensors, products):
                    total += tf.reduce_sum(tf.matmul(a[i % variants], b, transpose_a=ta, transpose_b=tb))
                return i + 1, total
            return tf.while_loop(lambda i, total: i < loops, body, (tf.constant(0), tf.constant(0.0)))[1]

        rates[name] = flops / _best_seconds(lambda: all_products().numpy(), repeats) / 1e9
    try:
        import torch
    except ImportError:
        return rates
    pairs = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in operands]

    def torch_products():
        for _ in range(loops):
            for (a, b), (_, _, ta, tb) in zip(pairs, products):
                (a.t() if ta else a) @ (b.t() if tb else b)

    rates["PyTorch (MKL)"] = flops / _best_seconds(torch_products, repeats) / 1e9
    return rates


def build_keras(net: Network, minibatch_size: int | None = None):
    """The question's own model: question A's MSE/Xavier network, question B's sheet network."""
    if net.name == "A":
        from keras_ae.questions.question_a import VARIANTS, build_model

        return build_model(VARIANTS["mse_glorot"], minibatch_size=minibatch_size)
    from keras_ae.questions.question_bc import build_model

    return build_model("B", minibatch_size=minibatch_size)


class _EpochTimer:
    def __init__(self):
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._t)

        self.callback = Timer()


REFERENCE_CONFIG = "ceiling: XLA + 64 fused steps, no input pipeline"
KERAS_CONFIGS = {
    "numpy fit": dict(pipeline="numpy", jit_compile=False),
    "tf.data": dict(pipeline="tf.data", jit_compile=False),
    "tf.data + XLA": dict(pipeline="tf.data", jit_compile=True),
    "tf.data + XLA + steps/exec 32": dict(pipeline="tf.data", jit_compile=True, steps_per_execution=32),
    "tf.data + XLA + 16 fused steps": dict(pipeline="tf.data", jit_compile=True, fused_steps=16),
    "tf.data + XLA + 64 fused steps": dict(pipeline="tf.data", jit_compile=True, fused_steps=64),
    # a reference, not a training path: the same compiled step fed batches cut once, in advance
    # (no per-epoch shuffle, no tf.data, no fit loop); what the model's step costs on its own
    REFERENCE_CONFIG: dict(pipeline="blocks", jit_compile=True, fused_steps=64),
}


def keras_epoch_seconds(net: Network, x: np.ndarray, batch_size: int, epochs: int, pipeline: str,
                        jit_compile: bool, steps_per_execution: int = 1, fused_steps: int = 1,
                        seed: int = 0) -> list[float]:
    """Seconds of each epoch after the first (warm-up, tracing, compilation).

    ``fused_steps`` > 1 is keras_ae's fused path: the model makes one Adam step per
    ``batch_size`` rows, ``fused_steps`` of them per call (see ``Autoencoder.minibatch_size``).
    """
    import keras

    from keras_ae.data import make_dataset

    keras.utils.set_random_seed(seed)
    model = build_keras(net, minibatch_size=batch_size if fused_steps > 1 else None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit_compile,
                  steps_per_execution=steps_per_execution)
    if pipeline == "blocks":
        import tensorflow as tf

        rows = batch_size * fused_steps
        blocks = [tf.constant(x[i : i + rows]) for i in range(0, len(x), rows)]
        step = tf.function(model.train_step, jit_compile=jit_compile)
        seconds = []
        for _ in range(epochs + 1):
            start = time.perf_counter()
            for block in blocks:
                logs = step(block)
            float(logs["loss"])  # wait for the last step
            seconds.append(time.perf_counter() - start)
        return seconds[1:]
    timer = _EpochTimer().callback
    if pipeline == "numpy":
        model.fit(x, x, batch_size=batch_size, epochs=epochs + 1, verbose=0, callbacks=[timer])
    else:
        model.fit(make_dataset(x, batch_size=batch_size * fused_steps, seed=seed), epochs=epochs + 1, verbose=0,
                  shuffle=False, callbacks=[timer])
    return timer.seconds[1:]


def torch_epoch_seconds(net: Network, x: np.ndarray, batch_size: int, epochs: int, seed: int = 0) -> list[float]:
    """The same network and data in a plain PyTorch loop (shuffled mini-batches, Adam, MSE)."""
    try:
        import torch
    except ImportError as exc:
        raise RuntimeError('PyTorch is not installed: pip install -e ".[bench]" (torch==2.13.0 CPU)') from exc

    torch.manual_seed(seed)
    acts = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
    layers = []
    for a, b, act in zip(net.layers[:-1], net.layers[1:], net.activations):
        layers += [torch.nn.Linear(a, b), acts[act]()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()
    data = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    seconds = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(data))
        for i in range(0, len(data), batch_size):
            batch = data[order[i : i + batch_size]]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch), batch)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    return seconds[1:]


def run_benchmark(networks=("A", "B"), epochs: int = 3, batch_size: int = 128, configs=None,
                  torch_baseline: bool = True, train_limit: int | None = None, data_dir=None,
                  peak: bool = True, matmuls: bool = True, log=print) -> dict:
    """Measure everything; return a dict of results (also printed line by line through ``log``)."""
    from keras_ae.data import flatten, load_dataset, to_signed, to_unit

    configs = list(configs or KERAS_CONFIGS)
    results = {"peak_gflops": None, "networks": {}}
    if peak:
        results["peak_gflops"] = matmul_peak_gflops()
        log(f"attainable float32 peak (4096x4096 matmul): {results['peak_gflops']:.1f} GFLOP/s")
    for name in networks:
        net = NETWORKS[name]
        dataset = "mnist" if name == "A" else "fashion_mnist"
        images = load_dataset(dataset, "train", data_dir).images[:train_limit]
        x = flatten(to_unit(images) if name == "A" else to_signed(images))
        row = {"flops_per_image": net.flops_per_image, "keras": {}, "torch": None}
        if matmuls:
            row["matmul_gflops"] = matmul_rates(net, batch_size)
            log(f"network {name}: the step's {len(step_matmuls(net, batch_size))} matrix products alone: "
                + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in row["matmul_gflops"].items()))
        for config in configs:
            secs = keras_epoch_seconds(net, x, batch_size, epochs, **KERAS_CONFIGS[config])
            row["keras"][config] = _median_rate(secs, len(x))
            log(f"network {name}: keras_ae [{config}]: {row['keras'][config]:,.0f} images/s "
                f"({net.flops_per_image * row['keras'][config] / 1e9:.1f} GFLOP/s; epochs {', '.join(f'{s:.2f}' for s in secs)} s)")
        if torch_baseline:
            secs = torch_epoch_seconds(net, x, batch_size, epochs)
            row["torch"] = _median_rate(secs, len(x))
            log(f"network {name}: PyTorch loop: {row['torch']:,.0f} images/s "
                f"({net.flops_per_image * row['torch'] / 1e9:.1f} GFLOP/s; epochs {', '.join(f'{s:.2f}' for s in secs)} s)")
        # the ceiling is not a training path; it is the best only when it was all that ran
        paths = {k: v for k, v in row["keras"].items() if k != REFERENCE_CONFIG} or row["keras"]
        best = max(paths, key=paths.get)
        row["best_config"], row["best_rate"] = best, row["keras"][best]
        achieved = net.flops_per_image * row["best_rate"] / 1e9
        summary = f"network {name}: best keras_ae path [{best}] {row['best_rate']:,.0f} images/s, {achieved:.1f} GFLOP/s"
        if results["peak_gflops"]:
            row["fraction_of_peak"] = achieved / results["peak_gflops"]
            summary += f" = {100 * row['fraction_of_peak']:.0f}% of peak"
        if row["torch"]:
            row["ratio_vs_torch"] = row["best_rate"] / row["torch"]
            summary += f"; {row['ratio_vs_torch']:.2f}x the PyTorch loop"
        log(summary)
        results["networks"][name] = row
    return results
