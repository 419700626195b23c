"""Question H (PCA vs deep autoencoder): the error metric by hand, the PCA baseline, a short run."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.conftest import run_python


def test_average_squared_error_matches_hand_computation():
    from keras_ae.questions.question_h import average_squared_error

    x = np.array([[0.0, 1.0, 0.5], [1.0, 1.0, 1.0]])
    z = np.array([[0.5, 1.0, 0.0], [1.0, 0.0, 1.0]])
    # image 1: 0.25 + 0 + 0.25 = 0.5; image 2: 0 + 1 + 0 = 1; mean 0.75 (sum over pixels, mean over images)
    assert average_squared_error(x, z) == pytest.approx(0.75)
    assert average_squared_error(x, x) == 0.0
    with pytest.raises(ValueError):
        average_squared_error(x, z[:, :2])


def test_pca_baseline_is_exact_on_low_rank_data_and_matches_numpy_svd():
    from keras_ae.baselines import fit_pca, pca_as_autoencoder, pca_reconstruct
    from keras_ae.questions.question_h import average_squared_error

    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 20))
    low_rank = (rng.normal(size=(200, 3)) @ basis + 0.5).astype(np.float32)
    pca = fit_pca(low_rank, 3)
    assert average_squared_error(low_rank, pca_reconstruct(pca, low_rank)) < 1e-8

    x = rng.random((300, 20)).astype(np.float32)
    test = rng.random((50, 20)).astype(np.float32)
    pca = fit_pca(x, 5)
    mean = x.mean(axis=0)
    w = np.linalg.svd(x - mean, full_matrices=False)[2][:5]  # top-5 principal directions
    by_hand = (test - mean) @ w.T @ w + mean
    np.testing.assert_allclose(pca_reconstruct(pca, test), by_hand, atol=1e-4)
    # the same PCA as a linear Keras autoencoder (what gets exported)
    ae = pca_as_autoencoder(pca)
    np.testing.assert_allclose(ae.predict(test, verbose=0), by_hand, atol=1e-4)
    np.testing.assert_allclose(np.abs(ae.encoder.predict(test, verbose=0)), np.abs((test - mean) @ w.T), atol=1e-4)
    with pytest.raises(ValueError):
        fit_pca(x, 0)


def test_default_deep_autoencoder_is_the_papers_architecture():
    from keras_ae.questions.question_h import build_model

    model = build_model()
    enc = [layer for layer in model.encoder.layers if hasattr(layer, "units")]
    dec = [layer for layer in model.decoder.layers if hasattr(layer, "units")]
    assert [layer.units for layer in enc] == [1000, 500, 250, 30]
    assert [layer.units for layer in dec] == [250, 500, 1000, 784]
    acts = [layer.activation.__name__ for layer in enc + dec]
    assert acts == ["sigmoid"] * 3 + ["linear"] + ["sigmoid"] * 4  # logistic units, linear 30-d code
    assert all(np.all(layer.get_weights()[1] == 0) for layer in enc + dec)  # zero biases


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from keras_ae.questions import get_question

    q = get_question("H")
    root = tmp_path_factory.mktemp("question_h")
    args = q.build_parser().parse_args([
        "--epochs", "2", "--train-limit", "1000", "--test-limit", "300", "--units", "64", "32",
        "--code-dim", "8", "--output-dir", str(root / "results"), "--saved-models-dir", str(root / "saved_models"),
        "--verbose", "0"])
    return q.run(args), root


def test_short_run_writes_figures_and_the_error_table(short_run):
    from keras_ae.baselines import fit_pca, pca_reconstruct
    from keras_ae.data import flatten, load_dataset, to_unit
    from keras_ae.export import load_keras_model
    from keras_ae.questions.question_h import average_squared_error

    result, root = short_run
    for fig in result.figures.values():
        assert os.path.getsize(fig) > 1000, fig
    ae_row, pca_row = result.details["rows"]
    assert ae_row["method"].startswith("deep autoencoder 784-64-32-8") and pca_row["method"] == "PCA"
    assert (ae_row["paper_test_error"], pca_row["paper_test_error"]) == (3.00, 13.87)
    x_train = flatten(to_unit(load_dataset("mnist", "train").images[:1000]))
    x_test = flatten(to_unit(load_dataset("mnist", "test").images[:300]))
    # the table's numbers are the metric applied to the models' reconstructions
    pca = fit_pca(x_train, 8)
    assert pca_row["test_error"] == pytest.approx(average_squared_error(x_test, pca_reconstruct(pca, x_test)), rel=1e-4)
    model = load_keras_model(os.path.join(result.models["deep_autoencoder"]))
    assert ae_row["test_error"] == pytest.approx(average_squared_error(x_test, model.predict(x_test, verbose=0)),
                                                 rel=1e-4)
    # the per-epoch Keras metric is the same quantity as the table's number
    assert result.details["history"]["val_squared_error"][-1] == pytest.approx(ae_row["test_error"], rel=1e-3)
    table = open(next(iter(result.tables.values()))[:-4] + ".md").read()
    assert "13.87" in table and "3" in table and "average squared reconstruction error" in table
    # the paired difference is over the same 300 images: its mean is the difference of the two errors
    assert ae_row["test_error_minus_pca"] == pytest.approx(ae_row["test_error"] - pca_row["test_error"], rel=1e-9)
    assert ae_row["test_images"] == pca_row["test_images"] == 300 and pca_row["test_error_minus_pca"] == ""
    from keras_ae.questions.question_h import QUESTION

    answered = QUESTION.answers({"reconstruction_errors": result.rows("reconstruction_errors")})
    assert [a["item"] for a in answered] == [ask.item for ask in QUESTION.asks]  # from the CSV the run wrote


def test_both_exports_reconstruct_without_keras_ae(short_run):
    result, _ = short_run
    ae, pca = result.models["deep_autoencoder"], result.models["pca"]
    assert json.load(open(os.path.join(pca, "metadata.json")))["question"] == "H"
    out = run_python(
        "import numpy as np, tensorflow as tf\n"
        "x = np.random.default_rng(0).random((4, 784)).astype('float32')\n"
        f"for p in ({ae!r}, {pca!r}):\n"
        "    m = tf.saved_model.load(p)\n"
        "    z = m.encode(x)['codes']\n"
        "    print(z.shape, m.reconstruct(x)['reconstruction'].shape, m.decode(z)['reconstruction'].shape)\n")
    assert out.split("\n")[:2] == ["(4, 8) (4, 784) (4, 784)"] * 2


# ---- --preset hinton2006: RBM pretraining, unrolling, fine-tuning (Hinton & Salakhutdinov 2006)

PRESET_SLICE = ["--units", "64", "32", "--code-dim", "8", "--train-limit", "1000", "--test-limit", "300",
                "--verbose", "0"]  # short_run's slice and network


def test_preset_hinton2006_sets_the_papers_options_and_the_plain_question_keeps_its_own():
    from keras_ae.questions import get_question

    parser = get_question("H").build_parser()
    plain = parser.parse_args([])
    assert (plain.preset, plain.pretrain_epochs, plain.epochs, plain.batch_size, plain.learning_rate,
            plain.output_dir) == (None, 0, 50, 128, 1e-3, os.path.join("results", "question_h"))
    paper = parser.parse_args(["--preset", "hinton2006"])
    assert (paper.pretrain_epochs, paper.epochs, paper.batch_size, paper.learning_rate, paper.baseline_epochs,
            paper.output_dir) == (50, 200, 1000, 1e-3, 50, os.path.join("results", "question_h_hinton2006"))
    assert (paper.units, paper.code_dim, paper.hidden_activation) == ([1000, 500, 250], 30, "sigmoid")
    assert parser.parse_args(["--preset", "hinton2006", "--epochs", "3"]).epochs == 3


@pytest.fixture(scope="module")
def preset_run(tmp_path_factory):
    """The preset on a slice, killed as its last stage (the comparison network) starts, then run
    again with the same options: ``(result, figure rows, root, printed lines of the second run)``."""
    import contextlib
    import io

    import keras_ae.plots
    from keras_ae.questions import get_question, question_h

    q = get_question("H")
    root = tmp_path_factory.mktemp("question_h_hinton2006")
    args = q.build_parser().parse_args([
        "--preset", "hinton2006", "--pretrain-epochs", "2", "--epochs", "2", "--baseline-epochs", "2", *PRESET_SLICE,
        "--output-dir", str(root / "results"), "--saved-models-dir", str(root / "saved_models")])

    def killed(*a, **kw):
        raise KeyboardInterrupt  # the kill, as the comparison network starts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(question_h, "train_without_pretraining", killed)
        with pytest.raises(KeyboardInterrupt):
            q.run(args)
    out = root / "results"
    assert all((out / stage / "backup").is_dir() for stage in ("rbm_1", "rbm_2", "rbm_3", "fine_tuning"))

    grids, real = [], keras_ae.plots.plot_image_grid

    def recording(series, path, *rest, **kwargs):  # the rows of the reconstruction figure
        grids.append([(label, np.asarray(images)) for label, images in series])
        return real(series, path, *rest, **kwargs)

    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setattr(keras_ae.plots, "plot_image_grid", recording)
        result = q.run(args)
    return result, grids, root, printed.getvalue()


def test_preset_pretrains_unrolls_fine_tunes_and_writes_the_4_row_figure_table_and_exports(preset_run):
    import tensorflow as tf

    from keras_ae.data import flatten, load_dataset, to_unit
    from keras_ae.export import load_keras_model, read_metadata
    from keras_ae.models.rbm import RBM, unroll_rbm_stack
    from keras_ae.questions.question_h import average_squared_error

    result, grids, root, _ = preset_run
    out = root / "results"
    x_test = flatten(to_unit(load_dataset("mnist", "test").images[:300]))
    tuned, unrolled, plain, pca = result.details["rows"]
    assert tuned["method"] == "deep autoencoder 784-64-32-8, RBM-pretrained and fine-tuned"
    assert unrolled["method"].startswith("RBM stack 784-64-32-8 unrolled")
    assert plain["method"] == "deep autoencoder 784-64-32-8 without pretraining" and pca["method"] == "PCA"
    assert (tuned["paper_test_error"], pca["paper_test_error"]) == (3.00, 13.87)
    assert [r["pretrain_epochs"] for r in result.details["rows"]] == [2, 2, "", ""]
    assert "RBM-pretrained and fine-tuned" in (out / "reconstruction_errors.md").read_text()

    # the headline number: metadata.json of the fine-tuned autoencoder, the model's own error
    ae_path = result.models["autoencoder"]
    assert os.path.basename(ae_path) == "question_h_hinton2006_autoencoder"
    meta = read_metadata(ae_path)
    assert meta["test_error"] == tuned["test_error"] and meta["preset"] == "hinton2006"
    assert meta["test_error_before_fine_tuning"] == unrolled["test_error"]
    loaded = tf.saved_model.load(ae_path)
    reconstruction = loaded.reconstruct(x_test)["reconstruction"].numpy()
    assert average_squared_error(x_test, reconstruction) == pytest.approx(tuned["test_error"], rel=1e-4)
    assert result.details["history"]["val_squared_error"][-1] == pytest.approx(tuned["test_error"], rel=1e-3)

    # the exported RBMs are the pretrained stack: unrolled again, they give the row before fine-tuning
    rbms = [load_keras_model(result.models[f"rbm_{k}"]) for k in (1, 2, 3)]
    assert [type(r) for r in rbms] == [RBM] * 3
    assert [(r.visible_units, r.hidden_units, r.hidden_type) for r in rbms] == [
        (784, 64, "bernoulli"), (64, 32, "bernoulli"), (32, 8, "gaussian")]
    again = unroll_rbm_stack(rbms).predict(x_test, verbose=0)
    assert average_squared_error(x_test, again) == pytest.approx(unrolled["test_error"], rel=1e-4)
    assert read_metadata(result.models["rbm_1"])["input"].startswith("MNIST digit")
    assert sorted(loaded.signatures) == ["decode", "encode", "reconstruct", "serving_default"]

    # the figure: original / RBM-pretrained / no pretraining / PCA, each row the method's reconstructions
    (figure_rows,) = grids
    labels = [label for label, _ in figure_rows]
    assert labels[0] == "original" and labels[1].startswith("pretrained")
    assert labels[2].startswith("no pretraining") and labels[3].startswith("PCA") and len(labels) == 4
    shown = figure_rows[0][1]
    np.testing.assert_allclose(figure_rows[1][1], loaded.reconstruct(shown)["reconstruction"].numpy(), atol=1e-5)
    for fig in result.figures.values():
        assert os.path.getsize(fig) > 1000, fig
    assert {os.path.basename(f) for f in result.figures.values()} == {"reconstructions.png", "error_per_epoch.png",
                                                              "rbm_pretraining.png"}
    # every fit kept a per-epoch backup and removed it when it completed; each wrote its log
    for stage in ("rbm_1", "rbm_2", "rbm_3", "fine_tuning", "no_pretraining"):
        assert (out / stage / "history.csv").is_file() and not (out / stage / "backup").exists(), stage
    assert "reconstruction_error" in (out / "rbm_1" / "history.csv").read_text().splitlines()[0]


def test_preset_killed_in_its_last_stage_resumes_there_without_training_the_finished_stages(preset_run):
    """The finished stages (RBMs, fine-tuning) keep their backups until the question completes: the
    run after the kill restores them instead of training them again (the other preset tests check
    its numbers), and removes every backup when it completes."""
    printed, out = preset_run[3], preset_run[2] / "results"
    assert printed.count("this fit finished earlier") == 4  # three RBMs and the fine-tuning
    assert "[question H] RBM 1/3" in printed  # the stages still report (their restored histories)
    assert not any((out / stage / "backup").exists() for stage in ("rbm_1", "fine_tuning", "no_pretraining"))


def test_preset_comparison_row_is_the_plain_questions_network(preset_run, short_run):
    """The network without pretraining is trained exactly as ``keras-ae run H`` trains it."""
    plain_question = short_run[0].details["rows"][0]
    comparison = preset_run[0].details["rows"][2]
    assert comparison["test_error"] == pytest.approx(plain_question["test_error"], rel=1e-5)
    assert comparison["train_error"] == pytest.approx(plain_question["train_error"], rel=1e-5)


def test_preset_refuses_activations_without_an_rbm(tmp_path, capsys):
    from keras_ae.questions import get_question

    code = get_question("H").main(["--preset", "hinton2006", "--hidden-activation", "relu", *PRESET_SLICE,
                                   "--output-dir", str(tmp_path)])
    assert code == 2 and "--hidden-activation relu" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


# ---- the answers: the uncertainty columns from canned arrays, the verdicts from synthetic tables (no training)


def test_error_row_adds_the_standard_error_and_the_paired_difference_from_pca():
    from keras_ae.questions.question_h import error_row

    x = np.zeros((3, 2))
    ae = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])    # per-image errors 1, 0, 2
    pca = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])   # per-image errors 2, 1, 2
    row = error_row("deep autoencoder", 2, x, ae, 0.5, 3.0, pca, epochs=4, minutes=0.1)
    assert list(row)[:8] == ["method", "code_dim", "test_error", "train_error", "paper_test_error",
                             "test_cross_entropy", "epochs", "minutes"]  # the existing columns, in their order
    assert row["test_error"] == pytest.approx(1.0) and row["test_images"] == 3
    assert row["test_error_std_error"] == pytest.approx(1.0 / np.sqrt(3))  # std 1 over 3 images
    # paired: differences -1, -1, 0 -> mean -2/3, std sqrt(1/3), se 1/3 (unpaired it would be 0.65)
    assert row["test_error_minus_pca"] == pytest.approx(-2.0 / 3)
    assert row["test_error_minus_pca_std_error"] == pytest.approx(1.0 / 3)
    alone = error_row("PCA", 2, x, pca, 0.5, 13.87, epochs="", minutes=0.0)
    assert (alone["test_error_minus_pca"], alone["test_error_minus_pca_std_error"]) == ("", "")


def _h_tables(ae, ae_se, pca, pca_se, diff, diff_se, code_dim="30", extra=()):
    def row(method, error, se, d="", d_se=""):
        return {"method": method, "code_dim": code_dim, "test_error": str(error), "test_error_std_error": str(se),
                "test_error_minus_pca": str(d), "test_error_minus_pca_std_error": str(d_se), "test_images": "10000"}

    return {"reconstruction_errors": [row("deep autoencoder 784-1000-500-250-30", ae, ae_se, diff, diff_se),
                                      *extra, row("PCA", pca, pca_se)]}


@pytest.mark.parametrize("diff, diff_se, start", [
    (-8.0, 0.05, "Yes: deep autoencoder 784-1000-500-250-30 reconstructs the test digits better than PCA"),
    (2.0, 0.05, "No: PCA reconstructs the test digits better than deep autoencoder"),
    (-0.05, 0.05, "Not shown: deep autoencoder 784-1000-500-250-30 and PCA with the same 30-d code differ by less"),
])
def test_the_pca_answer_follows_the_paired_interval(diff, diff_se, start):
    from keras_ae.questions.question_h import QUESTION

    # the same two means in every case: only the paired difference and its uncertainty decide
    (answer,) = [a for a in QUESTION.answers(_h_tables(5.0, 0.04, 13.0, 0.06, diff, diff_se))
                   if a["item"] == "004 slides 'PCA vs autoencoders'"]
    assert answer["answer"].startswith(start), answer["answer"]
    assert f"{diff:.3g} (95 % interval" in answer["evidence"] and "10000 test images" in answer["evidence"]


def test_the_pca_answer_names_every_network_of_the_preset_and_waits_for_the_columns():
    from keras_ae.questions.question_h import QUESTION

    plain = {"method": "deep autoencoder 784-1000-500-250-30 without pretraining", "code_dim": "30",
             "test_error": "14.0", "test_error_std_error": "0.1", "test_error_minus_pca": "1.0",
             "test_error_minus_pca_std_error": "0.05"}
    unrolled = {**plain, "method": "RBM stack 784-1000-500-250-30 unrolled, before fine-tuning"}
    tables = _h_tables(3.1, 0.03, 13.0, 0.06, -9.9, 0.05, extra=(unrolled, plain))
    answer = QUESTION.answers(tables)[0]["answer"]
    assert answer.startswith("Yes: deep autoencoder 784-1000-500-250-30 reconstructs")
    assert answer.endswith("; deep autoencoder 784-1000-500-250-30 without pretraining: worse than PCA.")
    assert "RBM stack" not in answer
    # a run made before the columns existed: neither question is answered
    old = {"reconstruction_errors": [{k: v for k, v in r.items() if "std_error" not in k and "minus" not in k}
                                     for r in tables["reconstruction_errors"]]}
    assert QUESTION.answers(old) == []


@pytest.mark.parametrize("ae, pca, ae_words, pca_words", [
    (4.1, 13.9, "1.10 above the paper's 3.00 (worse", "within the uncertainty of the paper's 13.87"),
    (2.5, 15.0, "0.50 below the paper's 3.00 (better", "1.13 above the paper's 13.87 (worse"),
    (3.02, 12.0, "within the uncertainty of the paper's 3.00", "1.87 below the paper's 13.87 (better"),
])
def test_the_paper_answer_says_above_below_or_within_the_uncertainty(ae, pca, ae_words, pca_words):
    from keras_ae.questions.question_h import QUESTION

    answers = {a["item"]: a for a in QUESTION.answers(_h_tables(ae, 0.03, pca, 0.06, ae - pca, 0.05))}
    answer = answers["004 slides 'Deep MLP - dimensionality reduction'"]
    assert answer["answer"].startswith(f"The deep autoencoder: {ae:.2f} per test image, {ae_words}"), answer["answer"]
    assert f"PCA: {pca:.2f} per test image, {pca_words}" in answer["answer"]
    assert "the paper's 30" not in answer["answer"] and "Hinton & Salakhutdinov 2006" in answer["evidence"]
    eight = QUESTION.answers(_h_tables(ae, 0.03, pca, 0.06, ae - pca, 0.05, code_dim="8"))[1]["answer"]
    assert eight.endswith("These codes have 8 dimensions, the paper's 30.")
