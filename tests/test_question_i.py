"""Question I: the labelled subset, the classifier really starting from the pretrained encoder
(and never changing it), the frozen probe, and a short run with its SavedModel in a fresh process."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_python

UNITS = [64, 16]


def test_stratified_subset_is_balanced_and_seeded():
    from keras_ae.questions.question_i import stratified_subset

    labels = np.repeat(np.arange(10), 50)
    idx = stratified_subset(labels, 100, seed=0)
    assert len(idx) == 100 == len(np.unique(idx))
    assert np.bincount(labels[idx], minlength=10).tolist() == [10] * 10
    assert np.array_equal(idx, stratified_subset(labels, 100, seed=0))
    assert not np.array_equal(idx, stratified_subset(labels, 100, seed=1))
    assert np.bincount(labels[stratified_subset(labels, 23, seed=2)], minlength=10).tolist() == [3] * 3 + [2] * 7
    with pytest.raises(ValueError):
        stratified_subset(labels, 0, seed=0)
    with pytest.raises(ValueError, match="cannot draw"):
        stratified_subset(labels, 501, seed=0)
    with pytest.raises(ValueError, match="class 1 has 50"):  # 600 = 60 per class, but only zeros have 60+
        stratified_subset(np.concatenate([labels, np.zeros(100, int)]), 600, seed=0)


@pytest.fixture(scope="module")
def pretrained(mnist_small):
    import keras

    from keras_ae.losses import get_loss
    from keras_ae.questions.common import seed_everything
    from keras_ae.questions.question_i import build_pretraining_autoencoder

    x_train = mnist_small[0]
    seed_everything(0)
    ae = build_pretraining_autoencoder(UNITS, "relu", seed=0)
    ae.compile(optimizer=keras.optimizers.Adam(1e-3), loss=get_loss("cross_entropy"))
    ae.fit(x_train, x_train, epochs=2, batch_size=128, verbose=0)
    return ae


def _equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_classifier_starts_from_the_pretrained_encoder_weights(pretrained, mnist_small):
    import keras

    from keras_ae.questions.question_i import build_classifier, build_pretraining_autoencoder

    x, y = mnist_small[0][:256], mnist_small[1][:256]
    before = [w.copy() for w in pretrained.encoder.get_weights()]
    fresh = build_pretraining_autoencoder(UNITS, "relu", seed=0).encoder.get_weights()  # same seed, no training
    clf = build_classifier("pretrained", pretrained.encoder, UNITS, "relu", seed=0)
    start = clf.encoder.get_weights()
    # the classifier's encoder layers hold exactly the pretrained weights before fine-tuning ...
    assert [w.shape for w in start] == [(784, 64), (64,), (64, 16), (16,)]
    assert _equal(start, before)
    # ... which are not what the initialiser gives (pretraining moved them) ...
    assert not any(np.array_equal(a, b) for a, b in zip(start, fresh) if a.ndim == 2)
    # ... in variables of its own, so fine-tuning changes the copy and never the autoencoder
    assert {id(v) for v in clf.encoder.weights}.isdisjoint(id(v) for v in pretrained.encoder.weights)
    clf.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    clf.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert not _equal(clf.encoder.get_weights(), before)
    assert _equal(pretrained.encoder.get_weights(), before)
    # the scratch classifier has the same architecture but none of the pretrained weights
    scratch = build_classifier("scratch", pretrained.encoder, UNITS, "relu", seed=0)
    assert [w.shape for w in scratch.encoder.get_weights()] == [w.shape for w in before]
    assert not any(np.array_equal(a, b) for a, b in zip(scratch.encoder.get_weights(), before) if a.ndim == 2)
    head_shapes = [w.shape for w in clf.head.get_weights()]
    assert [w.shape for w in scratch.head.get_weights()] == head_shapes == [(16, 10), (10,)]


def test_frozen_probe_trains_only_the_head(pretrained, mnist_small):
    import keras

    from keras_ae.questions.question_i import build_classifier

    x, y = mnist_small[0][:256], mnist_small[1][:256]
    clf = build_classifier("frozen", pretrained.encoder, UNITS, "relu", seed=0)
    encoder_before = [w.copy() for w in clf.encoder.get_weights()]
    head_before = [w.copy() for w in clf.head.get_weights()]
    assert len(clf.trainable_weights) == 2  # the head's kernel and bias only
    clf.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    clf.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert _equal(clf.encoder.get_weights(), encoder_before)
    assert _equal(clf.encoder.get_weights(), pretrained.encoder.get_weights())
    assert not _equal(clf.head.get_weights(), head_before)


def test_lp_ft_starts_frozen_then_fine_tunes_and_zero_head_starts_uniform(pretrained, mnist_small):
    from keras_ae.questions.question_i import FineTuner, build_classifier

    x, y = mnist_small[0][:128], mnist_small[1][:128]
    clf = build_classifier("lp_ft", pretrained.encoder, UNITS, "relu", seed=0, head_init="zeros")
    assert not clf.encoder.trainable and len(clf.trainable_weights) == 2
    assert _equal(clf.encoder.get_weights(), pretrained.encoder.get_weights())
    assert all(not w.any() for w in clf.head.get_weights())
    np.testing.assert_allclose(clf.predict(x[:5], verbose=0), 0.1, atol=1e-6)  # every class equally likely
    FineTuner(UNITS, "relu", batch_size=32, learning_rate=1e-3).fit(clf, "lp_ft", x, y, epochs=2, seed=0)
    assert clf.encoder.trainable  # the second phase fine-tunes the encoder too ...
    assert not _equal(clf.encoder.get_weights(), pretrained.encoder.get_weights())
    with pytest.raises(ValueError, match="head initialiser"):
        build_classifier("pretrained", pretrained.encoder, UNITS, "relu", seed=0, head_init="ones")
    with pytest.raises(ValueError, match="unknown method"):
        build_classifier("magic", pretrained.encoder, UNITS, "relu", seed=0)


def _fresh_fine_tune(clf, method, x, y, epochs, seed, steps, xla):
    """The reference: the classifier itself compiled with a new Adam and fitted, per phase."""
    import keras

    from keras_ae.data import make_dataset

    phases = [epochs] if method != "lp_ft" else [epochs // 2, epochs - epochs // 2]
    for i, n in enumerate(phases):
        if i == 1:
            clf.encoder.trainable = True
        clf.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"], jit_compile=xla)
        history = clf.fit(make_dataset(x, y, batch_size=16, seed=seed + i, steps_per_batch=steps), epochs=n,
                          shuffle=False, verbose=0)
    return history.history["accuracy"][-1], clf.evaluate(x, y, verbose=0)[1]


FINE_TUNE_CASES = [("scratch", "glorot", 0), ("lp_ft", "zeros", 1), ("lp_ft", "glorot", 2), ("pretrained", "glorot", 3)]


@pytest.mark.parametrize("steps, xla, cases", [(1, False, FINE_TUNE_CASES), (4, True, FINE_TUNE_CASES[1::2])])
def test_fine_tuner_reusing_compiled_workers_equals_a_fresh_compile_per_run(pretrained, mnist_small, steps, xla,
                                                                            cases):
    """Several runs in a row on the fine-tuner's two reused workers (weights loaded, Adam reset) end
    with the weights and accuracies of building, compiling and fitting each classifier anew."""
    from keras_ae.questions.question_i import FineTuner, build_classifier

    x, y = mnist_small[0][:70], mnist_small[1][:70]  # 5 minibatches of 16, the last of 6 rows
    tuner = FineTuner(UNITS, "relu", batch_size=16, learning_rate=1e-3, steps_per_batch=steps, jit_compile=xla)
    for method, head, seed in cases:  # under XLA (compiling is slow) the two-phase and a one-phase method
        mine = build_classifier(method, pretrained.encoder, UNITS, "relu", seed, head)
        ref = build_classifier(method, pretrained.encoder, UNITS, "relu", seed, head,
                               minibatch_size=16 if steps > 1 else None)
        assert _equal(mine.get_weights(), ref.get_weights())
        train_acc = tuner.fit(mine, method, x, y, epochs=4, seed=seed)
        ref_train_acc, ref_acc = _fresh_fine_tune(ref, method, x, y, 4, seed, steps, xla)
        for a, b in zip(mine.get_weights(), ref.get_weights()):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6, err_msg=f"{method} seed {seed}")
        assert not _equal(mine.get_weights(), build_classifier(method, pretrained.encoder, UNITS, "relu", seed,
                                                               head).get_weights())  # it did train
        assert train_acc == pytest.approx(ref_train_acc, abs=1e-6)
        assert tuner.accuracy(mine, x, y) == pytest.approx(ref_acc, abs=1e-6)
        assert mine.encoder.trainable == ref.encoder.trainable


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from keras_ae.questions import question_i

    root = tmp_path_factory.mktemp("question_i")
    args = question_i.build_parser().parse_args([
        "--epochs", "2", "--train-limit", "3000", "--test-limit", "500", "--encoder-units", *map(str, UNITS),
        "--labels", "30", "100", "--seeds", "0", "1", "--finetune-epochs", "4", "--num-images", "6",
        "--output-dir", str(root / "results"), "--saved-models-dir", str(root / "saved_models"), "--verbose", "0"])
    return root, question_i.run(args)


def test_short_run_writes_figures_and_mean_and_spread(short_run):
    from keras_ae.questions import question_i

    root, result = short_run
    for path in result.figures.values():
        assert Path(path).is_file() and Path(path).stat().st_size > 5_000
    methods = ("scratch", "pretrained", "frozen", "lp_ft")
    assert len(result.details["runs"]) == 2 * 2 * 2 * 4  # labels x seeds x head inits x methods
    with open(root / "results" / "test_accuracy.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["labels"], r["head_init"], r["method"]) for r in rows] == [
        (n, h, m) for n in ("30", "100") for h in ("glorot", "zeros") for m in methods]
    for row in rows:
        accs = [r["test_accuracy"] for r in result.details["runs"]
                if (str(r["labels"]), r["head_init"], r["method"]) == (row["labels"], row["head_init"], row["method"])]
        assert len(accs) == int(row["seeds"]) == 2
        assert float(row["mean_test_accuracy"]) == pytest.approx(np.mean(accs), abs=1e-4)
        assert float(row["std_test_accuracy"]) == pytest.approx(np.std(accs, ddof=1), abs=1e-4)
        assert 0.0 <= float(row["min"]) <= float(row["max"]) <= 1.0
    assert (root / "results" / "test_accuracy.md").read_text().startswith("Question I: MNIST test accuracy")
    # the frozen encoder's probe is fitted to its optimum: the head's start no longer shows
    frozen = {(r["labels"], r["seed"], r["head_init"]): r for r in result.details["runs"] if r["method"] == "frozen"}
    for (n, seed, head), r in frozen.items():
        twin = frozen[(n, seed, "zeros" if head == "glorot" else "glorot")]
        assert r["probe_l2"] == twin["probe_l2"] in question_i.PROBE_L2
        assert r["probe_training_loss"] == pytest.approx(twin["probe_training_loss"], abs=1e-5)
        assert abs(r["test_accuracy"] - twin["test_accuracy"]) <= 2 / 500  # a near-tie image or two at most
    assert all(r["probe_l2"] == "" for r in result.details["runs"] if r["method"] != "frozen")
    assert all(0.0 <= float(r["mean_validation_accuracy"]) <= 1.0 for r in rows)
    with open(root / "results" / "classifier_selection.csv") as fh:
        candidates = list(csv.DictReader(fh))
    assert {r["method"] for r in candidates} == {"pretrained", "frozen", "lp_ft"} and len(candidates) == 6
    [chosen] = [r for r in candidates if r["chosen"] == "yes"]
    assert float(chosen["mean_validation_accuracy"]) == max(float(r["mean_validation_accuracy"]) for r in candidates)
    assert (result.details["selection"]["method"], result.details["selection"]["head_init"]) == (chosen["method"], chosen["head_init"])


def test_exported_classifier_classifies_in_a_fresh_process(short_run, mnist_small, tmp_path):
    from keras_ae.data import flatten, load_dataset, to_unit

    root, result = short_run
    export = result.models["classifier"]
    meta = json.loads((Path(export) / "metadata.json").read_text())
    assert meta["method"] in ("pretrained", "frozen", "lp_ft") and meta["labels"] == 100
    assert meta["head_init"] in ("glorot", "zeros")
    test = load_dataset("mnist", "test")
    np.save(tmp_path / "x.npy", flatten(to_unit(test.images[:500])))
    np.save(tmp_path / "y.npy", test.labels[:500])
    code = f"""
import json, numpy as np, tensorflow as tf
m = tf.saved_model.load({export!r})
x, y = np.load({str(tmp_path / 'x.npy')!r}), np.load({str(tmp_path / 'y.npy')!r})
p = m.classify(x)["probabilities"].numpy()
c = m.predict_class(x)["classes"].numpy()
print(json.dumps({{"shape": p.shape, "sums": float(np.abs(p.sum(1) - 1).max()),
                  "argmax": bool((p.argmax(1) == c).all()), "acc": float((c == y).mean()),
                  "code": m.encode(x[:3])["codes"].numpy().shape}}))
"""
    out = json.loads(run_python(code).strip().splitlines()[-1])
    assert out["shape"] == [500, 10] and out["sums"] < 1e-5 and out["argmax"]
    assert out["code"] == [3, UNITS[-1]]
    assert out["acc"] == pytest.approx(meta["test_accuracy"], abs=1e-6)  # the model that was measured
    ae = Path(result.models["autoencoder"])
    assert (ae / "saved_model.pb").is_file()


def test_exported_classifier_round_trips_through_keras_file(short_run):
    from keras_ae.export import InferenceModel, load_keras_model
    from keras_ae.models import EncoderClassifier

    root, result = short_run
    model = load_keras_model(result.models["classifier"])
    assert isinstance(model, EncoderClassifier)
    info = InferenceModel(result.models["classifier"])
    assert {"classify", "predict_class", "encode"} <= set(info.endpoints)
    x = np.random.default_rng(0).random((4, 784)).astype(np.float32)
    np.testing.assert_allclose(info("classify", x), model.predict(x, verbose=0), atol=1e-5)


def test_validation_split_is_seeded_disjoint_and_refuses_taking_everything():
    from keras_ae.errors import ConfigError
    from keras_ae.questions.question_i import validation_split

    train, val = validation_split(1000, 100, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(1000))
    assert np.array_equal(val, validation_split(1000, 100, seed=3)[1])
    assert not np.array_equal(val, validation_split(1000, 100, seed=4)[1])
    with pytest.raises(ConfigError, match="--validation-size"):
        validation_split(1000, 1000, seed=0)


def test_exported_classifier_is_chosen_on_held_out_training_images_never_on_the_test_set(monkeypatch, tmp_path):
    """Rig the accuracies the fine-tuner reports so that the test set and the validation split disagree:
    the test set says ``pretrained`` is the only good method, the held-out training images say
    ``frozen`` is. The export (read from its metadata) follows the validation split."""
    from keras_ae.questions import question_i

    test_size = 300  # no other set is evaluated with this many images: the rig recognises the test set by it
    accuracy = question_i.FineTuner.accuracy
    methods = ["pretrained", "frozen", "lp_ft"]
    rig = {("test", m): float(m == "pretrained") for m in methods}
    rig.update({("other", m): float(m == "frozen") for m in methods})
    seen = set()

    def rigged_accuracy(self, clf, x, y):
        measured = accuracy(self, clf, x, y)
        which = "test" if len(x) == test_size else "other"
        seen.add(which)
        return rig.get((which, clf.name.replace("question_i_classifier_", "")), measured)

    monkeypatch.setattr(question_i.FineTuner, "accuracy", rigged_accuracy)
    root = tmp_path / "rigged"
    question_i.run(question_i.build_parser().parse_args([
        "--epochs", "1", "--train-limit", "1000", "--test-limit", str(test_size), "--encoder-units", "32", "16",
        "--labels", "20", "--seeds", "0", "--finetune-epochs", "2", "--methods", *methods, "--num-images", "4",
        "--output-dir", str(root / "results"), "--saved-models-dir", str(root / "models"), "--verbose", "0"]))
    meta = json.loads((root / "models" / "question_i_classifier" / "metadata.json").read_text())
    assert seen == {"test", "other"}  # both sets were measured through the rig
    assert meta["method"] == "frozen" and meta["test_accuracy"] == 0.0  # the test set's verdict played no part
    assert "validation" in meta["chosen_by"] and meta["validation_accuracy"] == 1.0


def test_summarise_and_choose_export_are_pure_functions_of_the_runs():
    """The evaluation stage on canned runs, without training: means and spreads over the seeds, and
    the export chosen by mean validation accuracy (test accuracy playing no part)."""
    from keras_ae.questions.question_i import choose_export, summarise

    runs = [{"labels": n, "seed": s, "head_init": "zeros", "method": m, "validation_accuracy": val + 0.01 * s,
             "test_accuracy": test + 0.02 * s, "train_accuracy": 1.0}
            for n in (10, 20) for s in (0, 1)
            for m, val, test in [("scratch", 0.9, 0.99), ("pretrained", 0.5, 0.95), ("frozen", 0.6, 0.4)]]
    rows = summarise(runs, [10, 20], [("zeros", "scratch"), ("zeros", "pretrained"), ("zeros", "frozen")])
    assert [(r["labels"], r["method"]) for r in rows] == [(n, m) for n in (10, 20)
                                                          for m in ("scratch", "pretrained", "frozen")]
    frozen = rows[2]
    assert (frozen["mean_validation_accuracy"], frozen["mean_test_accuracy"], frozen["min"], frozen["max"]) == \
        (0.605, 0.41, 0.4, 0.42)
    assert frozen["std_test_accuracy"] == pytest.approx(np.std([0.4, 0.42], ddof=1), abs=1e-4)
    assert frozen["seeds"] == 2
    choice = choose_export(rows, runs, labels=20, seed=1, validation_images=7)
    # scratch is no use of the pretrained encoder; frozen has the best validation accuracy, not the best test
    assert choice["best"]["method"] == "frozen" and len(choice["candidates"]) == 2
    assert choice["run"]["seed"] == 1 and choice["run"]["labels"] == 20
    assert choice["selection"]["exported_test_accuracy"] == pytest.approx(0.42)
    assert "7 held-out" in choice["selection"]["chosen_by"]


def _canned_codes(n: int, rng, centres):
    """Codes of three overlapping classes, offset and scaled like a ReLU code (mean 5, spread 3)."""
    y = np.arange(n) % 3
    return 5.0 + 3.0 * (centres[y] + rng.normal(0.0, 1.0, (n, centres.shape[1]))), y


def test_probe_reaches_the_same_optimum_from_either_head_and_says_when_it_does_not(capsys):
    """The frozen encoder's head is an L2-penalised logistic regression fitted to its optimum: a Glorot
    and a zero start end with the same loss, weights and accuracy (that of scikit-learn's solver on the
    standardised codes); stopped after 5 iterations they do not, and the run says so."""
    from sklearn.linear_model import LogisticRegression

    from keras_ae.questions.question_i import fit_softmax_head

    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 1.0, (3, 8))
    (x, y), (x_test, y_test) = _canned_codes(60, rng, centres), _canned_codes(3000, rng, centres)
    glorot = np.random.default_rng(5).uniform(-(6 / 11) ** 0.5, (6 / 11) ** 0.5, (8, 3))
    starts = {"glorot": glorot, "zeros": np.zeros((8, 3))}

    def fits(**kw):
        return {h: fit_softmax_head(x, y, 0.01, k, np.zeros(3), **kw) for h, k in starts.items()}

    def accuracy(fit):
        return float(((x_test @ fit.kernel + fit.bias).argmax(1) == y_test).mean())

    done = fits()
    assert capsys.readouterr().out == ""
    assert all(f.converged for f in done.values())
    assert done["glorot"].loss == pytest.approx(done["zeros"].loss, rel=1e-9)
    np.testing.assert_allclose(done["glorot"].kernel, done["zeros"].kernel, atol=1e-5)
    assert accuracy(done["glorot"]) == accuracy(done["zeros"]) > 0.8
    # the optimum of the same objective by another solver: C = 1 / (l2 * n) on the standardised codes
    z = (x - x.mean(0)) / x.std(0)
    reference = LogisticRegression(C=1 / (0.01 * len(x)), tol=1e-10, max_iter=10_000).fit(z, y)
    np.testing.assert_allclose(done["zeros"].kernel * x.std(0)[:, None], reference.coef_.T, atol=1e-4)

    capped = fits(max_iterations=5)
    assert "warning: the linear probe (l2 0.01) stopped after 5 L-BFGS iterations" in capsys.readouterr().out
    assert not any(f.converged for f in capped.values())
    assert capped["glorot"].loss > done["glorot"].loss + 1e-2  # short of the optimum ...
    assert accuracy(capped["glorot"]) != accuracy(capped["zeros"])  # ... and the start shows


def test_fit_probe_fits_the_keras_head_on_frozen_codes_choosing_the_penalty_on_validation(pretrained, mnist_small):
    """Through the Keras classifier: either head init gives the same head, penalty and predictions;
    the encoder is untouched; the penalty kept is the one with the lowest validation cross-entropy."""
    from keras_ae.questions.question_i import (FineTuner, _codes, _softmax_cross_entropy, build_classifier,
                                               fit_probe, fit_softmax_head)

    x, y = mnist_small[0][:100], mnist_small[1][:100]
    x_val, y_val = mnist_small[0][1000:1400], mnist_small[1][1000:1400]
    grid = (1e-3, 1e-1, 10.0)
    clfs = {h: build_classifier("frozen", pretrained.encoder, UNITS, "relu", seed=0, head_init=h)
            for h in ("glorot", "zeros")}
    assert not _equal(clfs["glorot"].head.get_weights(), clfs["zeros"].head.get_weights())
    probes = {h: fit_probe(clf, x, y, x_val, y_val, grid) for h, clf in clfs.items()}
    assert probes["glorot"].l2 == probes["zeros"].l2
    assert probes["glorot"].loss == pytest.approx(probes["zeros"].loss, rel=1e-6)
    p = {h: clf.predict(x_val, verbose=0) for h, clf in clfs.items()}
    np.testing.assert_allclose(p["glorot"], p["zeros"], atol=1e-4)
    for clf in clfs.values():
        assert _equal(clf.encoder.get_weights(), pretrained.encoder.get_weights())
    kernel, bias = clfs["zeros"].head.get_weights()  # the Keras head holds the fitted probe
    codes = _codes(clfs["zeros"].encoder, x_val)
    np.testing.assert_allclose(kernel, probes["zeros"].kernel, rtol=1e-5, atol=1e-6)
    logits = codes @ kernel + bias
    np.testing.assert_allclose(p["zeros"], np.exp(logits - logits.max(1, keepdims=True)) /
                               np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True), atol=1e-5)
    train_codes = _codes(clfs["zeros"].encoder, x)
    losses = {}
    for l2 in grid:
        f = fit_softmax_head(train_codes, y, l2, np.zeros((UNITS[-1], 10)), np.zeros(10))
        losses[l2] = _softmax_cross_entropy(f.kernel, f.bias, codes, y_val)[0]
    assert probes["zeros"].l2 == min(losses, key=losses.get)
    assert probes["zeros"].validation_loss == pytest.approx(losses[probes["zeros"].l2], rel=1e-6)
    with pytest.raises(ValueError, match="fit_probe"):
        FineTuner(UNITS, "relu", batch_size=32, learning_rate=1e-3).fit(clfs["zeros"], "frozen", x, y, 1, 0)
