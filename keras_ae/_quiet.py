"""Quiet by default: TensorFlow's start-up log lines are hidden unless asked for.

``import tensorflow`` prints absl/TensorFlow/CUDA lines on stderr ("WARNING: All log messages
before absl::InitializeLog() is called ...", "port.cc ... oneDNN custom operations are on",
"cudart_stub.cc ... Could not find cuda drivers", later "cpu_feature_guard" and "failed call to
cuInit: ... UNKNOWN ERROR (303)"). They look like errors and are none. The commands (``keras-ae``,
:func:`keras_ae.cli.main`, and every question's ``main``, :func:`keras_ae.questions.common.question_main`)
run inside :func:`quiet_tensorflow`, which puts a one-use finder on ``sys.meta_path``, taken
off again when the command ends; when such a command imports TensorFlow:

* ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 (set only where the user has not set it), which hides
  TensorFlow's own C++ log lines of every severity once absl logging is initialised.
* The lines printed while TensorFlow's shared libraries load come from C++ static initialisers
  *before* absl logging is initialised, and no environment variable reaches them (tried:
  ``TF_CPP_MIN_LOG_LEVEL``, ``TF_CPP_MAX_VLOG_LEVEL``, ``GLOG_minloglevel``,
  ``ABSL_MIN_LOG_LEVEL``). So, and only for the time of ``import tensorflow``, file descriptor 2
  is pointed at a temporary file; afterwards it is restored and whatever was captured is written
  back to stderr, less the absl log lines below the ``TF_CPP_MIN_LOG_LEVEL`` in force (and their
  continuation lines and absl's "before absl::InitializeLog()" banner). Anything else printed
  during the import, and everything if the import fails, reaches stderr unchanged.
* The Python loggers ``tensorflow`` and ``absl`` (``WARNING:tensorflow:...``, ``WARNING:absl:...``)
  show errors only.

Asking for the lines: ``KERAS_AE_VERBOSE=1`` turns all of this off (TensorFlow's defaults, every
line shown); a ``TF_CPP_MIN_LOG_LEVEL`` of the user's own is respected (``0`` shows the info lines,
``2`` errors only, as TensorFlow documents it). Nothing here hides devices: GPUs stay visible.
``import keras_ae`` by itself changes nothing: no finder, file descriptor 2 untouched, TensorFlow's
own logging as TensorFlow sets it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile

VERBOSE_ENV = "KERAS_AE_VERBOSE"
QUIET_LEVEL = "3"

# absl's log prefix: severity letter, MMDD, time, thread id, file:line]
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]*\] ")
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}


def verbose() -> bool:
    """True when the user asked for TensorFlow's log lines (``KERAS_AE_VERBOSE`` set, not 0/empty)."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _min_level() -> int:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def _continues(line: str) -> bool:
    """A line of a multi-line log message: indented, or cpu_feature_guard's second line."""
    return line[:1] in (" ", "\t") or line.startswith("To enable the following instructions")


def filter_log_text(text: str, min_level: int) -> str:
    """``text`` less the absl log lines of severity below ``min_level`` (I=0, W=1, E=2, F=3), the
    lines that continue them, and absl's pre-initialisation banner when ``min_level`` > 0; every
    other line is kept."""
    if min_level <= 0:
        return text
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        match = _ABSL_LINE.match(line)
        if match:
            dropping = _SEVERITY[match.group(1)] < min_level
        elif line.rstrip("\n") == _ABSL_BANNER:
            dropping = True
        elif not (dropping and _continues(line)):
            dropping = False  # someone else's line: kept
        if not dropping:
            kept.append(line)
    return "".join(kept)


class _FilteredStderr:
    """Point fd 2 at a temporary file for the ``with`` block, then write back the filtered text."""

    def __enter__(self):
        self.saved = None
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            return self  # no usable fd 2: nothing to capture
        self.capture = tempfile.TemporaryFile()
        os.dup2(self.capture.fileno(), 2)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.saved is None:
            return False
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.capture.seek(0)
        text = self.capture.read().decode("utf-8", "replace")
        self.capture.close()
        if exc_type is None:
            text = filter_log_text(text, _min_level())
        if text:
            try:
                sys.stderr.write(text)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
        return False


class _QuietLoader(importlib.abc.Loader):
    """The real loader of ``tensorflow``, its ``exec_module`` run inside :class:`_FilteredStderr`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # the module keeps its real loader (importlib.resources, inspect, ... ask it for things)
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with _FilteredStderr():
            self.loader.exec_module(module)
        for name in ("tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.ERROR)

    def __getattr__(self, name):
        return getattr(self.loader, name)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` the usual way and wraps its loader; one use, then it leaves sys.meta_path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        uninstall()
        if verbose():
            return None  # decided now, so a command may set KERAS_AE_VERBOSE after parsing its options
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)
        spec = importlib.util.find_spec(fullname)  # the other finders, this one removed
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _QuietFinder()


@contextlib.contextmanager
def quiet_tensorflow():
    """A command's run: an ``import tensorflow`` inside the block hides TensorFlow's start-up lines
    (nothing to do if TensorFlow is already imported: its lines have been printed). The finder
    leaves ``sys.meta_path`` when TensorFlow is imported or when the block ends."""
    installed = install()
    try:
        yield
    finally:
        if installed:
            uninstall()


def install() -> bool:
    """Hide TensorFlow's start-up lines from the coming ``import tensorflow``; True when this call
    put the finder on ``sys.meta_path`` (False: TensorFlow imported already, or the finder there)."""
    if "tensorflow" in sys.modules or _FINDER in sys.meta_path:
        return False
    sys.meta_path.insert(0, _FINDER)
    return True


def uninstall() -> None:
    try:
        sys.meta_path.remove(_FINDER)
    except ValueError:
        pass
