"""What every question's script shares: command-line options, seeding, training, export."""

from __future__ import annotations

import argparse
import math
import os
import time

DEFAULT_OUTPUT_ROOT = "results"
DEFAULT_SAVED_MODELS = "saved_models"

# ---------------------------------------------------------------- option values checked at parse time
# ``type=`` validators for argparse: a bad value is refused before anything runs, with a message
# that argparse prefixes with the option's name ("argument --epochs: must be at least 1, got 0").

MAX_SEED = 2**31 - 1 - 100_000  # numpy's seeds stop at 2**32 - 1; runs add offsets of up to 100,000


def _parse(text: str, kind: type):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_at_least(low: int, high: int | None = None):
    """A validator of integers in ``low..high`` (``high`` None: no upper bound)."""
    def check(text: str) -> int:
        value = _parse(text, int)
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"must be at least {low}, got {value}" if high is None else
                f"must be an integer in {low}..{high}, got {value}")
        return value
    return check


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)
seed_int = int_at_least(0, MAX_SEED)


def positive_float(text: str) -> float:
    value = _parse(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value:g}")
    return value


def nonnegative_float(text: str) -> float:
    value = _parse(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def fraction_below_one(text: str) -> float:
    """A number in [0, 1): a dropout rate, Adam's beta_1."""
    value = _parse(text, float)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {value:g}")
    return value


def activation_name(text: str) -> str:
    """The name of a Keras activation function (``relu``, ``tanh``, ``sigmoid``, ``linear``, ...)."""
    import keras

    try:
        keras.activations.get(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown Keras activation {text!r} (e.g. relu, tanh, sigmoid, linear, "
                                         "elu, gelu)") from None
    return text


class QuestionParser(argparse.ArgumentParser):
    """The parser of every question: a bad option ends in ONE line ``prog: error: message`` on
    stderr and exit code 2 (no usage block; ``--help`` shows the usage)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {' '.join(str(message).split())}\n")

    def parse_known_args(self, args=None, namespace=None):
        """With ``--preset NAME`` (:func:`add_preset_argument`) on the command line, the preset's
        values become the defaults first, so options given explicitly still win over them."""
        presets = getattr(self, "presets", None)
        if presets:
            import sys

            argv = list(sys.argv[1:] if args is None else args)
            name = _option_value(argv, "--preset")
            self.set_defaults(**_preset_defaults(self, presets, name))
            args = argv
        return super().parse_known_args(args, namespace)


def _option_value(argv: list[str], option: str):
    """The last value given to ``option`` in ``argv`` (``--opt v`` or ``--opt=v``), or None."""
    value = None
    for i, token in enumerate(argv):
        if token == "--":
            break
        if token == option and i + 1 < len(argv):
            value = argv[i + 1]
        elif token.startswith(option + "="):
            value = token.split("=", 1)[1]
    return value


def _preset_defaults(parser: argparse.ArgumentParser, presets: dict, name) -> dict:
    """The defaults of preset ``name`` (none for an unknown name: the parser's choices refuse it)."""
    # restore every default a preset may have changed, so one parser parses several command lines alike
    if parser.preset_base_defaults is None:  # the defaults before any preset (add_preset_argument)
        parser.preset_base_defaults = {key: parser.get_default(key) for values in presets.values() for key in values}
    values = dict(parser.preset_base_defaults)
    if name in presets:
        values.update(presets[name])
    return values


def add_preset_argument(parser: QuestionParser, presets: dict[str, dict], help: str) -> QuestionParser:
    """``--preset NAME``: a named configuration (a paper's set-up) that sets the defaults of other
    options; any option given on the command line overrides it. ``presets`` maps each name to
    ``{dest: value}`` of the parser's options (``output_dir`` included, so a preset writes to its own
    folder). Call it after every option a preset sets is added. ``args.preset`` is the chosen name,
    None without one."""
    options = vars(parser.parse_known_args([])[0])  # every option's dest (presets not set yet: plain defaults)
    unknown = sorted({key for values in presets.values() for key in values} - set(options))
    if unknown:
        raise ValueError(f"preset values for unknown options: {', '.join(unknown)}")
    parser.presets = dict(presets)
    parser.preset_base_defaults = None  # filled at the first parse (_preset_defaults)
    parser.add_argument("--preset", default=None, choices=sorted(presets), help=help)
    return parser


def add_common_arguments(parser: argparse.ArgumentParser, question: str, epochs: int, batch_size: int,
                         learning_rate: float) -> argparse.ArgumentParser:
    g = parser.add_argument_group("common options")
    g.add_argument("--data-dir", default=None,
                   help="folder with a sub-folder of IDX files per data set (mnist/, fashion_mnist/), or a "
                        "folder named after the one data set it holds (default: $KERAS_AE_DATA_DIR, else "
                        "tensorflow-datasets)")
    g.add_argument("--output-dir", default=os.path.join(DEFAULT_OUTPUT_ROOT, question),
                   help="where figures, tables and logs go (default: %(default)s)")
    g.add_argument("--saved-models-dir", default=DEFAULT_SAVED_MODELS,
                   help="where SavedModels go (default: %(default)s)")
    g.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    g.add_argument("--epochs", type=positive_int, default=epochs,
                   help="passes over the training set (default: %(default)s)")
    g.add_argument("--batch-size", type=positive_int, default=batch_size, help="default: %(default)s")
    g.add_argument("--learning-rate", type=positive_float, default=learning_rate, help="default: %(default)s")
    g.add_argument("--seed", type=seed_int, default=0, help="random seed of the whole run (default: %(default)s)")
    g.add_argument("--train-limit", type=positive_int, default=None, help="use only the first N training images")
    g.add_argument("--test-limit", type=positive_int, default=None, help="use only the first N test images")
    g.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    g.add_argument("--strategy", default="none", choices=STRATEGIES,
                   help="none: one device; mirrored: tf.distribute.MirroredStrategy over every GPU of this "
                        "machine (or every logical CPU device); multiworker: MultiWorkerMirroredStrategy, "
                        "machines listed in $TF_CONFIG (default: %(default)s)")
    g.add_argument("--verbose", type=int, default=None, choices=(0, 1, 2),
                   help="Keras verbosity: 0 silent, 1 progress bar, 2 a line per epoch (default: auto); "
                        "TensorFlow's own start-up log lines show only with KERAS_AE_VERBOSE=1")
    return parser


def add_backup_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--no-backup``, for the questions whose long fits keep a per-epoch backup
    (:class:`keras_ae.callbacks.TrainingBackup`: D, E, F, H, I's pretraining, J)."""
    parser.add_argument("--no-backup", action="store_true",
                        help="keep no backup of the training state, and resume from none. Without it the long fit "
                             "keeps one after every epoch in a backup/ folder under --output-dir, deleted when the "
                             "fit completes: a run killed in the middle and started again with the same options "
                             "resumes after its last finished epoch and ends with the weights of an uninterrupted run")
    return parser


def add_parzen_every_arguments(group, samples: int, points: int, every_help: str, points_help: str):
    """``--parzen-every`` (0: off), ``--parzen-every-samples``, ``--parzen-every-points``: the
    held-out Parzen log-likelihood during training of the generative questions (E, F), scored by
    :class:`keras_ae.callbacks.BestValidationScore` with
    :func:`keras_ae.generative_metrics.parzen_score` on held-out *training* images."""
    group.add_argument("--parzen-every", type=nonnegative_int, default=0,
                       help=f"every N epochs (and after the last), {every_help} (default: 0, off)")
    group.add_argument("--parzen-every-samples", type=positive_int, default=samples,
                       help="generated samples of each score, from the same noise every time (default: %(default)s)")
    group.add_argument("--parzen-every-points", type=positive_int, default=points,
                       help=f"{points_help} (default: %(default)s)")
    return group


DEFAULT_FUSED_STEPS = 16
EVALUATION_BATCH_SIZE = 1000  # rows per batch when evaluating or predicting: no optimizer step to follow


def add_speed_arguments(parser: argparse.ArgumentParser, xla: bool = True) -> argparse.ArgumentParser:
    """Options of keras_ae's fast training path (:mod:`keras_ae.models.fused`): several optimizer
    steps per compiled call, compiled with XLA unless the question's default (``xla``) or the
    user says otherwise. The minibatches, their order and the updates are those of one step per
    ``--batch-size`` images either way."""
    g = parser.add_argument_group("speed (the same minibatches and updates either way)")
    g.add_argument("--fused-steps", type=positive_int, default=DEFAULT_FUSED_STEPS,
                   help="training steps of --batch-size images fused into one compiled call; 1 gives Keras' plain "
                        "step per batch; ignored under --strategy mirrored/multiworker (default: %(default)s)")
    g.add_argument("--xla", action=argparse.BooleanOptionalAction, default=xla,
                   help="compile the training step with XLA; --no-xla uses TensorFlow's own (oneDNN) kernels "
                        "(default: %(default)s)")
    return parser


def fused_minibatch_size(args: argparse.Namespace) -> int | None:
    """``minibatch_size`` for the model: the batch size when steps are fused, else None."""
    fused = getattr(args, "fused_steps", 1) > 1 and getattr(args, "strategy", "none") in (None, "none")
    return args.batch_size if fused else None


def steps_per_call(args: argparse.Namespace) -> int:
    """``steps_per_batch`` for :func:`keras_ae.data.make_dataset`: minibatches per ``fit`` batch."""
    return args.fused_steps if fused_minibatch_size(args) else 1


def probe_pass(args: argparse.Namespace) -> bool:
    """``probe_pass`` for :func:`keras_ae.data.make_dataset`: whether ``fit`` runs under a
    ``tf.distribute`` strategy, where Keras reads one batch of a first pass before training."""
    return getattr(args, "strategy", "none") not in (None, "none")


def data_options(args: argparse.Namespace, first_epoch: int = 0, seed: int | None = None) -> dict:
    """The :func:`keras_ae.data.make_dataset` options of a question's training data: its seed
    (``args.seed`` unless given), the fused steps per ``fit`` batch, the epoch it starts at (a
    resumed fit's) and the strategy's probe pass."""
    return {"seed": args.seed if seed is None else seed, "steps_per_batch": steps_per_call(args),
            "first_epoch": first_epoch,
            "probe_pass": probe_pass(args)}


def jit_compile(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "xla", False))


STRATEGIES = ("none", "mirrored", "multiworker")


def distribution_strategy(name: str = "none"):
    """A ``tf.distribute`` strategy by name; build and compile models inside its ``scope()``.

    ``mirrored`` replicates the model on every GPU (or, with no GPU, on every logical CPU
    device, which is how the tests check it) and splits each global batch between them.
    ``multiworker`` spans several machines described by the ``TF_CONFIG`` environment variable.

    One strategy per name and process: every model of a run (question A's variants, question I's
    classifiers) shares it. Two ``MirroredStrategy`` objects in one process hand out the same
    collective-op keys, and the second one's all-reduce then fails with "Shape mismatch in the
    collective instance" as soon as its model's gradients have another size.
    """
    import tensorflow as tf

    if name in (None, "none"):
        return tf.distribute.get_strategy()
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name not in _STRATEGIES:
        if name == "mirrored":
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _STRATEGIES[name] = tf.distribute.MirroredStrategy([d.name for d in devices])
        else:
            _STRATEGIES[name] = _multiworker_strategy_class()()
    return _STRATEGIES[name]


_STRATEGIES: dict = {}


def _multiworker_strategy_class():
    """``tf.distribute.MultiWorkerMirroredStrategy`` with a ``reduce`` that Keras' ``fit`` can use.

    Keras 3.15's ``fit`` (TensorFlow backend) fails across several workers in two places
    (tensorflow/tensorflow#72388), both fixed by this ``reduce``:

    - before the first epoch it reduces its first ``(x, y)`` batch with one
      ``strategy.reduce("MEAN", (x, y), axis=None)``: ``MirroredStrategy`` maps a reduction over
      such a structure, ``MultiWorkerMirroredStrategy`` tries to make it one tensor ("Attempt to
      convert a value (PerReplica: ...) with an unsupported type"). Here each value is reduced on
      its own.
    - after every step it reduces each logged metric (a scalar per replica) with
      ``strategy.reduce("MEAN", value, axis=0)``, and a scalar has no axis 0 ("Invalid reduction
      dimension 0 for input with 0 dimensions"). Here a scalar is averaged over the replicas, as
      Keras does under ``MirroredStrategy``.
    """
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            reduce_one = super().reduce

            def reduce_value(v):
                scalar = all(tf.TensorShape(t.shape).rank == 0 for t in self.experimental_local_results(v))
                return reduce_one(reduce_op, v, None if scalar else axis)

            return tf.nest.map_structure(reduce_value, value)

    return MultiWorkerMirroredStrategy


def question_main(build_parser, run, argv=None) -> int:
    """Parse, validate and run a question; keras_ae's errors end in one line and exit code 2.

    Every question module's ``main`` is ``question_main(build_parser, run, argv)``; its
    ``build_parser`` makes a :class:`QuestionParser` whose options carry the validators above, so
    a value out of range exits (code 2) before anything is read or written. Errors that depend on
    several options or on the data are :class:`~keras_ae.errors.ConfigError` (or another
    :class:`~keras_ae.errors.KerasAEError`) raised by ``run`` before it writes anything.
    """
    import sys

    from keras_ae._quiet import quiet_tensorflow
    from keras_ae.errors import KerasAEError

    with quiet_tensorflow():  # a command: TensorFlow's start-up lines hidden (keras_ae/_quiet.py)
        parser = build_parser()
        args = parser.parse_args(argv)  # a bad option value: one line and SystemExit(2) (QuestionParser)
        try:
            run(args)
        except KerasAEError as exc:  # ConfigError, DataError, ...: values that pass the parser but cannot work
            print(f"{parser.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
    return 0


def verbosity(args: argparse.Namespace):
    return "auto" if args.verbose is None else args.verbose


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and the backend; ops stay deterministic where TensorFlow allows it."""
    import keras

    keras.utils.set_random_seed(seed)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``. Around a ``fit`` with a per-epoch backup, pass
    its callbacks, ``Timer(callbacks)``: after a resume, ``seconds`` also counts the training time
    of the earlier, interrupted attempts up to the epoch it resumed from (``resumed``)."""

    def __init__(self, callbacks=()):
        self.callbacks, self.resumed = callbacks, 0.0

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        from keras_ae.callbacks import resumed_seconds

        self.resumed = resumed_seconds(self.callbacks) if self.callbacks else 0.0
        self.seconds = time.perf_counter() - self.start + self.resumed
        return False
