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
    for fig in result["figures"]:
        assert os.path.getsize(fig) > 1000, fig
    ae_row, pca_row = result["rows"]
    assert ae_row["method"].startswith("deep autoencoder 784-64-32-8") and pca_row["method"] == "PCA"
    assert (ae_row["paper_test_error"], pca_row["paper_test_error"]) == (3.00, 13.87)
    x_train = flatten(to_unit(load_dataset("mnist", "train").images[:1000]))
    x_test = flatten(to_unit(load_dataset("mnist", "test").images[:300]))
    # the table's numbers are the metric applied to the models' reconstructions
    pca = fit_pca(x_train, 8)
    assert pca_row["test_error"] == pytest.approx(average_squared_error(x_test, pca_reconstruct(pca, x_test)), rel=1e-4)
    model = load_keras_model(os.path.join(result["saved_models"]["deep_autoencoder"]))
    assert ae_row["test_error"] == pytest.approx(average_squared_error(x_test, model.predict(x_test, verbose=0)),
                                                 rel=1e-4)
    # the per-epoch Keras metric is the same quantity as the table's number
    assert result["history"]["val_squared_error"][-1] == pytest.approx(ae_row["test_error"], rel=1e-3)
    table = open(result["tables"][0]).read()
    assert "13.87" in table and "3" in table and "average squared reconstruction error" in table


def test_both_exports_reconstruct_without_keras_ae(short_run):
    result, _ = short_run
    ae, pca = result["saved_models"]["deep_autoencoder"], result["saved_models"]["pca"]
    assert json.load(open(os.path.join(pca, "metadata.json")))["question"] == "H"
    out = run_python(
        "import numpy as np, tensorflow as tf\n"
        "x = np.random.default_rng(0).random((4, 784)).astype('float32')\n"
        f"for p in ({ae!r}, {pca!r}):\n"
        "    m = tf.saved_model.load(p)\n"
        "    z = m.encode(x)['codes']\n"
        "    print(z.shape, m.reconstruct(x)['reconstruction'].shape, m.decode(z)['reconstruction'].shape)\n")
    assert out.split("\n")[:2] == ["(4, 8) (4, 784) (4, 784)"] * 2
