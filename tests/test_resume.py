"""Resuming: a fit interrupted mid-epoch and resumed from its backup (``start = backup.restore(model,
epochs)``, ``make_dataset(..., first_epoch=start)``, ``fit(initial_epoch=start)``), with a fresh
model built the same way, ends with the weights, optimizer states, random states, history and log
of a fit that was never interrupted; ``keras-ae run all --resume`` skips the questions already
completed."""

from __future__ import annotations

import os

import numpy as np
import pytest

EPOCHS = 3


class Interrupted(Exception):
    pass


def _interrupt_in_epoch(epoch: int, batch: int):
    import keras

    class Interrupt(keras.callbacks.Callback):
        """Kills the fit in the middle of ``epoch`` (0-based), after ``batch`` + 1 updates of it."""

        def on_epoch_begin(self, e, logs=None):
            self.epoch = e

        def on_train_batch_end(self, b, logs=None):
            if self.epoch == epoch and b == batch:
                raise Interrupted

    return Interrupt()


def _autoencoder():
    import keras

    from keras_ae.models import build_dense_autoencoder

    model = build_dense_autoencoder(784, (32, 8), (32,), init="glorot")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def _gan():
    """F's GAN, tiny: noise z, Dropout in D, two optimizers, k = 2 discriminator steps."""
    import keras

    from keras_ae.models.gan import GAN, build_discriminator, build_generator

    model = GAN(build_generator(8, (32,), 784, seed=3), build_discriminator(784, (32,), dropout=0.3, seed=3),
                d_steps=2, seed=3)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model


def _adversarial_autoencoder():
    """E's adversarial autoencoder, tiny: prior samples from its seed generator, three optimizers."""
    import keras

    from keras_ae.models.adversarial import build_adversarial_autoencoder

    model = build_adversarial_autoencoder(code_dim=4, hidden_units=(32,), discriminator_units=(16,), seed=3)
    model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(2e-4, beta_1=0.5),
                  keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model


def _fit(build, x, run_dir, interrupt=None):
    """Build (seeded) and fit for EPOCHS epochs with the standard callbacks and a backup, a figure
    of the model's outputs every epoch as the backup's companion, timed."""
    import keras

    from keras_ae.callbacks import ReconstructionFigure, model_optimizers, random_state_variables, standard_callbacks
    from keras_ae.data import make_dataset
    from keras_ae.questions.common import Timer

    keras.utils.set_random_seed(0)
    model = build()
    figure = ReconstructionFigure(x[:4], os.path.join(str(run_dir), "figure_{epoch}.png"), "outputs", every=1,
                                  rows=lambda m, xs: [("x", xs), ("first weights", np.resize(
                                      keras.ops.convert_to_numpy(m.trainable_weights[0]), (4, 784)))])
    callbacks = standard_callbacks(str(run_dir), backup={"model": build.__name__}, companions=[figure])
    start = callbacks[0].restore(model, EPOCHS)
    timer = Timer(callbacks)
    with timer:
        history = model.fit(make_dataset(x, batch_size=64, seed=5, first_epoch=start), initial_epoch=start,
                            epochs=EPOCHS, shuffle=False, verbose=0,
                            callbacks=callbacks + ([interrupt] if interrupt else []))
    numpy = keras.ops.convert_to_numpy
    state = {"weights": model.get_weights(),
             "optimizers": {name: [numpy(v) for v in opt.variables] for name, opt in model_optimizers(model).items()},
             "random": [numpy(v) for v in random_state_variables(model)],
             "figures": ([os.path.basename(p) for p in figure.paths], figure.drawn), "timer": timer, "start": start}
    return state, history.history, callbacks[0]


def _assert_same_state(resumed, straight):
    assert len(resumed["weights"]) == len(straight["weights"]) > 0
    for a, b in zip(resumed["weights"], straight["weights"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert resumed["optimizers"].keys() == straight["optimizers"].keys()
    for name in straight["optimizers"]:
        for a, b in zip(resumed["optimizers"][name], straight["optimizers"][name]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, err_msg=name)
    for a, b in zip(resumed["random"], straight["random"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("build", [_autoencoder, _adversarial_autoencoder, _gan],
                         ids=["autoencoder", "adversarial_autoencoder", "gan"])
def test_fit_resumed_mid_epoch_matches_an_uninterrupted_fit(build, mnist_small, tmp_path):
    x = mnist_small[0][:300] * (2.0 if build is _gan else 1.0) - (1.0 if build is _gan else 0.0)
    straight, straight_history, _ = _fit(build, x, tmp_path / "straight")

    run_dir = tmp_path / "resumed"
    with pytest.raises(Interrupted):  # killed in epoch 2 (1-based), after 2 of its 5 batches
        _fit(build, x, run_dir, _interrupt_in_epoch(1, 1))
    assert os.listdir(run_dir / "backup") == ["epoch_00001"]
    resumed, resumed_history, backup = _fit(build, x, run_dir)
    assert backup.resumed_epoch == resumed["start"] == 1 and straight["start"] == 0

    _assert_same_state(resumed, straight)
    # the figure companion lists (and holds the rows of) every epoch's figure, those before the kill too
    assert resumed["figures"][0] == straight["figures"][0] == [f"figure_{e}.png" for e in range(1, EPOCHS + 1)]
    for (epoch, rows), (epoch_straight, rows_straight) in zip(resumed["figures"][1], straight["figures"][1]):
        assert epoch == epoch_straight and [r[0] for r in rows] == [r[0] for r in rows_straight]
        for (_, a), (_, b) in zip(rows, rows_straight):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the training time counts the killed attempt's epoch 1 too
    assert 0 < backup.resumed_seconds == resumed["timer"].resumed < resumed["timer"].seconds
    if build is _gan:  # optimizers set in compile: two of their own, each with its steps
        assert {"d_optimizer", "g_optimizer"} <= resumed["optimizers"].keys()
        assert int(resumed["optimizers"]["d_optimizer"][0]) == 2 * int(resumed["optimizers"]["g_optimizer"][0])
        assert len(resumed["random"]) == 3  # z, evaluation z, the Dropout's masks
    if build is _adversarial_autoencoder:  # the three phases' optimizers
        phases = {"reconstruction_optimizer", "discriminator_optimizer", "generator_optimizer"}
        assert phases <= resumed["optimizers"].keys()
    # the history of every epoch, and the same log, as if never interrupted; no backup left behind
    assert resumed_history.keys() == straight_history.keys()
    for key in straight_history:
        np.testing.assert_allclose(resumed_history[key], straight_history[key], rtol=1e-6)
    assert all(len(values) == EPOCHS for values in resumed_history.values())
    log = (run_dir / "history.csv").read_text().splitlines()
    assert log == (tmp_path / "straight" / "history.csv").read_text().splitlines() and len(log) == EPOCHS + 1
    assert not (run_dir / "backup").exists()


def test_a_backup_of_other_settings_or_a_finished_fit_is_not_resumed(mnist_small, tmp_path):
    import keras

    from keras_ae.callbacks import resume_from, standard_callbacks
    from keras_ae.data import make_dataset
    from keras_ae.errors import ModelLoadError

    x = mnist_small[0][:200]

    def fit(settings, interrupt=None, epochs=2, rows=200):
        keras.utils.set_random_seed(0)
        model = _autoencoder()
        callbacks = standard_callbacks(str(tmp_path), backup=settings)
        start = resume_from(callbacks, model, epochs)
        model.fit(make_dataset(x[:rows], batch_size=64, seed=0, first_epoch=start), initial_epoch=start,
                  epochs=epochs, verbose=0, shuffle=False, callbacks=callbacks + ([interrupt] if interrupt else []))
        return callbacks[0], model, start

    with pytest.raises(Interrupted):
        fit({"learning_rate": 1e-3}, _interrupt_in_epoch(1, 0))
    backup, model, start = fit({"learning_rate": 2e-3})  # other settings: from epoch 1, the old backup deleted
    assert start == backup.resumed_epoch == 0 and int(model.optimizer.iterations.numpy()) == 2 * 4
    backup, model, start = fit({"learning_rate": 2e-3})  # a finished fit left no backup behind
    assert start == backup.resumed_epoch == 0 and not (tmp_path / "backup").exists()
    with pytest.raises(Interrupted):
        fit({"learning_rate": 2e-3}, _interrupt_in_epoch(1, 0), epochs=3)
    backup, model, start = fit({"learning_rate": 2e-3})  # other epochs: from epoch 1
    assert start == backup.resumed_epoch == 0 and int(model.optimizer.iterations.numpy()) == 2 * 4
    with pytest.raises(Interrupted):
        fit({"learning_rate": 2e-3, "no_backup": True}, _interrupt_in_epoch(1, 0))
    assert not (tmp_path / "backup").exists()  # --no-backup: no backup kept
    with pytest.raises(Interrupted):
        fit({"learning_rate": 2e-3}, _interrupt_in_epoch(1, 0))
    with pytest.raises(ModelLoadError, match="made with 4 steps per epoch, this fit has 2"):  # other data
        fit({"learning_rate": 2e-3}, rows=100)
    callbacks = standard_callbacks(str(tmp_path / "misused"), backup={"run": 1})
    model = _autoencoder()
    with pytest.raises(ValueError, match="restore"):  # fit without restore before it
        model.fit(make_dataset(x, batch_size=64), epochs=2, verbose=0, shuffle=False, callbacks=callbacks)
    resume_from(callbacks, model, 2)
    with pytest.raises(ValueError, match="differs from the 2 epochs"):
        model.fit(make_dataset(x, batch_size=64), epochs=3, verbose=0, shuffle=False, callbacks=callbacks)


def test_a_finished_fit_kept_by_keep_finished_trains_no_epoch_when_run_again(mnist_small, tmp_path):
    """A question of several long fits keeps each finished one, so that a run killed in a later
    stage does not train it again: the same fit then runs no step and ends in the same state."""
    import keras

    from keras_ae.callbacks import ReconstructionFigure, discard_backups, resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    x = mnist_small[0][:200]

    class Steps(keras.callbacks.Callback):
        count = 0

        def on_train_batch_end(self, batch, logs=None):
            Steps.count += 1

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # an early stop after 2 of the 3 epochs
                self.model.stop_training = True

    def fit():
        keras.utils.set_random_seed(0)
        model = _autoencoder()
        figure = ReconstructionFigure(x[:2], str(tmp_path / "figure_{epoch}.png"), "outputs", every=1)
        callbacks = standard_callbacks(str(tmp_path), backup={"run": 1}, companions=[figure], keep_finished=True)
        start = resume_from(callbacks, model, 3)
        history = model.fit(make_dataset(x, batch_size=64, seed=0, first_epoch=start), initial_epoch=start, epochs=3,
                            verbose=0, shuffle=False, callbacks=callbacks + [Steps()])
        return model, history.history, callbacks[0], figure, start

    model, history, backup, figure, start = fit()
    assert Steps.count == 2 * 4 and not backup.restored_finished and os.listdir(tmp_path / "backup") == ["epoch_00002"]
    assert start == 0
    log = (tmp_path / "history.csv").read_text()
    Steps.count = 0
    again, history_again, backup_again, figure_again, start = fit()
    assert Steps.count == 0 and backup_again.restored_finished and backup_again.resumed_epoch == 2
    assert start == 3  # fit(initial_epoch=epochs): no epoch left to train
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history_again == history and len(history["loss"]) == 2
    assert (tmp_path / "history.csv").read_text() == log and figure_again.paths == figure.paths
    assert backup_again.resumed_seconds > 0  # the training time of the finished fit
    discard_backups(str(tmp_path))
    assert not (tmp_path / "backup").exists()


def test_a_backup_made_before_a_companion_existed_resumes_without_its_state(mnist_small, tmp_path, capsys):
    import keras

    from keras_ae.callbacks import ReconstructionFigure, resume_from, standard_callbacks
    from keras_ae.data import make_dataset

    x = mnist_small[0][:200]

    def fit(companions, interrupt=None):
        keras.utils.set_random_seed(0)
        model = _autoencoder()
        callbacks = standard_callbacks(str(tmp_path), backup={"run": 1}, companions=companions)
        start = resume_from(callbacks, model, 2)
        model.fit(make_dataset(x, batch_size=64, seed=0, first_epoch=start), initial_epoch=start, epochs=2,
                  verbose=0, shuffle=False, callbacks=callbacks + ([interrupt] if interrupt else []))
        return callbacks[0]

    with pytest.raises(Interrupted):
        fit([], _interrupt_in_epoch(1, 0))  # a backup of epoch 1 without companions
    figure = ReconstructionFigure(x[:2], str(tmp_path / "figure_{epoch}.png"), "outputs", every=1)
    backup = fit([figure])
    assert backup.resumed_epoch == 1 and [os.path.basename(p) for p in figure.paths] == ["figure_2.png"]
    assert "holds no state of ReconstructionFigure" in capsys.readouterr().out


def test_epoch_order_is_a_function_of_the_seed_and_the_epoch():
    """Pass p of make_dataset(..., first_epoch=e) is epoch e + p: its first pass is the uninterrupted
    pipeline's pass e; and in fit, epoch e (initial_epoch=e or not) trains on that order."""
    import keras

    from keras_ae.data import make_dataset
    from keras_ae.data.transforms import epoch_permutation

    x = np.arange(50, dtype=np.float32)[:, None]

    def order(ds):
        return np.concatenate([b[0][:, 0] for b in ds.as_numpy_iterator()]).astype(int)

    ds = make_dataset(x, batch_size=8, seed=3)
    assert ds.cardinality().numpy() == 7
    uninterrupted = [order(ds) for _ in range(7)]
    for epoch, seen in enumerate(uninterrupted):
        np.testing.assert_array_equal(seen, epoch_permutation(50, 3, epoch))
    fresh = make_dataset(x, batch_size=8, seed=3, first_epoch=5)  # what a fit resumed at epoch 5 is fed
    np.testing.assert_array_equal(order(fresh), uninterrupted[5])
    np.testing.assert_array_equal(order(fresh), uninterrupted[6])
    repeated = make_dataset(x, batch_size=8, seed=3, first_epoch=5, repeat=True).take(14)  # two epochs in one pass
    np.testing.assert_array_equal(order(repeated), np.concatenate(uninterrupted[5:7]))
    with pytest.raises(ValueError, match="first_epoch"):
        make_dataset(x, first_epoch=-1)
    # under a strategy fit probes one batch of a first pass: with probe_pass that pass does not count
    probed = make_dataset(x, batch_size=8, seed=3, first_epoch=5, probe_pass=True)
    next(iter(probed))  # Keras' probe, then fit's epochs 5 and 6
    np.testing.assert_array_equal(order(probed), uninterrupted[5])
    np.testing.assert_array_equal(order(probed), uninterrupted[6])

    class Recorder(keras.Model):  # the rows each epoch of fit trains on (eager steps)
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)
            self.rows, self.epoch_rows = [], []

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            self.rows.extend(np.asarray(data[0])[:, 0].astype(int))
            return {"rows": len(self.rows)}

    class EndOfEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.epoch_rows.append(np.array(self.model.rows))
            self.model.rows.clear()

    for start in (0, 2):
        model = Recorder()
        model.compile(run_eagerly=True)
        model.fit(make_dataset(x, batch_size=8, seed=3, first_epoch=start), initial_epoch=start, epochs=4, verbose=0,
                  shuffle=False, callbacks=[EndOfEpoch()])
        assert len(model.epoch_rows) == 4 - start
        for epoch, seen in enumerate(model.epoch_rows, start=start):
            np.testing.assert_array_equal(seen, uninterrupted[epoch], err_msg=f"start {start}, epoch {epoch}")


# ---- keras-ae run all --resume ------------------------------------------------------------------

@pytest.fixture
def two_questions():
    """Questions X and Y (Y reads X's outputs, as C reads B's), registered for ``run all``; each
    run appends its id to ``calls`` and writes a figure and a table; ``fail`` makes one fail."""
    from keras_ae import questions
    from keras_ae.questions import Question, RunResult
    from keras_ae.reporting import write_table

    calls, fail = [], set()

    def make(qid):
        def build_parser():
            from keras_ae.questions.common import QuestionParser, add_preset_argument

            parser = QuestionParser(prog=qid)
            for option in ("--output-dir", "--saved-models-dir", "--data-dir", "--reads"):
                parser.add_argument(option)
            parser.add_argument("--seed", type=int)
            parser.add_argument("--verbose", type=int)
            parser.add_argument("--size", default="sheet")
            if qid == "X":  # X has a paper's configuration
                add_preset_argument(parser, {"paper": {"size": "paper"}}, help="the paper's set-up")
            return parser

        def run(args):
            calls.append(qid)
            if qid in fail:
                raise RuntimeError(f"{qid} broken")
            figure = os.path.join(args.output_dir, "figure.png")
            os.makedirs(args.output_dir, exist_ok=True)
            with open(figure, "wb") as fh:
                fh.write(b"\x89PNG not really")
            calls[-1] += f"({args.size})" if args.size != "sheet" else ""
            if args.size == "resumed":  # as a fit resumed from a backup after 120 s of training does
                from keras_ae.callbacks import TrainingBackup

                TrainingBackup.seconds_resumed_in_process += 120.0
            table = write_table([{"seed": args.seed, "size": args.size}], os.path.join(args.output_dir, "t"))
            return RunResult.of(questions.QUESTIONS[qid], figures=[figure], tables=table)

        questions.QUESTIONS[qid] = Question(
            id=qid, title=f"test question {qid}", sheet="none", build_parser=build_parser, run=run,
            presets={"paper": {"size": "paper"}} if qid == "X" else {},
            run_all_args=(lambda root: ["--reads", os.path.join(root, "question_x")]) if qid == "Y" else None)

    for qid in "XY":
        make(qid)
    yield calls, fail
    for qid in "XY":
        questions.QUESTIONS.pop(qid)


def _run_all_xy(calls, tmp_path, capsys, *extra):
    """``keras-ae run all --only X Y`` into ``tmp_path``: exit code, the questions run, the progress lines."""
    from keras_ae.cli import main

    calls.clear()
    code = main(["run", "all", "--only", "X", "Y", "--output-dir", str(tmp_path / "results"), "--saved-models-dir",
                 str(tmp_path / "models"), *extra])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    return code, list(calls), lines


def test_run_all_resume_skips_only_questions_completed_with_the_same_settings(two_questions, tmp_path, capsys):
    import json

    from keras_ae.report import read_record

    calls, fail = two_questions
    out = tmp_path / "results"

    def run_all(*extra):
        return _run_all_xy(calls, tmp_path, capsys, *extra)

    fail.add("Y")
    assert run_all()[:2] == (1, ["X", "Y"])
    assert read_record(str(out / "question_x"))["status"] == "ok"
    assert read_record(str(out / "question_y"))["status"] == "failed"
    code, ran, lines = run_all("--resume")  # Y failed: only Y runs again
    assert (code, ran) == (1, ["Y"])
    assert "question X: skipped, completed earlier with the same settings" in lines[0] and len(lines) == 3
    assert "run again: its last run failed" in lines[1]
    fail.clear()
    assert run_all("--resume")[:2] == (0, ["Y"])
    code, ran, lines = run_all("--resume")  # everything done: nothing runs, one line per question
    assert (code, ran) == (0, []) and len(lines) == 2 and all("skipped" in line for line in lines)
    report = json.loads((out / "report.json").read_text())  # the report still covers both
    assert [(q["question"], q["status"], q["skipped"]) for q in report["questions"]] == [("X", "ok", True),
                                                                                          ("Y", "ok", True)]
    assert report["questions"][0]["figures"] == [str(out / "question_x" / "figure.png")]
    assert report["questions"][0]["tables"]["t"] == [{"seed": "0", "size": "sheet"}]
    assert report["questions"][1]["seconds"] == read_record(str(out / "question_y"))["seconds"]
    assert report["run"]["skipped"] == ["X", "Y"]
    assert "not run again by --resume" in (out / "report.html").read_text()

    (out / "question_y" / "figure.png").unlink()  # outputs gone: Y runs again
    assert run_all("--resume")[1] == ["Y"]
    code, ran, lines = run_all("--resume", "--seed", "1")  # other settings: both run again
    assert ran == ["X", "Y"] and "its options changed (seed)" in lines[0]
    (out / "question_x" / "figure.png").unlink()
    assert run_all("--resume", "--only", "X", "--seed", "1")[1] == ["X"]
    code, ran, lines = run_all("--resume", "--seed", "1")  # Y reads the outputs of X, which ran again
    assert ran == ["Y"] and "X, whose outputs it reads, ran again" in lines[1]
    record = read_record(str(out / "question_x"))
    record["status"] = "running"  # a run killed in the middle leaves its record at "running"
    (out / "question_x" / "run_record.json").write_text(json.dumps(record))
    assert run_all("--resume", "--seed", "1")[1] == ["X", "Y"]  # X was interrupted; Y reads X's outputs
    assert run_all("--seed", "1")[1] == ["X", "Y"]  # without --resume everything runs


def test_run_all_counts_the_training_time_before_a_resume(two_questions, tmp_path, capsys):
    from keras_ae.report import read_record

    import dataclasses

    from keras_ae import questions

    calls, _ = two_questions
    x_question = questions.QUESTIONS["X"]

    def build_resumed():
        parser = x_question.build_parser()
        parser.set_defaults(size="resumed")
        return parser

    questions.QUESTIONS["X"] = dataclasses.replace(x_question, build_parser=build_resumed)
    try:
        code, _, _ = _run_all_xy(calls, tmp_path, capsys)
    finally:
        questions.QUESTIONS["X"] = x_question
    assert code == 0
    x = read_record(str(tmp_path / "results" / "question_x"))
    y = read_record(str(tmp_path / "results" / "question_y"))
    assert 120.0 <= x["seconds"] < 150.0 and y["seconds"] < 30.0  # Y resumed nothing: none of X's time


def test_run_all_presets_run_after_the_questions_in_their_own_folders(two_questions, tmp_path, capsys):
    import json

    from keras_ae.report import read_record

    calls, _ = two_questions
    out = tmp_path / "results"

    def run_all(*extra):
        return _run_all_xy(calls, tmp_path, capsys, *extra)[:2]

    assert run_all() == (0, ["X", "Y"])  # without --presets: the sheets' configurations only
    assert run_all("--resume", "--presets") == (0, ["X(paper)"])  # only the preset is new
    record = read_record(str(out / "question_x_paper"))
    assert (record["question"], record["preset"], record["status"]) == ("X", "paper", "ok")
    assert record["settings"]["options"]["preset"] == "paper"
    report = json.loads((out / "report.json").read_text())
    assert [q["key"] for q in report["questions"]] == ["X", "Y", "X:paper"]
    assert report["questions"][2]["tables"]["t"] == [{"seed": "0", "size": "paper"}]
    assert report["questions"][0]["tables"]["t"] == [{"seed": "0", "size": "sheet"}]  # not overwritten
    html = (out / "report.html").read_text()
    assert 'id="qX_paper"' in html and "Question X, preset paper" in html
    assert run_all("--resume", "--presets") == (0, [])


def test_run_all_only_a_preset_runs_that_preset_alone(two_questions, tmp_path, capsys):
    """``--only X:paper`` runs X's preset without X's own run; unknown names end in exit code 2."""
    import json

    from keras_ae.cli import main

    calls, _ = two_questions
    out = tmp_path / "results"
    code = main(["run", "all", "--only", "X:paper", "--output-dir", str(out), "--saved-models-dir",
                 str(tmp_path / "models")])
    assert (code, calls) == (0, ["X(paper)"])
    report = json.loads((out / "report.json").read_text())
    assert [q["key"] for q in report["questions"]] == ["X:paper"]
    assert not (out / "question_x").exists()
    calls.clear()  # a preset named and implied by --presets runs once
    assert main(["run", "all", "--only", "X:paper", "X", "--presets", "--output-dir", str(out),
                 "--saved-models-dir", str(tmp_path / "models")]) == 0
    assert calls == ["X", "X(paper)"]
    capsys.readouterr()
    for bad, message in (("X:nope", "question X has no preset 'nope' (its presets: paper)"),
                         ("Y:paper", "question Y has no preset 'paper' (its presets: none)"),
                         ("Q", "unknown question 'Q'")):
        with pytest.raises(SystemExit) as exc:
            main(["run", "all", "--only", bad, "--output-dir", str(out)])
        assert exc.value.code == 2 and message in capsys.readouterr().err


def test_question_settings_are_stable_for_every_question(tmp_path):
    """Two parses of a question's ``run all`` options give equal settings: a completed question
    is recognised (no option default drawn at random or from the clock)."""
    from keras_ae.questions import QUESTIONS, get_question
    from keras_ae.report import question_argv, question_settings

    for qid in QUESTIONS:
        question = get_question(qid)
        argv = question_argv(question, str(tmp_path), str(tmp_path / "m"), True, None, 0)
        first = question_settings(question.build_parser().parse_args(argv), {})
        assert first == question_settings(question.build_parser().parse_args(argv), {}), qid
        assert "verbose" not in first["options"] and first["options"]["seed"] == 0


def test_run_all_resume_skips_a_real_completed_question(tmp_path, capsys):
    from keras_ae.cli import main

    argv = ["run", "all", "--quick", "--only", "G", "--output-dir", str(tmp_path), "--saved-models-dir",
            str(tmp_path / "models"), "--verbose", "0"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv + ["--resume"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[1/1]")]
    assert len(lines) == 1 and "question G: skipped" in lines[0]
