"""Timing: the machine's matmul peak, the step's matrix products alone, epochs of keras_ae's
training path (and of the Keras configurations of :data:`KERAS_CONFIGS`) and of the PyTorch loop."""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from benchmarks.networks import NetworkSpec, epoch_images
from benchmarks.torch_networks import require_torch


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def median_rate(epoch_seconds: list[float], images: int) -> float:
    return images / statistics.median(epoch_seconds)


def best_seconds(run, repeats: int) -> float:
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
    best = min(best_seconds(lambda: matmul(a, b).numpy(), repeats)
               for matmul in (tf.linalg.matmul, tf.function(tf.linalg.matmul, jit_compile=True)))
    return 2 * n**3 / best / 1e9


def step_matmuls(widths, batch_size: int) -> list[tuple[tuple[int, int], tuple[int, int], bool, bool]]:
    """The matrix products of one training step of a chain of Dense layers of ``widths``: per
    layer ``a -> b`` the forward product (batch x a)(a x b), the weight gradient (a x batch)(batch x b)
    and, for every layer but the first, the input gradient (batch x b)(b x a). Each item: (lhs
    shape, rhs shape, transpose_a, transpose_b) as the backward pass computes them (x^T g and g W^T)."""
    products = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        products.append(((batch_size, a), (a, b), False, False))
        products.append(((batch_size, a), (batch_size, b), True, False))
        if i:
            products.append(((batch_size, b), (a, b), False, True))
    return products


def matmul_rates(widths, batch_size: int = 128, loops: int = 64, repeats: int = 5) -> dict:
    """GFLOP/s of the step's matrix products alone (no activations, no optimizer), each backend
    running all of them ``loops`` times: XLA (what keras_ae's compiled step uses), TensorFlow's
    own kernels (oneDNN) in graph mode, and PyTorch (MKL) when it is installed. This separates
    the matrix-product speed of a backend at these small shapes from everything else."""
    import tensorflow as tf

    products = step_matmuls(widths, batch_size)
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

        rates[name] = flops / best_seconds(lambda: all_products().numpy(), repeats) / 1e9
    try:
        import torch
    except ImportError:
        return rates
    pairs = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in operands]

    def torch_products():
        for _ in range(loops):
            for (a, b), (_, _, ta, tb) in zip(pairs, products):
                (a.t() if ta else a) @ (b.t() if tb else b)

    rates["PyTorch (MKL)"] = flops / best_seconds(torch_products, repeats) / 1e9
    return rates


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


TRAINING_PATH = "training path"
REFERENCE_CONFIG = "ceiling: XLA + 64 fused steps, no input pipeline"
# Extra Keras configurations, one change at a time (``--configs``).
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


def training_path(spec: NetworkSpec) -> dict:
    """keras_ae's training path, what the question uses: ``tf.data``, its ``--xla`` and
    ``--fused-steps`` defaults."""
    args = spec.defaults()
    return dict(pipeline="tf.data", jit_compile=bool(args.xla), fused_steps=int(args.fused_steps))


def describe(config: dict) -> str:
    text = {"numpy": "numpy fit", "tf.data": "tf.data", "blocks": "pre-cut batches"}[config["pipeline"]]
    if config.get("jit_compile"):
        text += " + XLA"
    if config.get("steps_per_execution", 1) > 1:
        text += f" + steps/exec {config['steps_per_execution']}"
    if config.get("fused_steps", 1) > 1:
        text += f" + {config['fused_steps']} fused steps"
    return text


def fit_dataset(x: np.ndarray, rows: int, fused_steps: int = 1, drop_remainder: bool = False, seed: int = 0):
    """What ``fit`` is fed: the shuffled in-memory pipeline in batches of ``rows`` (one training
    step's rows), or, with fused steps, ``fused_steps`` such batches together, which the model
    (built with ``minibatch_size=rows``) cuts into its steps. The one place that knows how fused
    batches are made."""
    from keras_ae.data import make_dataset

    return make_dataset(x, batch_size=rows, seed=seed, drop_remainder=drop_remainder, steps_per_batch=fused_steps)


def keras_epoch_seconds(spec: NetworkSpec, args, x: np.ndarray, epochs: int, pipeline: str = "tf.data",
                        jit_compile: bool = True, steps_per_execution: int = 1, fused_steps: int = 1,
                        seed: int = 0) -> list[float]:
    """Seconds of each of ``epochs`` epochs of the question's model after a first one (warm-up,
    tracing, compilation). ``pipeline``: ``"tf.data"`` (:func:`fit_dataset`), ``"numpy"`` (``fit``
    on arrays) or ``"blocks"`` (the compiled ``train_step`` called on batches cut in advance).
    ``jit_compile`` and ``steps_per_execution`` are Keras' own options, set on the model the
    question compiled (Keras reads them when it makes the train function, at the first ``fit``)."""
    import keras

    keras.utils.set_random_seed(seed)
    rows = spec.rows_per_step(args)
    model = spec.keras_model(args, rows if fused_steps > 1 else None)
    model.jit_compile = jit_compile
    model.steps_per_execution = steps_per_execution
    x = x[: epoch_images(spec, args, len(x))]
    if pipeline == "blocks":
        import tensorflow as tf

        block = rows * fused_steps
        blocks = [tf.constant(x[i : i + block]) for i in range(0, len(x), block)]
        step = tf.function(model.train_step, jit_compile=jit_compile)
        seconds = []
        for _ in range(epochs + 1):
            start = time.perf_counter()
            for b in blocks:
                logs = step(b)
            float(next(iter(logs.values())))  # wait for the last step
            seconds.append(time.perf_counter() - start)
        return seconds[1:]
    timer = _EpochTimer().callback
    if pipeline == "numpy":
        model.fit(x, x, batch_size=rows * fused_steps, epochs=epochs + 1, verbose=0, callbacks=[timer])
    else:
        model.fit(fit_dataset(x, rows, fused_steps, spec.drop_remainder, seed), epochs=epochs + 1, verbose=0,
                  shuffle=False, callbacks=[timer])
    return timer.seconds[1:]


def torch_epoch_seconds(spec: NetworkSpec, args, x: np.ndarray, epochs: int, seed: int = 0,
                        threads: int | None = None) -> list[float]:
    """Seconds of each of ``epochs`` epochs of the same network and step in a plain PyTorch loop,
    after a first one: the images in memory, a shuffled index per epoch, one step per batch of
    ``rows_per_step`` rows, ``threads`` threads (default: the machine's cores)."""
    torch = require_torch()
    torch.set_num_threads(threads or cpu_cores())
    torch.manual_seed(seed)
    net = spec.torch_model(args)
    x = x[: epoch_images(spec, args, len(x))]
    data = torch.from_numpy(np.ascontiguousarray(net.layout(x) if net.layout else x, dtype=np.float32))
    rows = spec.rows_per_step(args)
    seconds = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(data))
        for i in range(0, len(data), rows):
            net.step(data[order[i : i + rows]])
        seconds.append(time.perf_counter() - start)
    return seconds[1:]
