"""The all-questions run: a report that embeds every question's figures, failures isolated."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


STUBS = "XY"  # X always fails; Y writes a figure and a table in no time


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """`keras-ae run all --quick --only A X Y`: one real question (A, about 20 s) and two stub
    questions declared as every question is (:class:`keras_ae.questions.Question`), X broken."""
    from keras_ae import questions
    from keras_ae.cli import main

    for question in stub_questions():
        questions.QUESTIONS[question.id] = question
    out = tmp_path_factory.mktemp("all")
    try:
        code = main(["run", "all", "--quick", "--only", "A", *STUBS, "--output-dir", str(out),
                     "--saved-models-dir", str(out / "models"), "--verbose", "0"])
    finally:
        for qid in STUBS:
            questions.QUESTIONS.pop(qid)
    return code, out


def stub_questions():
    import argparse
    import os

    import matplotlib.pyplot as plt

    from keras_ae.plots import save_figure
    from keras_ae.questions import Question, RunResult
    from keras_ae.questions.spec import Answer, Ask, Provenance
    from keras_ae.references import HINTON2006_PCA
    from keras_ae.reporting import write_table

    def parser():
        p = argparse.ArgumentParser(prog="stub")
        p.add_argument("--output-dir")
        p.parse_args = lambda argv=None: p.parse_known_args(argv)[0]
        return p

    def broken(args):
        raise RuntimeError("deliberately broken question")

    def works(args):
        os.makedirs(args.output_dir, exist_ok=True)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        figure = save_figure(fig, os.path.join(args.output_dir, "curve.png"))
        table = write_table([{"method": "PCA", "test_error": 13.5}], os.path.join(args.output_dir, "errors"),
                            caption="A stub's table.")
        return RunResult.of(QUESTION_Y, figures=[figure], tables=table)

    def headline(tables):
        return {"pca_test_error": float(tables["errors"][0]["test_error"])}

    def below_the_paper(tables):
        error = float(tables["errors"][0]["test_error"])
        verdict = "Yes, below" if error < HINTON2006_PCA.value else "No, not below"
        return Answer(f"{verdict} the paper's {HINTON2006_PCA.value}.", f"measured {error}")

    QUESTION_Y = Question(id="Y", title="a stub question that writes one figure and one table", sheet="none",
                          build_parser=parser, run=works, captions={"curve.png": "A stub's curve, falling."},
                          reference_note="A stub's reference.", references={"pca_test_error": HINTON2006_PCA},
                          headline=headline, readme_metrics=("pca_test_error",),
                          metric_labels={"pca_test_error": "stub: PCA squared error per test image"},
                          asks=(Ask("stub sheet 1(a)", "Is the error below the paper's?", below_the_paper),),
                          provenance=lambda tables: {"pca_test_error": Provenance(0.1, "a stub's estimator", "3")})
    return [Question(id="X", title="a question that always fails", sheet="none", build_parser=parser, run=broken),
            QUESTION_Y]


def test_a_failed_question_is_reported_and_the_others_complete(quick_report):
    import json

    code, out = quick_report
    assert code == 1  # non-zero because X failed
    summary = {q["question"]: q for q in json.loads((out / "report.json").read_text())["questions"]}
    assert list(summary) == ["A", *STUBS]
    assert summary["A"]["status"] == summary["Y"]["status"] == "ok", {q: s["error"] for q, s in summary.items()}
    assert summary["X"]["status"] == "failed" and "deliberately broken question" in summary["X"]["error"]
    html = (out / "report.html").read_text()
    assert 'class="failed"' in html and "RuntimeError: deliberately broken question" in html


def test_quick_report_embeds_every_figure_with_a_caption(quick_report):
    import json

    code, out = quick_report
    html = (out / "report.html").read_text()
    summary = {q["question"]: q for q in json.loads((out / "report.json").read_text())["questions"]}
    figures = [f for q in "AY" for f in summary[q]["figures"]]
    for q in "AY":
        assert summary[q]["figures"] and summary[q]["tables"], q  # every question shows figures and numbers
    for path in figures:
        name = path.split("/")[-1]
        assert f'alt="{name}"' in html, name
    images = re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)
    captions = re.findall(r"<figcaption><b>Figure [A-Y]\.\d+\.</b> [^<]{20,}", html)
    assert len(images) == len(figures) == len(captions)
    assert "A stub&#x27;s curve, falling." in html  # the declared caption, by file name
    assert "Published reference" in html and "A stub&#x27;s reference." in html and "<table>" in html
    # the run against the paper's number: 13.5 +- 0.1 against 13.87, with the estimator and epochs
    assert "Against the paper" in html and "13.5 +- 0.1 against 13.87" in html and "below it" in html
    assert "Estimator: a stub&#x27;s estimator. Epochs: 3." in html
    assert "src=\"http" not in html and "src=\"/" not in html  # self-contained


def test_report_json_holds_every_questions_numbers_and_they_render(quick_report, tmp_path):
    import json

    from keras_ae.cli import main
    from keras_ae import questions

    out = quick_report[1]
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["seed"] == 0 and report["run"]["command"].startswith("keras-ae run all --quick")
    assert report["run"]["profile"] == "quick" and report["run"]["wall_minutes"] > 0
    metrics = report["metrics"]
    assert sorted(metrics) == ["A", "Y"]  # X failed: no metrics
    assert isinstance(metrics["A"].get("ce_glorot_test_mse"), float), sorted(metrics["A"])
    assert metrics["Y"] == {"pca_test_error": 13.5}  # the question's declared headline of its table
    # every question's tables, by the rows of its CSV files
    questions_run = {q["question"]: q for q in report["questions"]}
    rows = questions_run["A"]["tables"]["test_losses"]
    assert float(next(r for r in rows if r["variant"] == "ce_glorot")["test_mse"]) == pytest.approx(
        metrics["A"]["ce_glorot_test_mse"])
    target = tmp_path / "docs" / "results.md"
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\n<!-- results:start -->\nold numbers\n<!-- results:end -->\n\n## after\n")
    for question in stub_questions():  # rendering reads the declared labels and references
        questions.QUESTIONS[question.id] = question
    try:
        assert main(["results", "--report", str(out / "report.json"), "--output", str(target),
                     "--readme", str(readme)]) == 0
        block = readme.read_text()
        text = target.read_text()
    finally:
        for qid in STUBS:
            questions.QUESTIONS.pop(qid)
    assert "old numbers" not in block and block.startswith("# title\n") and block.endswith("## after\n")
    assert "| [A](docs/question_a.md) | CE / Xavier: test MSE per pixel |" in block
    assert "| [Y](docs/question_y.md) | stub: PCA squared error per test image | 13.5 | 13.87 |" in block
    assert "keras-ae run all --quick" in block
    for qid, numbers in metrics.items():
        assert f"## Question {qid}" in text
        for name in numbers:
            assert f"| {name} |" in text, (qid, name)
    assert "| 13.87 | Hinton & Salakhutdinov 2006 |" in text  # published reference beside the measured one
    # an earlier run's minutes beside this run's, per question and for the whole run
    earlier = dict(report, run={**report["run"], "date": "earlier", "wall_minutes": 99.5},
                   questions=[dict(q, seconds=600.0) for q in report["questions"]])
    (tmp_path / "before.json").write_text(json.dumps(earlier))
    assert main(["results", "--report", str(out / "report.json"), "--output", str(target),
                 "--readme", str(readme), "--before", str(tmp_path / "before.json")]) == 0
    now_a = round(questions_run["A"]["seconds"] / 60, 1)
    assert f"A 10 -> {now_a:g}" in readme.read_text() and "all (wall) 99.5 -> " in readme.read_text()
    assert "| all (wall) | 99.5 |" in target.read_text()


def test_results_copy_the_figures_and_fill_each_page_with_answers_that_follow_the_numbers(quick_report, tmp_path):
    """``keras-ae results`` copies the docs' figures of the run (optimised, under 1 MiB) into
    docs/figures/<question>/ and fills the generated block of each page with the answers computed
    from the run's tables and the figures with numbered captions; the answer's wording flips with
    the numbers, and a figure of another run is never kept."""
    import json

    from PIL import Image

    from keras_ae import questions
    from keras_ae.cli import main

    out = quick_report[1]
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "question_y.md"
    page.write_text("# Y\n\n<!-- run:start -->\nold\n<!-- run:end -->\n\n## after\n")
    report = json.loads((out / "report.json").read_text())
    assert report["questions"][2]["answers"][0]["answer"].startswith("Yes, below")  # written by the run too
    for question in stub_questions():
        questions.QUESTIONS[question.id] = question
    try:
        assert main(["results", "--report", str(out / "report.json"), "--output", str(docs / "results.md")]) == 0
        text = page.read_text()
        figure = docs / "figures" / "y" / "curve.png"
        assert figure.is_file() and figure.stat().st_size < 1 << 20
        assert Image.open(figure).mode == "P"  # optimised to a palette
        assert (docs / "figures" / "a" / "reconstructions.png").is_file()  # A's figures: those its captions name
        assert "old" not in text and text.endswith("## after\n")
        assert "- **stub sheet 1(a): Is the error below the paper's?** Yes, below the paper's 13.87." in text
        assert "![curve.png](figures/y/curve.png)" in text and "**Figure Y.1.** A stub's curve, falling." in text
        assert "Yes, below the paper's 13.87." in (docs / "results.md").read_text()
        # other numbers, another run without its figures on this machine: the verdict flips, the old figure goes
        for q in report["questions"]:
            if q["question"] == "Y":
                q["tables"]["errors"][0]["test_error"] = "14.5"
                q["figures"] = [str(tmp_path / "gone" / "curve.png")]
        report["run"]["date"] = "2099-01-01 00:00 UTC"
        (tmp_path / "other.json").write_text(json.dumps(report))
        assert main(["results", "--report", str(tmp_path / "other.json"), "--output", str(docs / "results.md")]) == 0
        text = page.read_text()
    finally:
        for qid in STUBS:
            questions.QUESTIONS.pop(qid)
    assert "No, not below the paper's 13.87." in text and "measured 14.5" in text
    assert not figure.exists() and "figures/y/curve.png" not in text


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
    deep, pca = "deep autoencoder: squared error per test image", "PCA, 30 components: squared error per test image"
    assert [(r["configuration"], r["metric"], r["measured"], r["published"], r["minutes"]) for r in rows] == [
        ("default", deep, 11.45, 3.0, 5.5), ("hinton2006", deep, 2.95, 3.0, 20.0),
        ("default", pca, 13.87, 13.87, 5.5), ("hinton2006", pca, 13.87, 13.87, 20.0)]
    text = render_results(report)
    assert "## Published numbers" in text and "## Question H, preset hinton2006" in text
    assert "(#question-h-preset-hinton2006)" in text
    assert f"| H | hinton2006 | {deep} | 2.95 |  | 3 |" in text
    block = render_readme_block(report)
    assert f"| [H `--preset hinton2006` (20 min)](docs/question_h.md) | {deep} | 2.95 | 3 |" in block
    assert f"| [H](docs/question_h.md) | {deep} | 11.45 | 3 |" in block


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
    deep = "deep autoencoder: squared error per test image"
    assert f"| H | hinton2006 | {deep} | 2.7 |  | 3 |" in text
    block = readme.read_text()
    assert f"| [H](docs/question_h.md) | {deep} | 11.4 | 3 |" in block
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
    assert f"| [H](docs/question_h.md) | {deep} | 11.5 | 3 |" in block
    assert "| [H `--preset hinton2006` (30 min)](docs/question_h.md) |" in block


def test_a_preset_runs_figures_get_the_presets_captions():
    from keras_ae.questions import get_question

    h = get_question("H")
    plain = h.caption("results/question_h/reconstructions.png")
    preset = h.caption("results/question_h_hinton2006/reconstructions.png", "hinton2006")
    assert plain == h.captions["reconstructions.png"]
    assert preset == h.preset_captions["hinton2006"]["reconstructions.png"] != plain
    assert "RBM" in h.caption("x/rbm_pretraining.png", "hinton2006")


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


def test_every_figure_a_page_shows_has_its_own_caption_and_i_shows_its_accuracy_figures():
    """Each question's doc_figures name a figure with a caption of its own (not the file name made
    into words; a preset's own caption counts), and figures of one series that show different things
    get different captions: question I's page shows both accuracy figures, each naming its head."""
    from keras_ae.questions import get_question
    from keras_ae.questions.spec import fallback_caption

    for q in map(get_question, "ABCDEFGHIJ"):
        for name in q.doc_figures:
            stand_in = name.replace("*", "010.png") if name.endswith("*") else name
            assert any(q.caption(stand_in, preset) != fallback_caption(stand_in) for preset in (None, *q.presets)), \
                (q.id, name)
    i = get_question("I")
    figures = [f"results/question_i/{n}" for n in ("test_accuracy_zeros_head.png", "test_accuracy_glorot_head.png",
                                                   "pretraining_loss.png", "reconstructions.png")]
    assert i.pick_doc_figures(figures) == figures
    zeros, glorot = (i.caption(f) for f in figures[:2])
    assert zeros != glorot and "zero" in zeros and "Glorot" in glorot


def _e_preset_report(ll: float, se: float, grid=True) -> dict:
    """A report with one E makhzani2015 run whose tables hold a Parzen number ``ll`` +- ``se``."""
    parzen = {"model": "this AAE", "log_likelihood": str(ll), "std_error": str(se), "sigma": "0.153",
              "samples": "10000", "test_points": "10000"}
    if grid:
        parzen.update(paper_grid_log_likelihood=str(ll - 3), paper_grid_sigma="0.1668")
    tables = {"parzen": [parzen], "summary": [{"epochs": "200", "weights_of_epoch": "55", "parzen_ll": str(ll),
                                                "parzen_std_error": str(se)}]}
    return {"run": {"command": "keras-ae run all --only E:makhzani2015", "date": "2026-12-06 01:37 UTC"},
            "questions": [{"question": "E", "key": "E:makhzani2015", "preset": "makhzani2015", "title": "old title",
                           "status": "ok", "seconds": 6000.0, "tables": tables}],
            "metrics": {"E:makhzani2015": {"parzen_log_likelihood": ll, "parzen_std_error": se}}}


def test_the_published_numbers_table_says_how_each_number_was_measured_and_whether_it_reaches_the_paper():
    """Each row of results.md's published-numbers table carries the run's standard error, the
    difference from the paper's number with its 95 % interval and a verdict that flips with the
    numbers, the estimator (refined sigma and the paper-grid number, or the older grid of a run made
    before the one estimator) and the epochs trained; a preset's section and page are titled with
    the preset's own line, not the default run's."""
    from keras_ae.pages import page_block
    from keras_ae.questions import get_question
    from keras_ae.results import published_comparison, render_results

    verdicts = {ll: published_comparison(_e_preset_report(ll, 1.0))[0]["difference (95 % interval)"]
                for ll in (345.0, 340.5, 330.0)}  # against Makhzani et al.'s 340 +- 2
    assert verdicts[345.0].endswith("above it") and verdicts[330.0].endswith("below it")
    assert verdicts[340.5].endswith("level with it") and verdicts[345.0].startswith("+5 (")
    row = published_comparison(_e_preset_report(345.0, 1.0))[0]
    assert row["std_error"] == 1.0 and row["epochs"] == "200, weights of epoch 55 (best held-out score)"
    assert "sigma 0.153" in row["estimator"] and "then refined" in row["estimator"]
    assert "on the grid alone 342.0 (sigma 0.167)" in row["estimator"]
    old = published_comparison(_e_preset_report(345.0, 1.0, grid=False))[0]["estimator"]
    assert "not refined" in old and "then refined" not in old
    text = render_results(_e_preset_report(345.0, 1.0))
    assert get_question("E").title_of("makhzani2015")[1:] in text and "old title" not in text
    assert "| E | makhzani2015 |" in text and "above it" in text
    page = page_block("E", _e_preset_report(330.0, 1.0), {})
    assert "**Against the paper: Parzen log-likelihood of the test digits (nats).** 330 +- 1 against 340" in page
    assert "below it" in page and "Epochs: 200, weights of epoch 55" in page


def test_the_parzen_estimator_is_described_by_what_the_run_recorded():
    from keras_ae.generative_metrics import DEFAULT_SIGMAS, describe_parzen

    assert "then refined; on the grid alone 120.0 (sigma 0.215)" in describe_parzen(0.2, 0.2154, 120.0)
    assert "from the grid logspace(-1, 0, 10)" in describe_parzen(0.1668, sigmas_tried=DEFAULT_SIGMAS)
    older = describe_parzen(0.18, sigmas_tried=[0.05, 0.08, 0.1, 0.12, 0.15, 0.18, 0.2, 0.25, 0.3, 0.4, 0.5])
    assert "an older grid of 11 values (0.05 to 0.5)" in older and "not refined" in older


def _f_noise_report(uniform: float, gaussian: float | None) -> dict:
    """A report with F goodfellow2014 (Parzen ``uniform`` +- 2) and, unless None, its Gaussian-z
    twin (``gaussian`` +- 2)."""
    runs = {"goodfellow2014": uniform} if gaussian is None else {"goodfellow2014": uniform,
                                                                 "goodfellow2014_gaussian": gaussian}
    return {"run": {"command": "keras-ae run all --only F:goodfellow2014", "date": "2026-12-06 05:42 UTC"},
            "questions": [{"question": "F", "key": f"F:{p}", "preset": p, "status": "ok", "seconds": 60.0,
                           "tables": {}} for p in runs],
            "metrics": {f"F:{p}": {"parzen_log_likelihood": ll, "parzen_std_error": 2.0} for p, ll in runs.items()}}


def test_two_runs_of_one_question_are_compared_by_their_difference_and_its_interval():
    """F declares one question between two runs (uniform against Gaussian z under goodfellow2014):
    results.md and F's page answer it from both runs' numbers, the verdict flips when they do, and
    with only one of the runs it is not asked."""
    from keras_ae.pages import page_block
    from keras_ae.results import between_runs, render_results

    level, apart = between_runs(_f_noise_report(201.7, 203.0)), between_runs(_f_noise_report(201.7, 215.0))
    assert level[0]["answer"].startswith("No difference shown: uniform z is level with Gaussian z")
    assert apart[0]["answer"].startswith("Yes: uniform z scores below Gaussian z")
    assert between_runs(_f_noise_report(215.0, 201.7))[0]["answer"].startswith("Yes: uniform z scores above")
    assert "difference -13.3 (95 % interval -18.8 to -7.76)" in apart[0]["evidence"]
    assert between_runs(_f_noise_report(201.7, None)) == [] and between_runs(_f_noise_report(201.7, 215.0), "E") == []
    text = render_results(_f_noise_report(201.7, 215.0))
    assert "## Between runs" in text and "**F, Preset goodfellow2014, mnist.yaml's noise: Do uniform" in text
    assert "## Between runs" not in render_results(_f_noise_report(201.7, None))
    page = page_block("F", _f_noise_report(201.7, 203.0), {})
    assert "### Between runs" in page and "level with Gaussian z" in page
