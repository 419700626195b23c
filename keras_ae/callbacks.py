"""Callbacks for ``fit``: NaN guard, periodic test loss, reconstruction figures, a per-epoch
training backup to resume from, early stopping on a periodic validation score with the best
epoch's weights kept, and the standard set."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import time
from typing import Callable, Sequence

import keras
import numpy as np

from keras_ae.errors import ModelLoadError, TrainingDivergedError
from keras_ae.plots import plot_image_grid

__all__ = ["BestValidationScore", "MomentumSchedule", "NaNGuard", "PeriodicEvaluation",
           "ReconstructionFigure", "TrainingBackup", "discard_backups", "resumed_seconds", "standard_callbacks"]


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


class BestValidationScore(keras.callbacks.Callback):
    """Early stopping on a periodic validation score, keeping the best epoch's weights.

    Scores the model every ``every`` epochs (and after the last epoch) with ``score(model)``, keeps
    the best epoch (highest score), optionally its weights, and stops the fit when ``patience``
    epochs have passed since it.

    ``score(model)`` returns a number, higher is better (e.g. a Parzen-window log-likelihood of
    held-out training images), or ``(number, extras)`` with a dict of numbers logged beside it.
    ``self.history`` holds one row per scoring, ``{"epoch": 1-based, name: value, **extras}``,
    written in full to ``csv_path`` after every scoring. A score counts as better when it exceeds
    the best so far by more than ``min_delta`` (NaN never does).

    - ``patience`` (epochs; 0 or None: never stop early): at a scoring at epoch ``e`` with
      ``e - best_epoch >= patience`` the fit stops (``stopped_epoch = e``);
    - ``restore_best``: copy the weights (``model.get_weights()``) at every new best, and put them
      back when the fit ends (stopped early or not), so the model leaves ``fit`` with the best
      scored epoch's weights; optimizer states stay those of the last epoch.

    ``log_extras`` (the names of the extras ``score`` returns, e.g. ``("sigma",)``) or
    ``log=True`` also puts the score into every epoch's logs as ``name`` (and each extra as
    ``name_extra``), NaN on the epochs between scorings: Keras' History and the CSV log then keep
    one value per epoch (list this callback before the ``CSVLogger``, which reads the logs after
    it; :func:`standard_callbacks` does with ``companions``).

    The state (history, best value and epoch, the best weights) lives in this object from its
    creation; ``on_train_begin`` does not reset it. With the per-epoch :class:`TrainingBackup`
    (``standard_callbacks(..., companions=[this])``) it is saved in every backup and restored with
    the weights, so a resumed fit continues with the same best epoch, best weights and patience
    count as the uninterrupted one.
    """

    def __init__(self, score: Callable, every: int = 1, patience: int | None = 0, restore_best: bool = True,
                 csv_path: str | None = None, name: str = "score", min_delta: float = 0.0, verbose: bool = True,
                 log: bool = False, log_extras: Sequence[str] = ()):
        super().__init__()
        self.log, self.log_extras = bool(log or log_extras), tuple(log_extras)
        if int(every) < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.score, self.every, self.patience = score, int(every), int(patience or 0)
        self.restore_best, self.csv_path, self.name = bool(restore_best), csv_path, name
        self.min_delta, self.verbose = float(min_delta), verbose
        self.history: list[dict] = []
        self.best_value = -math.inf
        self.best_epoch = 0  # 1-based; 0: not scored yet
        self.best_weights: list[np.ndarray] | None = None
        self.stopped_epoch = 0

    @property
    def wait(self) -> int:
        """Epochs from the best epoch to the last scored one."""
        return self.history[-1]["epoch"] - self.best_epoch if self.history else 0

    def on_epoch_end(self, epoch, logs=None):
        if not _due(epoch, self.every, self.params.get("epochs")):
            if self.log and logs is not None:
                logs.update({key: float("nan") for key in self._log_keys()})
            return
        result = self.score(self.model)
        value, extras = result if isinstance(result, tuple) else (result, {})
        value = float(value)
        if self.log and logs is not None:
            logs[self.name] = value
            logs.update({f"{self.name}_{k}": float(extras.get(k, float("nan"))) for k in self.log_extras})
        self.history.append({"epoch": epoch + 1, self.name: value, **{k: float(v) for k, v in extras.items()}})
        if value > self.best_value + self.min_delta:  # False for NaN
            self.best_value, self.best_epoch = value, epoch + 1
            if self.restore_best:
                self.best_weights = [np.array(w) for w in self.model.get_weights()]
        self._write_csv()
        stop = bool(self.patience) and self.wait >= self.patience
        if self.verbose:
            print(f"\nepoch {epoch + 1}: {self.name} = {value:.5g} (best {self.best_value:.5g} at epoch "
                  f"{self.best_epoch})" + (f"; no rise for {self.wait} epochs, stopping" if stop else ""), flush=True)
        if stop:
            self.stopped_epoch = epoch + 1
            self.model.stop_training = True

    def _log_keys(self) -> list[str]:
        return [self.name] + [f"{self.name}_{k}" for k in self.log_extras]

    def on_train_end(self, logs=None):
        if self.restore_best and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def _write_csv(self):
        if not self.csv_path or not self.history:
            return
        from keras_ae.io import atomic_write

        os.makedirs(os.path.dirname(self.csv_path) or ".", exist_ok=True)
        columns = list(dict.fromkeys(k for row in self.history for k in row))
        with atomic_write(self.csv_path, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.history)

    # ---- the TrainingBackup companion protocol: state as JSON and arrays
    def backup_state(self) -> tuple[dict, list[np.ndarray]]:
        state = {"history": self.history, "best_value": self.best_value if math.isfinite(self.best_value) else None,
                 "best_epoch": self.best_epoch, "stopped_epoch": self.stopped_epoch,
                 "has_best_weights": self.best_weights is not None}
        return state, list(self.best_weights or [])

    def restore_backup_state(self, state: dict, arrays: list[np.ndarray]) -> None:
        self.history = [dict(row) for row in state["history"]]
        self.best_value = -math.inf if state["best_value"] is None else float(state["best_value"])
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])
        self.best_weights = [np.array(a) for a in arrays] if state["has_best_weights"] else None
        self._write_csv()


def reconstruction_rows(model, x, to_display: Callable) -> list[tuple[str, np.ndarray]]:
    """Default rows of a reconstruction figure: the inputs over their reconstructions."""
    return [("input", to_display(x)), ("reconstruction", to_display(model.predict(x, verbose=0)))]


class ReconstructionFigure(keras.callbacks.Callback):
    """Writes a figure of ``x`` and its reconstructions every ``every`` epochs and at the end.

    ``rows(model, x)`` returns the labelled rows to draw (values in [0, 1]); the default shows the
    inputs over their reconstructions. ``path_template`` is formatted with ``epoch``.

    ``paths`` lists the figures written and ``drawn`` their ``(epoch, rows)``, for figures made
    from several epochs (e.g. question F's samples over training). As a companion of
    :class:`TrainingBackup` (``standard_callbacks(..., companions=[...])``) both are saved in every
    backup and restored with it, so a resumed fit ends with the figures of every epoch.
    """

    def __init__(self, x, path_template: str, title: str, every: int | None = None,
                 to_display: Callable = lambda a: a, rows: Callable | None = None,
                 image_shape=(28, 28), sample_titles=None):
        super().__init__()
        self.x, self.path_template, self.title, self.every = x, path_template, title, every
        self.rows = rows or (lambda model, x: reconstruction_rows(model, x, to_display))
        self.image_shape, self.sample_titles = image_shape, sample_titles
        self.paths: list[str] = []
        self.drawn: list[tuple[int, list[tuple[str, np.ndarray]]]] = []

    def write(self, model, epoch: int) -> str:
        rows = [(label, np.asarray(images)) for label, images in self.rows(model, self.x)]
        path = plot_image_grid(rows, self.path_template.format(epoch=epoch), f"{self.title} (epoch {epoch})",
                               image_shape=self.image_shape, sample_titles=self.sample_titles)
        self.paths.append(path)
        self.drawn.append((epoch, rows))
        return path

    # ---- the TrainingBackup companion protocol
    def backup_state(self) -> tuple[dict, list[np.ndarray]]:
        labels = [[label for label, _ in rows] for _, rows in self.drawn]
        return ({"paths": self.paths, "epochs": [epoch for epoch, _ in self.drawn], "labels": labels},
                [images for _, rows in self.drawn for _, images in rows])

    def restore_backup_state(self, state: dict, arrays: list[np.ndarray]) -> None:
        self.paths, self.drawn, arrays = list(state["paths"]), [], iter(arrays)
        for epoch, labels in zip(state["epochs"], state["labels"]):
            self.drawn.append((int(epoch), [(label, next(arrays)) for label in labels]))

    def on_epoch_end(self, epoch, logs=None):
        if self.every and _due(epoch, self.every, self.params.get("epochs")):
            self.write(self.model, epoch + 1)

    def on_train_end(self, logs=None):
        if not self.every:  # only the final figure
            self.write(self.model, self.params.get("epochs", 0))


class MomentumSchedule(keras.callbacks.Callback):
    """Sets the SGD momentum each epoch from a schedule.

    Sets the momentum of ``model.optimizer`` (``keras.optimizers.SGD``) to ``schedule(epoch)``
    (0-based epoch) when each epoch begins, as ``LearningRateScheduler`` does for the learning rate.

    Keras' SGD reads its momentum, a Python number, when the training step is traced; so a new
    value re-makes the model's train function (one more trace, and XLA compile, per change). The
    value depends on the epoch alone, so a ``fit`` resumed at epoch ``e`` (``TrainingBackup``) uses
    epoch ``e``'s momentum. The momentum can change between positive values only (SGD keeps its
    velocities when it is built with a positive momentum).
    """

    def __init__(self, schedule: Callable[[int], float]):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        momentum = float(self.schedule(epoch))
        if momentum == optimizer.momentum:
            return
        if momentum <= 0.0 or optimizer.momentum <= 0.0:
            raise ValueError(f"MomentumSchedule changes positive momenta only; epoch {epoch + 1} would go from "
                             f"{optimizer.momentum} to {momentum}")
        optimizer.momentum = momentum
        self.model.make_train_function(force=True)


def model_optimizers(model) -> dict:
    """Every optimizer that trains ``model``, by name: ``model.named_optimizers()`` for a model whose
    ``compile`` takes several (E's adversarial autoencoder: three, F's GAN: two), else
    ``{"optimizer": model.optimizer}`` (nothing before ``compile``)."""
    if hasattr(model, "named_optimizers"):
        return dict(model.named_optimizers())
    optimizer = getattr(model, "optimizer", None)
    return {"optimizer": optimizer} if isinstance(optimizer, keras.optimizers.Optimizer) else {}


def random_state_variables(model) -> list:
    """The variables of ``model`` that ``model.save_weights`` leaves out: the states of its
    ``keras.random.SeedGenerator`` s (its own noise and prior streams, its Dropout layers')."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _signature(model) -> dict:
    """What a backup must match to load into ``model``: the shapes of its weights, of its
    optimizers' variables and of its random states (names may differ between two builds of the
    same model in one process: Keras numbers unnamed layers)."""
    return {"weights": [list(v.shape) for v in model.weights],
            "optimizers": {name: [list(v.shape) for v in optimizer.variables]
                           for name, optimizer in model_optimizers(model).items()},
            "random_state": [list(v.shape) for v in random_state_variables(model)]}


def _plain(value):
    """JSON-normal form (tuples -> lists, everything else JSON can't hold -> str)."""
    return json.loads(json.dumps(value, default=str))


class TrainingBackup(keras.callbacks.Callback):
    """The training state after every finished epoch, kept in ``backup_dir`` to resume from.

    Resuming is three visible steps, before and in ``fit``::

        start = backup.restore(model, epochs)  # the model built and compiled; 0: no backup
        history = model.fit(make_dataset(x, ..., first_epoch=start), initial_epoch=start,
                            epochs=epochs, callbacks=[backup, ..., backup.history])

    (:func:`resume_from` finds the backup among ``fit``'s callbacks; :func:`standard_callbacks`
    puts ``backup.history`` in them). :meth:`restore` finds a backup made with the same
    ``settings``, ``epochs`` and a model of the same layout and loads it; ``fit`` then trains the
    epochs after it and reaches the final weights of a run that was never interrupted. A backup
    made otherwise is deleted and training starts at epoch 1. When ``fit`` ends, the backup is
    deleted. Each backup holds:

    - ``model.weights.h5`` (``model.save_weights``): the weights and the state of **every**
      optimizer the model holds (:func:`model_optimizers`: ``model.optimizer``, or the
      ``named_optimizers()`` of a model with several, e.g. the adversarial autoencoder's three);
    - ``random_state.npz``: the states of the model's ``SeedGenerator`` s (training noise, prior
      samples, Dropout masks), which ``save_weights`` leaves out;
    - ``state.json``: the number of finished epochs, the ``settings``, ``epochs`` and steps per
      epoch, the Keras ``History`` so far, the model's layout and the seconds spent in ``fit`` up
      to that epoch, over all earlier attempts (``resumed_seconds`` after a resume: add it to a
      timing of the resumed ``fit`` for the whole training time, see :func:`resumed_seconds`);
      and a copy of ``csv_log`` (the ``CSVLogger`` file), written back on resume.

    ``history`` is the ``keras.callbacks.History`` that ``fit`` must use (list it among the
    callbacks, after any that add to the epoch's logs; ``fit`` returns it): :meth:`restore` puts
    the epochs before the resume into it, so that ``fit(...).history`` covers every epoch.

    The data order is the pipeline's: with :func:`keras_ae.data.make_dataset` ``(...,
    first_epoch=start)`` epoch ``e`` sees the same minibatches after a resume.

    Unlike ``keras.callbacks.BackupAndRestore``, which saves the weights file (optimizers
    included) and the epoch, each backup is written to a temporary folder and renamed into place
    (a run killed while saving resumes from the previous one), and the random states, the history
    and the log come back too. The backup is taken when the next epoch begins, after every
    callback has finished the epoch (figures written, history and log updated). List this
    callback before the ``CSVLogger`` of ``csv_log``, which must append (``append=True``).

    ``fit`` checks the steps: a fit with other steps per epoch than the backup's (other data) stops
    with :class:`keras_ae.errors.ModelLoadError`; one with other ``epochs`` than :meth:`restore`
    was given, or not starting at the epoch it returned, or without :meth:`restore` before it, with
    ``ValueError``.

    ``companions``: other callbacks whose state must survive a resume (e.g.
    :class:`BestValidationScore`'s best epoch and weights). Each has ``backup_state()`` ->
    ``(JSON-able dict, list of arrays)`` and ``restore_backup_state(dict, arrays)``; their states
    are saved in every backup (``companion_<i>.json`` / ``.npz``) and restored with the weights. A
    backup without a companion's files (made before it was one) restores the rest and leaves that
    companion as it is.

    ``keep_finished``: when the fit completes, keep its final state as a *finished* backup instead
    of deleting the backup; :meth:`restore` of the same fit (same settings, model and epochs, e.g.
    in a run that was killed in a later stage) then returns ``epochs``, so that ``fit`` trains no
    epoch and ends with the restored weights, history, log and companions' state (also after an
    early stop). For questions of several long fits (H's preset: four RBMs, fine-tuning, a
    comparison network); the question removes the finished backups when it completes
    (:func:`discard_backups`).

    ``TrainingBackup.seconds_resumed_in_process`` adds up the ``resumed_seconds`` of every fit
    resumed in this process (``keras-ae run all`` adds a question's share to its run time).
    """

    seconds_resumed_in_process = 0.0

    def __init__(self, backup_dir: str, settings=None, csv_log: str | None = None, verbose: bool = True,
                 companions: Sequence = (), keep_finished: bool = False):
        super().__init__()
        self.backup_dir, self.settings, self.csv_log, self.verbose = backup_dir, _plain(settings), csv_log, verbose
        self.companions, self.keep_finished = list(companions), bool(keep_finished)
        self.history = keras.callbacks.History()  # fit's History, holding the epochs before a resume
        self.restored_finished = False  # the last restore found a finished backup: fit trains no epoch
        self.resumed_epoch = 0  # epochs restored by the last restore (0: none)
        self.resumed_seconds = 0.0  # seconds spent in fit before that epoch, by earlier (killed) attempts
        self._restored = None  # (model, epochs, start epoch, the backup's steps) of restore, until fit begins
        self._fit_start = time.perf_counter()

    # ---- files
    def _complete_backups(self) -> list[str]:
        if not os.path.isdir(self.backup_dir):
            return []
        return sorted(name for name in os.listdir(self.backup_dir) if name.startswith("epoch_"))

    def _say(self, text: str) -> None:
        if self.verbose:
            print(f"[backup] {text}", flush=True)

    def _save(self, epoch: int, finished: bool = False) -> None:
        """Everything needed to resume at ``epoch`` (the number of finished epochs); ``finished``:
        the fit ended there (after its last epoch or an early stop)."""
        final = os.path.join(self.backup_dir, f"epoch_{epoch:05d}")
        partial = os.path.join(self.backup_dir, f"partial_epoch_{epoch:05d}")
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        self.model.save_weights(os.path.join(partial, "model.weights.h5"))
        np.savez(os.path.join(partial, "random_state.npz"),
                 *[np.asarray(keras.ops.convert_to_numpy(v)) for v in random_state_variables(self.model)])
        state = {"epoch": epoch, "finished": finished, "settings": self.settings,
                 "epochs": self.params.get("epochs"), "steps": self.params.get("steps"),
                 "model": _signature(self.model),
                 "fit_seconds": self.resumed_seconds + time.perf_counter() - self._fit_start,
                 "history": _plain({k: [float(x) for x in v] for k, v in self.history.history.items()})}
        with open(os.path.join(partial, "state.json"), "w") as fh:
            json.dump(state, fh)
        if self.csv_log and os.path.isfile(self.csv_log):
            shutil.copyfile(self.csv_log, os.path.join(partial, "log.csv"))
        for i, companion in enumerate(self.companions):
            companion_state, arrays = companion.backup_state()
            with open(os.path.join(partial, f"companion_{i}.json"), "w") as fh:
                json.dump(_plain(companion_state), fh)
            np.savez(os.path.join(partial, f"companion_{i}.npz"), *arrays)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)  # atomic: a backup folder is complete or absent
        for name in self._complete_backups():
            if name != os.path.basename(final):
                shutil.rmtree(os.path.join(self.backup_dir, name), ignore_errors=True)

    def _load(self, model, epochs: int, path: str) -> dict | None:
        """Load the backup in ``path`` into ``model`` and the companions; its state, or None when it
        was made with other settings, epochs or model layout (nothing loaded then)."""
        with open(os.path.join(path, "state.json")) as fh:
            state = json.load(fh)
        saved = state.get("model", {}).get("optimizers", {}).get("optimizer") or []
        optimizer = model_optimizers(model).get("optimizer")
        if optimizer is not None and not optimizer.built and len(saved) > len(optimizer.variables):
            # Keras builds ``model.optimizer`` in the first step; its saved variables need it now
            strategy = getattr(model, "distribute_strategy", None)  # its scope, as fit's build would use
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                optimizer.build(model.trainable_variables)
        fingerprint = {"settings": self.settings, "epochs": int(epochs), "model": _signature(model)}
        for key, value in fingerprint.items():
            if state.get(key) != value:
                self._say(f"the backup in {self.backup_dir} was made with other {key}; starting from epoch 1")
                return None
        try:
            model.load_weights(os.path.join(path, "model.weights.h5"))
            with np.load(os.path.join(path, "random_state.npz")) as saved:
                for i, variable in enumerate(random_state_variables(model)):
                    variable.assign(saved[f"arr_{i}"])
            for i, companion in enumerate(self.companions):
                if not os.path.isfile(os.path.join(path, f"companion_{i}.json")):
                    self._say(f"the backup holds no state of {type(companion).__name__}; it starts afresh")
                    continue
                with open(os.path.join(path, f"companion_{i}.json")) as fh:
                    companion_state = json.load(fh)
                with np.load(os.path.join(path, f"companion_{i}.npz")) as saved:
                    arrays = [saved[f"arr_{j}"] for j in range(len(saved.files))]
                companion.restore_backup_state(companion_state, arrays)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot resume from the backup in {path} ({exc}); delete {self.backup_dir} "
                                 "(or pass --no-backup) to start over") from None
        if self.csv_log:
            if os.path.isfile(os.path.join(path, "log.csv")):
                shutil.copyfile(os.path.join(path, "log.csv"), self.csv_log)
            elif os.path.exists(self.csv_log):
                os.remove(self.csv_log)
        return state

    def restore(self, model, epochs: int) -> int:
        """Before ``fit(..., epochs=epochs)`` of ``model`` (built and compiled): load the last backup
        into it and return the epoch to start at, ``fit``'s ``initial_epoch`` and
        ``make_dataset``'s ``first_epoch``: the backup's finished epochs, ``epochs`` for a finished
        backup (``keep_finished``: ``fit`` then trains nothing), 0 when there is no backup or it was
        made with other settings, ``epochs`` or model layout (it is deleted, and so is the CSV log).

        Restores the weights, every optimizer's state, the random states, the companions' states,
        the CSV log and, into :attr:`history`, the history of the epochs before; sets
        ``resumed_epoch``, ``resumed_seconds`` and ``restored_finished``."""
        epochs = int(epochs)
        self.history.history = {}
        self.resumed_epoch, self.resumed_seconds, self.restored_finished = 0, 0.0, False
        backups = self._complete_backups()
        state = self._load(model, epochs, os.path.join(self.backup_dir, backups[-1])) if backups else None
        if state is None:
            shutil.rmtree(self.backup_dir, ignore_errors=True)
            if self.csv_log and os.path.exists(self.csv_log):
                os.remove(self.csv_log)  # a fresh log (its CSVLogger appends)
            self._restored = (model, epochs, 0, None)
            return 0
        self.history.history = {k: list(v) for k, v in state["history"].items()}
        self.resumed_epoch = int(state["epoch"])
        self.resumed_seconds = float(state.get("fit_seconds", 0.0))
        TrainingBackup.seconds_resumed_in_process += self.resumed_seconds
        self.restored_finished = bool(state.get("finished", False))
        if self.restored_finished:
            self._say(f"this fit finished earlier (epoch {self.resumed_epoch}): its trained state restored from "
                      f"{self.backup_dir}")
        else:
            self._say(f"resuming after epoch {self.resumed_epoch} from {self.backup_dir}")
        start = epochs if self.restored_finished else self.resumed_epoch
        self._restored = (model, epochs, start, state.get("steps"))
        return start

    # ---- fit hooks
    def on_train_begin(self, logs=None):
        if self._restored is None:
            raise ValueError("call TrainingBackup.restore(model, epochs) before each fit, and fit with "
                             "initial_epoch= the epoch it returns")
        model, epochs, self._start, steps = self._restored
        self._restored = None  # one fit per restore
        if model is not self.model:
            raise ValueError("TrainingBackup.restore was given another model than the one fit trains")
        if self.params.get("epochs") != epochs:
            raise ValueError(f"fit(epochs={self.params.get('epochs')}) differs from the {epochs} epochs given to "
                             "TrainingBackup.restore")
        if getattr(self.model, "history", None) is not self.history:
            raise ValueError("list TrainingBackup.history among fit's callbacks (standard_callbacks does): it "
                             "holds the epochs before a resume")
        if steps is not None and self.params.get("steps") != steps:
            raise ModelLoadError(f"the backup in {self.backup_dir} was made with {steps} steps per epoch, this fit "
                                 f"has {self.params.get('steps')} (other data?); delete {self.backup_dir} (or pass "
                                 "--no-backup) to start over")
        self._fit_start, self._last_epoch, self._epochs_seen = time.perf_counter(), self.resumed_epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        if self._epochs_seen == 0 and epoch != self._start:
            raise ValueError(f"fit starts at epoch {epoch} (0-based), but TrainingBackup.restore returned "
                             f"{self._start}: pass initial_epoch={self._start}")
        if self._epochs_seen:
            self._save(epoch)  # every callback has finished epoch - 1: figures, history, log
        self._epochs_seen += 1

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch + 1

    def on_train_end(self, logs=None):
        if self.restored_finished:
            return  # trained nothing: the finished backup stays as it was
        if self.keep_finished:
            self._save(self._last_epoch, finished=True)  # before the companions' own on_train_end
        else:
            shutil.rmtree(self.backup_dir, ignore_errors=True)


def discard_backups(*run_dirs: str) -> None:
    """Delete the backups of a question's fits once it has completed.

    Delete the backups (``run_dir/backup``, finished ones included) of fits that a question no
    longer needs to resume: call it when the question has completed."""
    for run_dir in run_dirs:
        shutil.rmtree(os.path.join(run_dir, "backup"), ignore_errors=True)


def resume_from(callbacks: Sequence, model, epochs: int) -> int:
    """``TrainingBackup.restore(model, epochs)`` of the backup among ``callbacks`` (e.g. those of
    :func:`standard_callbacks`): the epoch to start at, for ``make_dataset(..., first_epoch=)`` and
    ``fit(..., initial_epoch=)``; 0 when ``callbacks`` hold no backup (``--no-backup``)."""
    backups = [cb for cb in callbacks if isinstance(cb, TrainingBackup)]
    return backups[0].restore(model, epochs) if backups else 0


def resumed_seconds(callbacks: Sequence) -> float:
    """The training seconds of the earlier, interrupted attempts of a resumed ``fit``.

    The seconds that earlier, interrupted attempts of the last ``fit`` with ``callbacks`` spent
    training before the epoch it resumed from (0 when it did not resume): add it to the time of
    the resumed ``fit`` to report the whole training time."""
    return sum(cb.resumed_seconds for cb in callbacks if isinstance(cb, TrainingBackup))


def standard_callbacks(run_dir: str, tensorboard: bool = False, checkpoint: bool = False, backup=None,
                       companions: Sequence = (), keep_finished: bool = False) -> list:
    """The callbacks of every question's ``fit``: NaN guard, CSV log, optional backup.

    The NaN guard, a per-epoch CSV log (``history.csv``), optional TensorBoard logs and
    checkpoints, and, with ``backup`` (the run's settings: a question's parsed options or a dict),
    a :class:`TrainingBackup` in ``run_dir/backup`` (first) with its ``history`` (last of these),
    that a run with the same settings resumes from: ``start = resume_from(callbacks, model,
    epochs)`` before ``fit``, then ``make_dataset(..., first_epoch=start)`` and
    ``fit(..., initial_epoch=start)``. A question's
    ``--no-backup`` (``backup.no_backup``) turns the backup off; options that do not change the
    training (verbosity, TensorBoard, export) are not part of the settings compared.
    ``companions`` (callbacks with state, e.g. :class:`BestValidationScore`) come before the NaN
    guard and the CSV log (so a score they put into the epoch's logs is logged) and, with the
    backup, have their state saved and restored with it. ``keep_finished``: see
    :class:`TrainingBackup` (a completed fit is not trained again; :func:`discard_backups`).
    """
    os.makedirs(run_dir, exist_ok=True)
    log = os.path.join(run_dir, "history.csv")
    settings = backup if backup is None or isinstance(backup, dict) else vars(backup)
    if settings is not None and not settings.get("no_backup", False):
        settings = {k: v for k, v in settings.items() if k not in NOT_TRAINING_SETTINGS}
        backup = TrainingBackup(os.path.join(run_dir, "backup"), settings, csv_log=log, companions=companions,
                                keep_finished=keep_finished)
        callbacks = [backup, *companions, NaNGuard(), keras.callbacks.CSVLogger(log, append=True), backup.history]
    else:
        callbacks = [*companions, NaNGuard(), keras.callbacks.CSVLogger(log)]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")))
    if checkpoint:
        callbacks.append(keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "checkpoint.keras")))
    return callbacks


# Options that change no weight of a fit: left out of the settings a backup must match.
NOT_TRAINING_SETTINGS = ("verbose", "tensorboard", "no_backup", "no_export", "saved_models_dir")
