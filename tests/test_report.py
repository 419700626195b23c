"""The all-questions run: a report that embeds every question's figures, failures isolated."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import types

import pytest


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """`keras-ae run all --quick`: every question, plus a deliberately broken one (about 2 minutes)."""
    from keras_ae import questions
    from keras_ae.cli import main

    def run(args):
        raise RuntimeError("deliberately broken question")

    broken = types.ModuleType("broken_question")
    broken.build_parser, broken.run = _parser_accepting_everything, run
    sys.modules["broken_question"] = broken
    questions.QUESTIONS["X"] = ("broken_question", "a question that always fails")
    out = tmp_path_factory.mktemp("all")
    try:
        code = main(["run", "all", "--quick", "--output-dir", str(out),
                     "--saved-models-dir", str(out / "models"), "--verbose", "0"])
    finally:
        questions.QUESTIONS.pop("X")
        sys.modules.pop("broken_question")
    return code, out


def _parser_accepting_everything():
    import argparse

    parser = argparse.ArgumentParser(prog="broken")
    parser.add_argument("rest", nargs="*")
    parser.parse_args = lambda argv=None: parser.parse_known_args(argv)[0]
    return parser


def test_a_failed_question_is_reported_and_the_others_complete(quick_report):
    import json

    code, out = quick_report
    assert code == 1  # non-zero because X failed
    summary = {q["question"]: q for q in json.loads((out / "report.json").read_text())["questions"]}
    assert list(summary) == [*"ABCDEFGHIJ", "X"]
    assert all(summary[q]["status"] == "ok" for q in "ABCDEFGHIJ"), {q: s["error"] for q, s in summary.items()}
    assert summary["X"]["status"] == "failed" and "deliberately broken question" in summary["X"]["error"]
    html = (out / "report.html").read_text()
    assert 'class="failed"' in html and "RuntimeError: deliberately broken question" in html


def test_quick_report_embeds_every_figure_with_a_caption(quick_report):
    import json

    code, out = quick_report
    html = (out / "report.html").read_text()
    summary = {q["question"]: q for q in json.loads((out / "report.json").read_text())["questions"]}
    figures = [f for q in "ABCDEFGHIJ" for f in summary[q]["figures"]]
    for q in "ABCDEFGHIJ":
        assert summary[q]["figures"] and summary[q]["tables"], q  # every question shows figures and numbers
    for path in figures:
        name = path.split("/")[-1]
        assert f'alt="{name}"' in html, name
    images = re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)
    captions = re.findall(r"<figcaption><b>Figure [A-J]\.\d+\.</b> [^<]{20,}", html)
    assert len(images) == len(figures) == len(captions)
    assert "Published reference" in html and "<table>" in html
    assert "src=\"http" not in html and "src=\"/" not in html  # self-contained


def test_report_json_holds_every_questions_numbers_and_they_render(quick_report, tmp_path):
    import json

    from keras_ae.cli import main
    from keras_ae.results import HEADLINES

    out = quick_report[1]
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["seed"] == 0 and report["run"]["command"].startswith("keras-ae run all --quick")
    assert report["run"]["profile"] == "quick" and report["run"]["wall_minutes"] > 0
    metrics = report["metrics"]
    assert sorted(metrics) == sorted(HEADLINES)  # X failed: no metrics
    expected = {"A": "ce_glorot_test_mse", "B": "knn_test_accuracy", "C": "test_mse_noisy", "D": "test_mse",
                "E": "parzen_log_likelihood", "F": "parzen_log_likelihood", "G": "new_C_psnr_db",
                "H": "deep_autoencoder_test_error", "I": "100_labels_glorot_pretrained_test_accuracy",
                "J": "test_neg_elbo"}
    for qid, name in expected.items():
        assert isinstance(metrics[qid].get(name), float), (qid, sorted(metrics[qid]))
    # every question's tables, by the rows of its CSV files
    questions = {q["question"]: q for q in report["questions"]}
    assert float(questions["H"]["tables"]["reconstruction_errors"][0]["test_error"]) == pytest.approx(
        metrics["H"]["deep_autoencoder_test_error"])
    target = tmp_path / "docs" / "results.md"
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n<!-- results:start -->\nold numbers\n<!-- results:end -->\n\n## after\n")
    assert main(["results", "--report", str(out / "report.json"), "--output", str(target),
                 "--readme", str(readme)]) == 0
    block = readme.read_text()
    assert "old numbers" not in block and block.startswith("# title\n") and block.endswith("## after\n")
    assert "| [H](docs/question_h.md) | pca_test_error |" in block and "keras-ae run all --quick" in block
    text = target.read_text()
    for qid, numbers in metrics.items():
        assert f"## Question {qid}" in text
        for name in numbers:
            assert f"| {name} |" in text, (qid, name)
    assert "| 13.87 | Hinton & Salakhutdinov 2006 |" in text  # published reference beside the measured PCA
    # an earlier run's minutes beside this run's, per question and for the whole run
    earlier = dict(report, run={**report["run"], "date": "earlier", "wall_minutes": 99.5},
                   questions=[dict(q, seconds=600.0) for q in report["questions"]])
    (tmp_path / "before.json").write_text(json.dumps(earlier))
    assert main(["results", "--report", str(out / "report.json"), "--output", str(target),
                 "--readme", str(readme), "--before", str(tmp_path / "before.json")]) == 0
    now_h = round(questions["H"]["seconds"] / 60, 1)
    assert f"H 10 -> {now_h:g}" in readme.read_text() and "all (wall) 99.5 -> " in readme.read_text()
    assert "| all (wall) | 99.5 |" in target.read_text()


def test_results_command_refuses_a_missing_or_corrupt_report(tmp_path, capsys):
    from keras_ae.cli import main

    assert main(["results", "--report", str(tmp_path / "none.json"), "--output", str(tmp_path / "r.md")]) == 2
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["results", "--report", str(tmp_path / "bad.json"), "--output", str(tmp_path / "r.md")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "none.json" in err[0] and "bad.json" in err[1]
    assert not (tmp_path / "r.md").exists()


def test_report_renders_in_a_browser(quick_report, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    out = quick_report[1]
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,2400",
                    f"--screenshot={shot}", (out / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1000
    assert pixels[..., :3].std() > 0.05  # text and figures, not a blank page


def test_results_put_preset_runs_beside_the_default_and_the_paper(tmp_path):
    """A report with H's default run and its hinton2006 preset: results.md's "Published numbers"
    table and the README block show both against the paper's 3.00."""
    from keras_ae.results import published_comparison, render_readme_block, render_results

    report = {"run": {"command": "keras-ae run all --presets", "wall_minutes": 60.0},
              "questions": [{"question": "H", "key": "H", "preset": None, "title": "PCA vs deep", "status": "ok",
                             "seconds": 330.0, "tables": {}},
                            {"question": "H", "key": "H:hinton2006", "preset": "hinton2006", "title": "PCA vs deep",
                             "status": "ok", "seconds": 1200.0, "tables": {}}],
              "metrics": {"H": {"deep_autoencoder_test_error": 11.45, "pca_test_error": 13.87},
                          "H:hinton2006": {"deep_autoencoder_test_error": 2.95, "pca_test_error": 13.87}}}
    rows = published_comparison(report)
    assert [(r["configuration"], r["metric"], r["measured"], r["published"], r["minutes"]) for r in rows] == [
        ("default", "deep_autoencoder_test_error", 11.45, 3.0, 5.5),
        ("hinton2006", "deep_autoencoder_test_error", 2.95, 3.0, 20.0),
        ("default", "pca_test_error", 13.87, 13.87, 5.5), ("hinton2006", "pca_test_error", 13.87, 13.87, 20.0)]
    text = render_results(report)
    assert "## Published numbers" in text and "## Question H, preset hinton2006" in text
    assert "(#question-h-preset-hinton2006)" in text
    assert "| H | hinton2006 | deep_autoencoder_test_error | 2.95 | 3 |" in text
    block = render_readme_block(report)
    assert "| [H `--preset hinton2006` (20 min)](docs/question_h.md) | deep_autoencoder_test_error | 2.95 | 3 |" in block
    assert "| [H](docs/question_h.md) | deep_autoencoder_test_error | 11.45 | 3 |" in block


def test_each_run_is_labelled_by_what_it_ran():
    """A run of presets alone is not labelled with the sheets' settings (also for reports written before)."""
    from keras_ae.results import combine_reports, profile_label

    assert profile_label(True, ["A", "F:long"]) == "quick"
    assert profile_label(False, ["A", "B"]) == "full (the sheets' settings)"
    assert profile_label(False, ["F:goodfellow2014"]) == "full (presets)"
    assert profile_label(False, ["H", "H:hinton2006"]) == "full (the sheets' settings, then presets)"
    old = {"profile": "full (the sheets' settings)", "command": "x"}
    report = combine_reports([{"run": old, "questions": [{"question": "A", "key": "A"}]},
                              {"run": old, "questions": [{"question": "F", "key": "F:goodfellow2014"}]}])
    assert [r["profile"] for r in report["runs"]] == ["full (the sheets' settings)", "full (presets)"]


def test_results_show_a_long_curve_but_not_a_long_listing():
    """A metric-against-epochs table (first column ``epoch``) of 60 points is drawn in results.md;
    other tables of more than 40 rows, and logs, stay in their CSV."""
    from keras_ae.results import render_results

    curve = [{"epoch": str(5 * i), "parzen_validation_ll": str(100 + i)} for i in range(1, 61)]
    listing = [{"run": str(i), "accuracy": "0.5"} for i in range(60)]
    report = {"run": {"command": "keras-ae run all --only F:goodfellow2014", "wall_minutes": 45.0},
              "questions": [{"question": "F", "key": "F:goodfellow2014", "preset": "goodfellow2014", "title": "GAN",
                             "status": "ok", "seconds": 2700.0,
                             "tables": {"parzen_validation": curve, "runs": listing, "history": curve[:3]}}],
              "metrics": {}}
    text = render_results(report)
    assert "| 300 | 160 |" in text and "| 5 | 101 |" in text  # every point of the curve
    assert "`runs.csv`: 60 rows, in the question's output folder." in text
    assert "`history.csv`: 3 rows, in the question's output folder." in text


def test_results_combine_a_full_run_with_a_later_preset_run(tmp_path):
    """``keras-ae results --report full.json --report presets.json``: the newer run's entries replace
    the older's of the same name (undated: the later report's), its new ones (the preset) are added,
    both runs are listed."""
    import json

    from keras_ae.cli import main

    def entry(key, seconds, error):
        qid, _, preset = key.partition(":")
        return {"question": qid, "key": key, "preset": preset or None, "title": "t", "status": "ok",
                "seconds": seconds, "tables": {}}, {"deep_autoencoder_test_error": error}

    def report(path, command, keys):
        entries = [entry(*k) for k in keys]
        path.write_text(json.dumps({"run": {"command": command, "wall_minutes": 1.0},
                                    "questions": [e for e, _ in entries],
                                    "metrics": {e["key"]: m for e, m in entries}}))
        return str(path)

    full = report(tmp_path / "full.json", "keras-ae run all", [("A", 60.0, 1.0), ("H", 300.0, 11.5)])
    presets = report(tmp_path / "presets.json", "keras-ae run all --only H --presets",
                     [("H", 310.0, 11.4), ("H:hinton2006", 1800.0, 2.7)])
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n<!-- results:end -->\n")
    target = tmp_path / "results.md"
    assert main(["results", "--report", full, "--report", presets, "--output", str(target),
                 "--readme", str(readme)]) == 0
    text = target.read_text()
    assert "| command | keras-ae run all | keras-ae run all --only H --presets |" in text
    assert "| questions | A (also H: another run's shown) | H H:hinton2006 |" in text
    assert "| [H](#question-h) | ok | 5.2 |" in text  # the later run's H
    assert "| H | hinton2006 | deep_autoencoder_test_error | 2.7 | 3 |" in text
    block = readme.read_text()
    assert "| [H](docs/question_h.md) | deep_autoencoder_test_error | 11.4 | 3 |" in block
    assert "| [H `--preset hinton2006` (30 min)](docs/question_h.md) |" in block
    assert "`keras-ae run all` (" in block and "`keras-ae run all --only H --presets` (" in block
    before = report(tmp_path / "before.json", "keras-ae run all", [("A", 120.0, 1.0), ("H", 600.0, 11.5)])
    assert main(["results", "--report", full, "--report", presets, "--output", str(target), "--readme", str(readme),
                 "--before", before]) == 0
    # no single wall time covers two runs: the questions' minutes add up (presets apart)
    assert "A 2 -> 1, H 10 -> 5.2, all (sum of the questions) 12 -> 6.2." in readme.read_text()
    # a full run newer than the preset run keeps its own H; the preset run adds only its preset
    for path, date in ((full, "2026-12-03 18:50 UTC"), (presets, "2026-11-23 18:26 UTC")):
        data = json.loads(open(path).read())
        data["run"]["date"] = date
        open(path, "w").write(json.dumps(data))
    assert main(["results", "--report", full, "--report", presets, "--output", str(target),
                 "--readme", str(readme)]) == 0
    text = target.read_text()
    assert "| [H](#question-h) | ok | 5.0 |" in text
    assert "| questions | A H | H:hinton2006 (also H: another run's shown) |" in text
    block = readme.read_text()
    assert "| [H](docs/question_h.md) | deep_autoencoder_test_error | 11.5 | 3 |" in block
    assert "| [H `--preset hinton2006` (30 min)](docs/question_h.md) |" in block


def test_a_preset_runs_figures_get_the_presets_captions():
    from keras_ae.questions import question_h
    from keras_ae.report import _figure_caption

    plain = _figure_caption(question_h, "results/question_h/reconstructions.png")
    preset = _figure_caption(question_h, "results/question_h_hinton2006/reconstructions.png", "hinton2006")
    assert plain == question_h.CAPTIONS["reconstructions.png"]
    assert preset == question_h.PRESET_CAPTIONS["hinton2006"]["reconstructions.png"] != plain
    assert "RBM" in _figure_caption(question_h, "x/rbm_pretraining.png", "hinton2006")


def test_a_published_reference_line_stays_visible_under_an_equal_measured_one():
    """H's PCA error equals the paper's 13.87: the paper's line is dotted and drawn beneath, so both show."""
    import matplotlib.pyplot as plt

    from keras_ae.plots import plot_curves

    fig, ax = plt.subplots()
    plot_curves({"PCA, test": ([1, 2], [13.87, 13.87]), "paper: PCA 13.87": ([1, 2], [13.87, 13.87])}, None, "t", ax=ax)
    measured, paper = ax.lines
    assert paper.get_linestyle() == ":" and measured.get_linestyle() == "-"
    assert paper.get_zorder() < measured.get_zorder()
    plt.close(fig)
