"""Callbacks for ``fit``: NaN guard, periodic test loss, reconstruction figures, standard set."""

from __future__ import annotations

import csv
import math
import os
from typing import Callable, Sequence

import keras
import numpy as np

from keras_ae.errors import TrainingDivergedError
from keras_ae.plots import plot_image_grid


def _due(epoch: int, every: int, last_epoch: int | None) -> bool:
    """Epochs are 0-based in Keras: fire after epochs every, 2*every, ... (1-based) and the last."""
    return (epoch + 1) % every == 0 or (last_epoch is not None and epoch + 1 == last_epoch)


class NaNGuard(keras.callbacks.Callback):
    """Stops training with :class:`TrainingDivergedError` when a loss becomes NaN or infinite.

    Everything written before (logs, checkpoints, figures) stays on disk.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if "loss" in key and not math.isfinite(float(value)):
                self.model.stop_training = True
                raise TrainingDivergedError(
                    f"training diverged: {key} = {float(value)} at epoch {self._epoch + 1}, batch {batch + 1}; "
                    "lower the learning rate or check the inputs' scaling"
                )


class PeriodicEvaluation(keras.callbacks.Callback):
    """Evaluates on held-out data every ``every`` epochs (and after the last one).

    Prints ``test_<metric>`` values, keeps them in ``self.history`` (a list of rows with the
    1-based epoch) and appends a row to ``csv_path``. The epoch logs are left alone, so that
    Keras' History and CSVLogger keep one value per epoch. ``on_evaluate`` callables get ``(model, epoch_1_based)`` to
    draw figures at the same moments.
    """

    def __init__(self, x, y=None, every: int = 10, batch_size: int = 256, csv_path: str | None = None,
                 on_evaluate: Sequence[Callable] = (), verbose: bool = True):
        super().__init__()
        self.x, self.y = x, (x if y is None else y)
        self.every, self.batch_size = every, batch_size
        self.csv_path, self.on_evaluate, self.verbose = csv_path, list(on_evaluate), verbose
        self.history: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        if not _due(epoch, self.every, self.params.get("epochs")):
            return
        results = self.model.evaluate(self.x, self.y, batch_size=self.batch_size, verbose=0, return_dict=True)
        row = {"epoch": epoch + 1, **{f"test_{k}": float(v) for k, v in results.items()}}
        self.history.append(row)
        if self.verbose:
            print(f"\nepoch {epoch + 1}: " + ", ".join(f"{k} = {v:.5g}" for k, v in row.items() if k != "epoch"),
                  flush=True)
        if self.csv_path:
            new = not os.path.exists(self.csv_path)
            os.makedirs(os.path.dirname(self.csv_path) or ".", exist_ok=True)
            with open(self.csv_path, "a", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)
        for hook in self.on_evaluate:
            hook(self.model, epoch + 1)


def reconstruction_rows(model, x, to_display: Callable) -> list[tuple[str, np.ndarray]]:
    """Default rows of a reconstruction figure: the inputs over their reconstructions."""
    return [("input", to_display(x)), ("reconstruction", to_display(model.predict(x, verbose=0)))]


class ReconstructionFigure(keras.callbacks.Callback):
    """Writes a figure of ``x`` and its reconstructions every ``every`` epochs and at the end.

    ``rows(model, x)`` returns the labelled rows to draw (values in [0, 1]); the default shows the
    inputs over their reconstructions. ``path_template`` is formatted with ``epoch``.
    """

    def __init__(self, x, path_template: str, title: str, every: int | None = None,
                 to_display: Callable = lambda a: a, rows: Callable | None = None,
                 image_shape=(28, 28), sample_titles=None):
        super().__init__()
        self.x, self.path_template, self.title, self.every = x, path_template, title, every
        self.rows = rows or (lambda model, x: reconstruction_rows(model, x, to_display))
        self.image_shape, self.sample_titles = image_shape, sample_titles
        self.paths: list[str] = []

    def write(self, model, epoch: int) -> str:
        path = plot_image_grid(self.rows(model, self.x), self.path_template.format(epoch=epoch),
                               f"{self.title} (epoch {epoch})", image_shape=self.image_shape,
                               sample_titles=self.sample_titles)
        self.paths.append(path)
        return path

    def on_epoch_end(self, epoch, logs=None):
        if self.every and _due(epoch, self.every, self.params.get("epochs")):
            self.write(self.model, epoch + 1)

    def on_train_end(self, logs=None):
        if not self.every:  # only the final figure
            self.write(self.model, self.params.get("epochs", 0))


def standard_callbacks(run_dir: str, tensorboard: bool = False, checkpoint: bool = False) -> list:
    """Per-epoch CSV log (``history.csv``), the NaN guard, optional TensorBoard and checkpoints."""
    os.makedirs(run_dir, exist_ok=True)
    callbacks = [NaNGuard(), keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"))]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")))
    if checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "checkpoint.keras")))
    return callbacks
