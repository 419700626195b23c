"""Training-throughput benchmark: keras_ae's training path against a plain PyTorch loop.

Not part of the installed package: run it from the repository root, ``python scripts/benchmark.py``
or ``python -m benchmarks`` (``--help`` for the options).

For every question's main network (:data:`benchmarks.networks.NETWORKS`: A, B, D, E, F, H and J)
it measures, in one process, one after the other, steady-state images per second (epochs after a
warm-up epoch, median) of

- **keras_ae's training path**, the model the question builds (the question's own builder,
  compile settings and defaults: batch size, optimizer, learning rate, loss, read from the
  question's own parser), compiled as the question compiles it (XLA unless the question's
  default is ``--no-xla``), fed by the in-memory ``tf.data`` pipeline
  (:func:`keras_ae.data.make_dataset`), with the question's ``--fused-steps`` training steps
  fused into one compiled call;
- the **identical network and step in a plain PyTorch loop** (``pip install -e ".[bench]"``): the
  same layers, activations, loss, optimizer and hyper-parameters, the same batch, the data in
  memory, a shuffled index per epoch, ``torch.set_num_threads`` at the machine's core count; for
  E the three phases (reconstruction, discriminator, generator), each with its own Adam; for F
  the k discriminator updates and the generator update;

and prints ``ratio <net> <keras_ae images/s / PyTorch images/s>`` per network. From an exact count
of a training step's multiply-adds (:mod:`benchmarks.flops`) it also prints the FLOP rate
keras_ae achieves, against the machine's attainable float32 peak measured in the same run as a
large matrix multiply.

Optional extras: Keras configurations one change at a time
(:data:`benchmarks.timing.KERAS_CONFIGS`: ``fit`` on numpy arrays, ``tf.data``, XLA,
``steps_per_execution``, fused steps, and a ceiling: the compiled step on batches cut in
advance), and, for the networks that are one chain of Dense layers (A, B, H), the step's matrix
products alone timed in XLA, TensorFlow's oneDNN kernels and PyTorch.

An "image" is one training image consumed: F's rate counts real images (k minibatches of m per
iteration), E's counts the images of its batches (each goes through all three phases).

Modules: :mod:`benchmarks.flops` (FLOP and parameter counting), :mod:`benchmarks.torch_networks`
(the networks and steps in PyTorch), :mod:`benchmarks.networks` (each network's two sides and its
data), :mod:`benchmarks.timing` (the peak, the matrix products, the epochs of both sides) and
:mod:`benchmarks.runner` (the whole benchmark, the targets, the command line).
"""
