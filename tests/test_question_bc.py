"""Questions B and C: the denoising train/test steps, the periodic test loss (on a stub model),
C's losses on canned arrays, t-SNE on exactly 500 images, class names, the analysis functions,
how C gets B's model, and one short run of both questions (reused by several tests) that writes
every figure, table and SavedModel."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

SIGMA = 0.5


# ---------------------------------------------------------------- the denoising model


def _tiny_denoiser(dim=20, sigma=SIGMA, clip=None, seed=0, cls=None):
    from keras_ae.models import DenoisingAutoencoder, build_dense_autoencoder

    return build_dense_autoencoder(input_dim=dim, encoder_units=(8, 4), decoder_units=(8,), activation="relu",
                                   output_activation="tanh", init="keras", name="tiny_dae",
                                   model_class=cls or DenoisingAutoencoder, noise_stddev=sigma, clip=clip,
                                   noise_seed=seed)


def _spy_class():
    """A DenoisingAutoencoder that records every input its forward pass sees (eager mode)."""
    from keras_ae.models import DenoisingAutoencoder

    seen = []

    class Spy(DenoisingAutoencoder):
        def call(self, inputs, training=False):
            seen.append((np.array(inputs), training))
            return super().call(inputs, training=training)

    return Spy, seen


def _spy_loss():
    targets = []

    def loss(y_true, y_pred):
        import keras

        targets.append(np.array(y_true))
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    return loss, targets


@pytest.fixture()
def clean():
    rng = np.random.default_rng(1)
    return rng.uniform(-0.9, 0.9, size=(64, 20)).astype("float32")


def test_train_step_feeds_noisy_inputs_and_clean_targets(clean):
    import keras

    keras.utils.set_random_seed(0)
    Spy, seen = _spy_class()
    loss, targets = _spy_loss()
    model = _tiny_denoiser(cls=Spy)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, run_eagerly=True)
    history = model.fit(clean, epochs=1, batch_size=32, shuffle=False, verbose=0)  # fit(x): clean data only

    train_inputs = [x for x, training in seen if training]
    assert len(train_inputs) == 2 and len(targets) == 2  # two batches of 32
    for i, x_in in enumerate(train_inputs):
        batch = clean[32 * i: 32 * (i + 1)]
        noise = x_in - batch
        assert np.abs(noise).max() > 1.0  # really perturbed, not the clean batch
        assert abs(noise.mean()) < 0.06 and abs(noise.std() - SIGMA) < 0.05  # white noise of sd 0.5
        np.testing.assert_array_equal(targets[i], batch)  # the loss sees the clean image
    # fresh noise for every batch, not one fixed pattern
    assert not np.allclose(train_inputs[0] - clean[:32], train_inputs[1] - clean[32:])
    assert np.isfinite(history.history["loss"][0])


def test_test_step_adds_noise_and_reports_clean_and_do_nothing_losses(clean):
    import keras

    keras.utils.set_random_seed(0)
    Spy, seen = _spy_class()
    model = _tiny_denoiser(cls=Spy)
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    result = model.evaluate(clean, batch_size=64, verbose=0, return_dict=True)
    inputs = [x for x, training in seen if not training]
    assert len(inputs) == 2  # the noisy input (for loss) and the clean input (for clean_loss)
    assert abs((inputs[0] - clean).std() - SIGMA) < 0.05
    np.testing.assert_array_equal(inputs[1], clean)
    assert set(result) == {"loss", "clean_loss", "noisy_input_loss"}
    assert result["noisy_input_loss"] == pytest.approx(SIGMA ** 2, rel=0.08)  # E[noise^2] = sd^2
    assert result["loss"] != pytest.approx(result["clean_loss"], rel=1e-6)


def test_graph_mode_train_step_compares_noisy_input_with_clean_target():
    """An identity network with learning rate 0, compiled as usual (graph mode): its training loss
    is the MSE between what it is fed and what it is scored against, sd^2 exactly when the input is
    the noisy image and the target the clean one. With noise off it is 0."""
    import keras

    from keras_ae.models import DenoisingAutoencoder

    def identity_net(name):
        inp = keras.Input((16,))
        return keras.Model(inp, keras.layers.Dense(16, kernel_initializer="identity", name=name + "_d")(inp),
                           name=name)

    x = np.zeros((256, 16), "float32")
    losses = {}
    for sigma in (0.0, SIGMA):
        keras.utils.set_random_seed(0)
        model = DenoisingAutoencoder(identity_net("enc"), identity_net("dec"), noise_stddev=sigma, noise_seed=3)
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
        losses[sigma] = model.fit(x, epochs=1, batch_size=64, verbose=0).history["loss"][0]
    assert losses[0.0] == pytest.approx(0.0, abs=1e-12)
    assert losses[SIGMA] == pytest.approx(SIGMA ** 2, rel=0.08)


def test_clip_option_keeps_noisy_inputs_in_range(clean):
    import keras

    keras.utils.set_random_seed(0)
    Spy, seen = _spy_class()
    model = _tiny_denoiser(cls=Spy, clip=(-1.0, 1.0))
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    model.fit(clean, epochs=1, batch_size=64, verbose=0)
    x_in = seen[0][0]
    assert x_in.min() >= -1.0 and x_in.max() <= 1.0 and np.abs(x_in - clean).max() > 0.3


def test_denoiser_config_round_trip_and_bad_options(tmp_path):
    import keras

    from keras_ae.export import load_keras_model
    from keras_ae.models import DenoisingAutoencoder

    model = _tiny_denoiser(sigma=0.3, clip=(-1.0, 1.0), seed=7)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).uniform(-1, 1, (5, 20)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = load_keras_model(path, compile=False)
    assert isinstance(loaded, DenoisingAutoencoder)
    assert (loaded.noise_stddev, loaded.clip, loaded.noise_seed) == (0.3, (-1.0, 1.0), 7)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)
    with pytest.raises(ValueError, match="noise_stddev"):
        _tiny_denoiser(sigma=-0.1)
    with pytest.raises(ValueError, match="clip"):
        _tiny_denoiser(clip=(1.0, -1.0))
    assert keras.saving.get_registered_name(DenoisingAutoencoder) == "keras_ae>DenoisingAutoencoder"


# ---------------------------------------------------------------- the sheet's network and options


def test_sheet_architecture_and_training_defaults():
    import keras

    from keras_ae.models import Autoencoder, DenoisingAutoencoder
    from keras_ae.questions import get_question, question_b, question_c
    from keras_ae.questions.question_bc import compile_model

    b = get_question("B").build_parser().parse_args([])
    c = get_question("c").build_parser().parse_args([])
    for args in (b, c):
        assert (args.epochs, args.batch_size, args.learning_rate, args.weight_decay) == (50, 128, 1e-3, 1e-5)
        assert (args.test_every, args.num_images, args.tsne_size) == (10, 10, 500)
    assert c.noise_stddev == 0.5 and not c.noise_clip and c.baseline == "auto"
    assert not hasattr(b, "noise_stddev")
    assert b.output_dir == os.path.join("results", "question_b")
    assert c.output_dir == os.path.join("results", "question_c")

    model = compile_model(question_b.build_model(), 1e-3, 1e-5)
    assert type(model) is Autoencoder and model.name == "question_b_autoencoder"
    def layers(net):
        return [(l.units, l.activation.__name__) for l in net.layers if isinstance(l, keras.layers.Dense)]
    assert layers(model.encoder) == [(128, "relu"), (64, "relu"), (32, "relu"), (16, "relu"), (8, "relu")]
    assert layers(model.decoder) == [(8, "relu"), (32, "relu"), (64, "relu"), (128, "relu"), (784, "tanh")]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.optimizer.weight_decay == pytest.approx(1e-5)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    # Keras' defaults: zero biases (not the N(0, 1) biases of question A's 'glorot')
    assert all(np.all(l.bias.numpy() == 0) for l in model.encoder.layers if isinstance(l, keras.layers.Dense))
    dae = question_c.build_model(noise_stddev=0.4)
    assert isinstance(dae, DenoisingAutoencoder) and dae.noise_stddev == 0.4 and dae.clip is None
    assert dae.name == "question_c_denoising_autoencoder" and layers(dae.decoder) == layers(model.decoder)


def test_class_names_map_to_the_right_labels(data_dir):
    """Names in label order, checked against the images themselves, the titles of the figures and
    the legend of the scatter plot."""
    import matplotlib.pyplot as plt

    from keras_ae.data import FASHION_MNIST_CLASSES as names
    from keras_ae.data import load_dataset
    from keras_ae.plots import plot_embedding
    from keras_ae.questions.question_bc import class_titles

    test = load_dataset("fashion_mnist", "test")
    # The test set begins with an ankle boot, a pullover, two trousers, a shirt, ...
    assert class_titles(test.labels[:10]) == ["Ankle boot", "Pullover", "Trouser", "Trouser", "Shirt", "Trouser",
                                              "Coat", "Shirt", "Sandal", "Sneaker"]
    means = np.stack([test.images[test.labels == k].astype(float).mean(0) for k in range(10)])
    # trousers: the only class with a dark gap between the legs in the lower middle
    gap = means[:, 18:26, 13:15].mean((1, 2)) / means[:, 18:26, [9, 10, 17, 18]].mean((1, 2))
    assert [names[k] for k in np.flatnonzero(gap < 0.6)] == ["Trouser"]
    # sandals and sneakers: nothing in the top third of the image
    assert {names[k] for k in np.argsort(means[:, :8].mean((1, 2)))[:2]} == {"Sandal", "Sneaker"}

    # the scatter plot puts label k under the legend entry names[k]
    labels = np.repeat(np.arange(10), 3)
    coords = np.stack([labels, np.zeros_like(labels)], 1).astype(float)
    fig, ax = plt.subplots()
    plot_embedding(coords, labels, names, None, "t", ax=ax)
    for k, coll in enumerate(ax.collections):
        assert coll.get_label() == names[k]
        assert np.all(coll.get_offsets()[:, 0] == k)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(names)
    plt.close(fig)


# ---------------------------------------------------------------- analysis


def test_analysis_functions_on_known_cases():
    from keras_ae import analysis
    from keras_ae.errors import DataError

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 100)
    idx = analysis.select_subset(labels, 500, seed=0)
    assert len(idx) == len(set(idx)) == 500 and np.all(np.bincount(labels[idx]) == 50)
    np.testing.assert_array_equal(idx, analysis.select_subset(labels, 500, seed=0))  # seeded
    assert len(analysis.select_subset(labels, 7, seed=1)) == 7
    with pytest.raises(DataError):
        analysis.select_subset(labels, 1001)

    separated = np.eye(10)[labels] * 10 + rng.normal(0, 0.1, (1000, 10))
    noise = rng.normal(size=(1000, 10))
    assert analysis.knn_accuracy(separated[::2], labels[::2], separated[1::2], labels[1::2]) == 1.0
    assert analysis.knn_accuracy(noise[::2], labels[::2], noise[1::2], labels[1::2]) < 0.2
    mean, std = analysis.knn_cv_accuracy(separated, labels)
    assert mean == 1.0 and std == 0.0
    assert analysis.silhouette(separated, labels) > 0.9 and abs(analysis.silhouette(noise, labels)) < 0.1
    assert analysis.tsne_trustworthiness(separated[:, :2], separated[:, :2]) == pytest.approx(1.0)

    dead = separated.copy()
    dead[:, [2, 5]] = 0.0
    assert analysis.active_dimensions(dead) == 8

    conf = analysis.neighbour_confusion(separated, labels, 10)
    np.testing.assert_allclose(conf.sum(1), 1.0)
    np.testing.assert_allclose(np.diag(conf), 1.0)
    mixed = labels.copy()
    mixed[labels == 6] = 0  # shirts drawn as T-shirts: classes 0 and 6 share one cluster
    conf = analysis.neighbour_confusion(np.eye(10)[mixed] * 10 + rng.normal(0, 0.1, (1000, 10)), labels, 10)
    assert analysis.most_confused_pairs(conf, top=1)[0][:2] == (0, 6)

    with pytest.raises(DataError, match="more than"):
        analysis.tsne_2d(rng.normal(size=(50, 4)))
    with pytest.raises(DataError, match="NaN"):
        analysis.knn_cv_accuracy(np.full((20, 2), np.nan), np.arange(20) % 2)


def _canned_data(n=40):
    from keras_ae.data import FASHION_MNIST_CLASSES
    from keras_ae.questions.question_bc import FashionData

    x = np.random.default_rng(0).uniform(-1, 1, (n, 784)).astype("float32")
    return FashionData(x, np.arange(n) % 10, x, np.arange(n) % 10, np.arange(n), FASHION_MNIST_CLASSES)


def test_c_reconstruction_losses_on_canned_arrays():
    """C scores every model on the clean test images and on one seeded noisy copy of them, not
    the figures' copy: an identity 'model' reconstructs the clean ones perfectly and the noisy ones
    as badly as the noise itself (sd^2)."""
    from keras_ae.questions import question_c

    args = question_c.build_parser().parse_args(["--seed", "3"])
    data = _canned_data(400)
    losses = question_c.reconstruction_losses(lambda x: x, data, args)
    assert list(losses) == ["test_mse_clean", "test_mse_noisy", "noisy_input_mse"]
    assert losses["test_mse_clean"] == 0.0
    assert losses["test_mse_noisy"] == losses["noisy_input_mse"] == pytest.approx(SIGMA ** 2, rel=0.02)
    assert losses == question_c.reconstruction_losses(lambda x: x, data, args)  # the same noise every call
    halved = question_c.reconstruction_losses(lambda x: x / 2, data, args)  # not the figures' noise
    figure_noise = question_c.fixed_noise(data.x_test, args)
    assert halved["test_mse_noisy"] != pytest.approx(float(np.mean((figure_noise / 2 - data.x_test) ** 2)), rel=1e-6)


# ---------------------------------------------------------------- the periodic test loss


class _StubModel:
    """Stands in for the network in the schedule test: evaluating is counted, reconstructing
    returns the input."""

    def __init__(self):
        self.evaluations = 0

    def evaluate(self, x, y=None, **kwargs):
        self.evaluations += 1
        return {"loss": 0.1 * self.evaluations}

    def predict(self, x, **kwargs):
        return x


def test_test_loss_and_figures_fire_every_10_epochs_of_50(tmp_path):
    """The sheet's schedule with B's default options, on the callbacks B's and C's fit use: after
    each of the 50 epochs the callback is asked, and the test loss and a figure come after epochs
    10, 20, 30, 40 and 50 only (a stale test_loss.csv is replaced); with 25 epochs also after the last."""
    import csv

    from keras_ae.questions import question_b
    from keras_ae.questions import question_bc as bc

    data = _canned_data()
    for epochs, expected in ((50, [10, 20, 30, 40, 50]), (25, [10, 20, 25])):
        out = tmp_path / str(epochs)
        out.mkdir()
        (out / "test_loss.csv").write_text("epoch,test_loss\n99,1.0\n")  # from an earlier run
        args = question_b.build_parser().parse_args(["--output-dir", str(out), "--num-images", "3"])
        assert args.test_every == 10
        figure = bc.reconstruction_figure(args, data, "t")
        evaluation = bc.periodic_evaluation(args, data, figure)
        evaluation.verbose = False
        model = _StubModel()
        evaluation.set_model(model)
        evaluation.set_params({"epochs": epochs})
        for epoch in range(epochs):
            evaluation.on_epoch_end(epoch, {"loss": 1.0})
        assert model.evaluations == len(expected)
        assert [e["epoch"] for e in evaluation.history] == expected
        with open(out / "test_loss.csv") as fh:
            assert [int(r["epoch"]) for r in csv.DictReader(fh)] == expected
        assert [os.path.basename(p) for p in figure.paths] == [f"reconstructions_epoch{e:03d}.png" for e in expected]
        assert all(os.path.isfile(p) for p in figure.paths)


# ---------------------------------------------------------------- question B's model for C


def test_settings_differences_name_each_mismatch():
    from keras_ae.questions.question_bc import settings_differences

    wanted = {"train_rows": 60000, "epochs": 50, "encoder_units": (128, 8), "learning_rate": 1e-3}
    recorded = {"train_rows": 5000, "epochs": 50, "encoder_units": [128, 8], "learning_rate": 0.001}
    assert settings_differences(recorded, wanted) == ["train_rows 5000 (this run: 60000)"]
    assert settings_differences({**recorded, "train_rows": 60000}, wanted) == []
    assert settings_differences({"epochs": 50}, {"epochs": 50, "seed": 0}) == ["seed not recorded (this run: 0)"]


def test_when_c_trains_b_itself():
    from keras_ae.questions.question_c import why_train_baseline

    differ = ["train_rows 512 (this run: 256)"]
    assert why_train_baseline("train", "sm/b", True, []) == "--baseline train"
    assert why_train_baseline("auto", "sm/b", False, None) == "there is no SavedModel at sm/b"
    assert why_train_baseline("auto", "sm/b", True, []) is None  # same settings: loaded
    assert why_train_baseline("auto", "sm/b", True, differ) == (
        "the SavedModel at sm/b was trained with other settings: train_rows 512 (this run: 256)")
    assert why_train_baseline("load", "sm/b", True, differ) is None  # loaded whatever its settings


def test_b_options_of_a_c_run_come_from_b_parser(tmp_path):
    """C runs B with B's own parser's options: every one of them with C's value (B's defaults
    never leak in), none of C's own, and B's results in --baseline-output-dir."""
    from keras_ae.questions import question_b, question_c

    c_args = question_c.build_parser().parse_args([
        "--epochs", "3", "--train-limit", "256", "--encoder-units", "16", "8", "--weight-decay", "0",
        "--seed", "7", "--no-xla", "--fused-steps", "1", "--no-pixel-reference", "--knn-k", "3",
        "--output-dir", str(tmp_path / "c"), "--baseline-output-dir", str(tmp_path / "b"), "--noise-stddev", "1"])
    b_args = question_c.baseline_args(c_args)
    b_dests = set(vars(question_b.build_parser().parse_args([])))
    assert set(vars(b_args)) == b_dests and not {"noise_stddev", "noise_clip", "baseline"} & b_dests
    assert b_args.output_dir == str(tmp_path / "b")
    assert {k: v for k, v in vars(b_args).items() if k != "output_dir"} == {k: getattr(c_args, k) for k in b_dests
                                                                          if k != "output_dir"}
    assert (b_args.epochs, b_args.encoder_units, b_args.weight_decay, b_args.xla) == (3, [16, 8], 0.0, False)


def test_c_refuses_a_missing_baseline_before_training(tmp_path, capsys):
    from keras_ae.questions.question_c import main

    code = main(["--baseline", "load", "--saved-models-dir", str(tmp_path / "empty"), "--output-dir",
                 str(tmp_path / "out"), "--epochs", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no question B SavedModel" in err and "--baseline train" in err
    assert not (tmp_path / "out" / "history.csv").exists()


# ---------------------------------------------------------------- a short run of B, then C


def _args(question, tmp_path, *extra):
    from keras_ae.questions import get_question

    return get_question(question).build_parser().parse_args([
        "--output-dir", str(tmp_path / f"q{question.lower()}"), "--saved-models-dir", str(tmp_path / "sm"),
        "--verbose", "0", *extra])


@pytest.fixture(scope="module")
def short_runs(tmp_path_factory, data_dir):
    """B for 2 epochs on 512 training images, then C with --baseline auto, which loads B's
    SavedModel (same settings); every t-SNE input and every subset recorded, and C's log."""
    import contextlib
    import io

    from keras_ae import analysis
    from keras_ae.questions import question_b, question_c

    tmp = tmp_path_factory.mktemp("bc")
    common = ["--epochs", "2", "--test-every", "1", "--train-limit", "512", "--test-limit", "600"]
    tsne_inputs, subsets = [], []
    original_tsne, original_subset = analysis.tsne_2d, analysis.select_subset

    def tsne_spy(x, *a, **k):
        tsne_inputs.append(np.array(x))
        return original_tsne(x, *a, **k)

    def subset_spy(*a, **k):
        subsets.append(original_subset(*a, **k))
        return subsets[-1]

    log = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "tsne_2d", tsne_spy)
        mp.setattr(analysis, "select_subset", subset_spy)
        b = question_b.run(_args("B", tmp, *common))
        with contextlib.redirect_stdout(log):
            c = question_c.run(_args("C", tmp, *common, "--baseline-output-dir", str(tmp / "qb"),
                                     "--no-pixel-reference"))
    return {"tmp": tmp, "b": b, "c": c, "tsne_inputs": tsne_inputs, "subsets": subsets, "c_log": log.getvalue()}


def test_tsne_gets_exactly_500_images_the_same_for_b_and_c(short_runs):
    from keras_ae.data import load_dataset

    shapes = [x.shape for x in short_runs["tsne_inputs"]]
    # B: its codes, then the raw-pixel reference; C: its codes, then B's codes of the same images
    assert shapes == [(500, 8), (500, 784), (500, 8), (500, 8)]
    assert short_runs["b"].details["tsne_input_shape"] == short_runs["c"].details["tsne_input_shape"] == (500, 8)
    sub_b, sub_c = short_runs["subsets"]
    np.testing.assert_array_equal(sub_b, sub_c)
    labels = load_dataset("fashion_mnist", "test").labels[:600]
    assert np.all(np.bincount(labels[sub_b], minlength=10) == 50)
    # the pixels that went through t-SNE are those test images
    images = load_dataset("fashion_mnist", "test").images[:600][sub_b].reshape(500, -1)
    np.testing.assert_allclose(short_runs["tsne_inputs"][1], images / 127.5 - 1.0, atol=1e-6)


def test_short_run_writes_every_figure_table_and_model(short_runs):
    tmp = short_runs["tmp"]
    expected = {
        "qb": ["reconstructions_epoch001.png", "reconstructions_epoch002.png", "loss_curves.png", "tsne_codes.png",
               "code_quality.md", "code_quality.csv", "description.md", "summary.json", "history.csv",
               "test_loss.csv"],
        "qc": ["reconstructions_epoch001.png", "reconstructions_epoch002.png", "loss_curves.png", "tsne_codes.png",
               "tsne_b_vs_c.png", "comparison.md", "comparison.csv", "paired_knn.md", "paired_knn.csv",
               "description.md", "summary.json", "history.csv", "test_loss.csv"],
    }
    for folder, names in expected.items():
        for name in names:
            path = tmp / folder / name
            assert path.is_file() and path.stat().st_size > (1000 if name.endswith(".png") else 20), path
            if name.endswith(".png"):
                assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for key, folder in (("b", "qb"), ("c", "qc")):
        result = short_runs[key]
        assert list(result.figures.values()) == [str(tmp / folder / n) for n in expected[folder] if n.endswith(".png")]
        tables = ["code_quality"] if key == "b" else ["comparison", "paired_knn"]
        assert result.tables == {name: str(tmp / folder / f"{name}.csv") for name in tables}
        assert [int(e["epoch"]) for e in result.details["evaluations"]] == [1, 2]  # --test-every 1
        assert len(result.details["history"]["loss"]) == 2
    assert [r["model"] for r in short_runs["b"].rows("code_quality")] == ["B: autoencoder", "raw pixels (no model)"]

    table = (tmp / "qc" / "comparison.md").read_text()
    assert "| B: autoencoder |" in table and "| C: denoising autoencoder |" in table
    summary = json.loads((tmp / "qc" / "summary.json").read_text())
    assert summary["epochs"] == 2 and 0.0 < summary["final_test_loss"] < 1.0
    assert 0.0 <= summary["knn_test"] <= 1.0 and 0.0 <= summary["trustworthiness"] <= 1.0
    assert "Trouser" in (tmp / "qb" / "description.md").read_text()
    with open(tmp / "qc" / "test_loss.csv") as fh:
        header = fh.readline().strip().split(",")
    assert set(header) == {"epoch", "test_clean_loss", "test_loss", "test_noisy_input_loss"}


def test_headline_metrics_are_read_from_the_tables(short_runs):
    """Every README metric of B and C is found in the table it is read from, with that table's number."""
    from keras_ae.questions import question_b, question_c

    b, c = short_runs["b"], short_runs["c"]
    assert set(question_b.QUESTION.readme_metrics) <= set(b.metrics)
    assert set(question_c.QUESTION.readme_metrics) <= set(c.metrics)
    assert set(b.metrics) == {"test_mse", "knn_test_accuracy", "trustworthiness", "silhouette_tsne"}
    assert set(c.metrics) == {"test_mse_clean", "test_mse_noisy", "noisy_input_mse", "knn_test_accuracy",
                              "baseline_test_mse_noisy"}
    b_row, c_row = b.details["rows"][0], c.details["rows"][1]
    assert b.metrics["test_mse"] == pytest.approx(b_row["test_mse_clean"], rel=1e-6)
    assert c.metrics["test_mse_noisy"] == pytest.approx(c_row["test_mse_noisy"], rel=1e-6)
    assert c.metrics["baseline_test_mse_noisy"] == pytest.approx(c.details["rows"][0]["test_mse_noisy"], rel=1e-6)
    # the paired kNN table (B's and C's probes on the same test images) answers 001 Q3; B's answers Q2(e)
    (pairs,) = c.rows("paired_knn")
    counts = {k: int(v) for k, v in pairs.items()}
    assert sum(counts[k] for k in ("both_right", "only_b_right", "only_c_right", "both_wrong")) == counts["test_images"]
    right_c = (counts["both_right"] + counts["only_c_right"]) / counts["test_images"]
    assert right_c == pytest.approx(c_row["knn_test"], abs=1e-9)
    tables = {name: c.rows(name) for name in c.tables}
    assert [a["item"] for a in question_c.QUESTION.answers(tables)] == ["001 Q3"]
    assert [a["item"] for a in question_b.QUESTION.answers({"code_quality": b.rows("code_quality")})] == ["001 Q2(e)"]


def test_c_loads_b_when_its_settings_match(short_runs):
    """C's run in short_runs has B's settings (2 epochs, 512 training images): B's SavedModel is
    loaded, not trained again, and B's own summary.json (same settings) supplies its row's numbers."""
    summary = json.loads((short_runs["tmp"] / "qc" / "summary.json").read_text())
    assert summary["baseline"]["action"] == "loaded"
    assert summary["baseline"]["reason"] == "its recorded settings match this run's"
    log = short_runs["c_log"]
    assert "question B's model: loaded" in log and "settings match" in log and "training it" not in log
    b_row = short_runs["c"].details["rows"][0]
    assert b_row["epochs"] == 2 and b_row["final_train_loss"] == short_runs["b"].details["summary"]["final_train_loss"]
    # the loaded B gives the numbers of the B that was trained
    assert b_row["test_mse_clean"] == pytest.approx(short_runs["b"].details["rows"][0]["test_mse_clean"], rel=1e-5)


def test_exported_models_encode_decode_and_denoise(short_runs):
    """Both load as plain SavedModels (tf.saved_model.load); C's reconstruct maps a noisy image to the model's
    clean estimate (no noise added at inference)."""
    import tensorflow as tf

    from keras_ae.data import add_gaussian_noise, flatten, load_dataset, to_signed

    sm = short_runs["tmp"] / "sm"
    x = flatten(to_signed(load_dataset("fashion_mnist", "test").images[:16]))
    noisy = add_gaussian_noise(x, SIGMA, seed=5)
    for key, name in (("b", "question_b_autoencoder"), ("c", "question_c_denoising_autoencoder")):
        assert short_runs[key].models == {name: str(sm / name)}
        loaded = tf.saved_model.load(str(sm / name))
        model = short_runs[key].details["model"]
        z = loaded.encode(noisy)["codes"].numpy()
        assert z.shape == (16, 8)
        recon = loaded.reconstruct(noisy)["reconstruction"].numpy()
        np.testing.assert_allclose(loaded.decode(z)["reconstruction"].numpy(), recon, atol=1e-5)
        np.testing.assert_allclose(recon, model.predict(noisy, verbose=0), atol=1e-5)
        np.testing.assert_allclose(recon, loaded.reconstruct(noisy)["reconstruction"].numpy())
        meta = json.loads((sm / name / "metadata.json").read_text())
        assert meta["question"] == key.upper() and meta["value_range"] == "signed"
    meta = json.loads((sm / "question_c_denoising_autoencoder" / "metadata.json").read_text())
    assert meta["noise_stddev"] == 0.5 and meta["class"] == "DenoisingAutoencoder"


def test_c_trains_b_first_when_the_saved_b_was_trained_otherwise(short_runs, tmp_path, capsys):
    """B's SavedModel from short_runs (512 training images) does not fit a C run on 256: C trains B
    itself (results in --baseline-output-dir, no export with --no-export), and its table, text,
    summary.json and log say so."""
    from keras_ae.questions import question_c

    runs = short_runs["tmp"]
    meta = json.loads((runs / "sm" / "question_b_autoencoder" / "metadata.json").read_text())
    assert meta["train_rows"] == 512 and meta["epochs"] == 2 and meta["seed"] == 0
    result = question_c.run(_args("C", tmp_path, "--epochs", "1", "--train-limit", "256", "--test-limit", "200",
                                  "--tsne-size", "100", "--tsne-perplexity", "10", "--num-images", "4",
                                  "--no-pixel-reference", "--no-export", "--saved-models-dir", str(runs / "sm"),
                                  "--baseline-output-dir", str(tmp_path / "qb"),
                                  "--encoder-units", "16", "8", "--decoder-units", "16"))
    log = capsys.readouterr().out
    assert (tmp_path / "qb" / "tsne_codes.png").is_file() and result.models == {}
    b_summary = json.loads((tmp_path / "qb" / "summary.json").read_text())
    assert b_summary["settings"]["train_rows"] == 256 and b_summary["settings"]["encoder_units"] == [16, 8]
    assert [r["model"] for r in result.details["rows"]] == ["B: autoencoder", "C: denoising autoencoder"]
    assert result.details["comparison"]["baseline_source"] == "trained in this run"
    assert result.details["rows"][0]["epochs"] == 1 and result.details["rows"][0]["final_train_loss"] > 0
    baseline = json.loads((tmp_path / "qc" / "summary.json").read_text())["baseline"]
    assert baseline["action"] == "trained" and "train_rows 512 (this run: 256)" in baseline["reason"]
    assert "question B's model: training it in this run" in log and "train_rows 512 (this run: 256)" in log
    text = (tmp_path / "qc" / "description.md").read_text()
    assert "C vs B on the same 100 test images" in text and "Question B (autoencoder)" in text


def test_cli_lists_and_runs_b_and_c(capsys):
    from keras_ae.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "B  Fashion-MNIST" in out and "C  denoising" in out
    with pytest.raises(SystemExit) as exc:
        main(["run", "c", "--help"])
    assert exc.value.code == 0
    assert "--noise-stddev" in capsys.readouterr().out
