"""Every question's headline numbers, under stable names, and their rendering as Markdown.

``keras-ae run all`` stores in ``results/report.json`` each question's tables (the rows of the
CSV files the question wrote) and its headline metrics, computed from those rows by the
functions below; ``keras-ae results`` renders that file into ``docs/results.md``. A number in
the docs therefore comes from the run that measured it, never from a hand copy.

Metric names (per question; ``<variant>`` etc. as in the question's own tables):

- A: ``<variant>_test_mse``, ``<variant>_test_cross_entropy`` (per pixel / nats per image)
- B: ``test_mse``, ``knn_test_accuracy``, ``trustworthiness``, ``silhouette_tsne``
- C: ``test_mse_clean``, ``test_mse_noisy``, ``noisy_input_mse``, ``knn_test_accuracy``,
  ``baseline_test_mse_noisy`` (B's autoencoder on the same noisy images)
- D: ``test_mse``, ``test_squared_error``, ``mean_image_test_mse``
- E: ``parzen_log_likelihood``, ``parzen_std_error``, ``val_squared_error``, ``gaussian_kl_to_prior``
- F: ``parzen_log_likelihood``, ``parzen_std_error``, ``classifier_score_generated``
- G: ``<image>_<panel>_psnr_db`` and ``<image>_<panel>_bits_per_pixel`` (image ``train`` or
  ``new``, panel ``B`` float code, ``C`` 6-bit, ``D`` 4-bit)
- H: ``deep_autoencoder_test_error``, ``pca_test_error`` (squared error per test image)
- I: ``<labels>_labels_<head>_<method>_test_accuracy`` (mean over seeds)
- J: ``test_neg_elbo``, ``gradient_variance_ratio``

A preset run (``keras-ae run all --presets``: a paper's configuration of H, E or F) has the
same metric names as its question, under the key ``<question>:<preset>`` (``H:hinton2006``).
"""

from __future__ import annotations

import csv
import os
import re

from keras_ae.io import write_text
from keras_ae.reporting import format_cell
from keras_ae.reporting import markdown_table

# Published references to hold the headline numbers against: qid -> metric -> (value, source).
PUBLISHED = {
    "E": {"parzen_log_likelihood": (340.0, "AAE, Makhzani et al. 2015, Table 1 (their 8-d prior, ± 2)")},
    "F": {"parzen_log_likelihood": (225.0, "GAN, Goodfellow et al. 2014 (± 2)")},
    "H": {"deep_autoencoder_test_error": (3.00, "Hinton & Salakhutdinov 2006 (RBM-pretrained)"),
          "pca_test_error": (13.87, "Hinton & Salakhutdinov 2006")},
}


# The one or two numbers per question that the README's question table shows.
README_METRICS = {
    "A": ("ce_glorot_test_mse", "mse_normal_test_mse"), "B": ("test_mse", "knn_test_accuracy"),
    "C": ("test_mse_noisy", "noisy_input_mse"), "D": ("test_mse",), "E": ("parzen_log_likelihood",),
    "F": ("parzen_log_likelihood",), "G": ("new_C_psnr_db", "new_D_psnr_db"),
    "H": ("deep_autoencoder_test_error", "pca_test_error"),
    "I": ("100_labels_glorot_pretrained_test_accuracy", "100_labels_glorot_scratch_test_accuracy"),
    "J": ("test_neg_elbo",),
}
README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _row(rows, key, startswith):
    for row in rows:
        if str(row.get(key, "")).startswith(startswith):
            return row
    return {}


def _pick(row: dict, names: dict) -> dict:
    """``{metric: row[column]}`` for ``names = {metric: column}``, numbers only."""
    out = {}
    for metric, column in names.items():
        value = _num(row.get(column))
        if value is not None:
            out[metric] = value
    return out


def _a(t):
    out = {}
    for row in t.get("test_losses", []):
        out.update(_pick(row, {f"{row['variant']}_test_mse": "test_mse",
                               f"{row['variant']}_test_cross_entropy": "test_cross_entropy"}))
    return out


def _b(t):
    return _pick(_row(t.get("code_quality", []), "model", "B"),
                 {"test_mse": "test_mse_clean", "knn_test_accuracy": "knn_test", "trustworthiness": "trustworthiness",
                  "silhouette_tsne": "silhouette_tsne"})


def _c(t):
    rows = t.get("comparison", [])
    out = _pick(_row(rows, "model", "C"), {"test_mse_clean": "test_mse_clean", "test_mse_noisy": "test_mse_noisy",
                                           "noisy_input_mse": "noisy_input_mse", "knn_test_accuracy": "knn_test"})
    out.update(_pick(_row(rows, "model", "B"), {"baseline_test_mse_noisy": "test_mse_noisy"}))
    return out


def _d(t):
    rows = t.get("test_losses", [])
    return _pick(rows[-1] if rows else {}, {"test_mse": "test_mse", "test_squared_error": "test_squared_error",
                                            "mean_image_test_mse": "mean_image_test_mse"})


def _e(t):
    rows = t.get("summary", [])
    return _pick(rows[-1] if rows else {}, {"parzen_log_likelihood": "parzen_ll", "parzen_std_error": "parzen_std_error",
                                            "val_squared_error": "val_squared_error",
                                            "gaussian_kl_to_prior": "gaussian_kl_to_prior"})


def _f(t):
    rows = t.get("quality", [])
    return _pick(rows[0] if rows else {}, {"parzen_log_likelihood": "parzen_test_ll",
                                           "parzen_std_error": "parzen_test_ll_stderr",
                                           "classifier_score_generated": "classifier_score_generated"})


def _g(t):
    out = {}
    for row in t.get("bits_per_pixel_psnr", []):
        image = "train" if str(row.get("image", "")).startswith("training") else "new"
        panel = row.get("panel", "")
        if panel in ("B", "C", "D"):
            out.update(_pick(row, {f"{image}_{panel}_psnr_db": "psnr_db", f"{image}_{panel}_bits_per_pixel": "bits_per_pixel"}))
    return out


def _h(t):
    rows = t.get("reconstruction_errors", [])
    out = _pick(_row(rows, "method", "deep autoencoder"), {"deep_autoencoder_test_error": "test_error"})
    out.update(_pick(_row(rows, "method", "PCA"), {"pca_test_error": "test_error"}))
    return out


def _i(t):
    out = {}
    for row in t.get("test_accuracy", []):
        name = f"{row['labels']}_labels_{row['head_init']}_{row['method']}_test_accuracy"
        out.update(_pick(row, {name: "mean_test_accuracy"}))
    return out


def _j(t):
    out = {}
    rows = t.get("vae_results", [])
    if rows:
        out.update(_pick(rows[0], {"test_neg_elbo": "test_neg_elbo"}))
    variances = {_slug(r.get("estimator", "")).split("_")[0]: _num(r.get("variance")) for r in t.get("gradient_variance", [])}
    if variances.get("score") and variances.get("reparameterization"):
        out["gradient_variance_ratio"] = variances["score"] / variances["reparameterization"]
    return out


HEADLINES = {"A": _a, "B": _b, "C": _c, "D": _d, "E": _e, "F": _f, "G": _g, "H": _h, "I": _i, "J": _j}


def read_tables(csv_paths) -> dict:
    """``{file stem: rows}`` of the CSV tables a question wrote (rows as dicts of strings)."""
    tables = {}
    for path in csv_paths:
        with open(path, newline="") as fh:
            tables[os.path.splitext(os.path.basename(path))[0]] = list(csv.DictReader(fh))
    return tables


def headline_metrics(qid: str, tables: dict) -> dict:
    """The question's headline numbers under the stable names listed in this module's docstring."""
    fn = HEADLINES.get(qid.upper())
    return fn(tables) if fn else {}


# ---- Markdown --------------------------------------------------------------------------------

def _typed(value):
    """A CSV cell as the number it holds (int or float), else the text itself."""
    text = str(value).strip()
    number = _num(text)
    if number is None or text == "":
        return value
    return int(text) if text.lstrip("-").isdigit() else number


def _fmt(value) -> str:
    return format_cell(_typed(value))


def _md_table(rows, columns=None) -> str:
    if not rows:
        return ""
    return markdown_table([{k: _typed(v) for k, v in row.items()} for row in rows], columns)


def render_results(report: dict, before: dict | None = None) -> str:
    """``docs/results.md`` from the contents of ``results/report.json`` (and the minutes of an
    earlier run, ``before``, beside this run's)."""
    run = report.get("run", {})
    runs = report.get("runs") or [run]
    questions = report.get("questions", [])
    metrics = report.get("metrics", {})
    lines = ["# keras_ae: measured results", "",
             "Generated by `keras-ae results` from the `report.json` of the run" + ("s" if len(runs) > 1 else "")
             + " below (a question in two runs: the newer run's); do not edit by hand. Metric names are "
             "documented in `keras_ae/results.py`.", "",
             "| run |" + " |" * len(runs), "|---|" + "---|" * len(runs)]
    for key in ("command", "date", "seed", "machine", "versions", "wall_minutes", "profile", "questions"):
        if any(key in r for r in runs):
            lines.append(f"| {key.replace('_', ' ')} | "
                         + " | ".join(str(r.get(key, "")).replace("|", "/") for r in runs) + " |")
    lines += ["", "| question | status | minutes |", "|---|---|---|"]
    for q in questions:
        lines.append(f"| [{_key(q)}](#{_anchor(q)}) | {q['status']} | {q['seconds'] / 60:.1f} |")
    published_rows = published_comparison(report)
    if published_rows:
        lines += ["", "## Published numbers", "",
                  "Each paper's number beside the measured ones: the sheet's configuration (`default`) and, where it was "
                  "run (`keras-ae run all --presets`), the paper's own configuration (`preset`).", "",
                  _md_table(published_rows)]
    if before:
        lines += ["", f"Minutes per question against an earlier run ({before.get('run', {}).get('date', '?')}, "
                      f"{before.get('run', {}).get('machine', '?')}, commit of its own):", "",
                  _md_table(minutes_comparison(report, before))]
    for q in questions:
        qid = q["question"]
        lines += ["", f"## {_title(q)}", ""]
        if q.get("title"):
            lines += [q["title"][0].upper() + q["title"][1:] + ".", ""]
        if q["status"] != "ok":
            lines += [f"Failed: `{q.get('error', '').splitlines()[0] if q.get('error') else 'unknown error'}`", ""]
        headline = metrics.get(_key(q), {})
        if headline:
            published = PUBLISHED.get(qid, {})
            rows = [{"metric": name, "measured": value,
                     "published": published[name][0] if name in published else "",
                     "source": published[name][1] if name in published else ""} for name, value in headline.items()]
            columns = ["metric", "measured", "published", "source"] if published else ["metric", "measured"]
            lines += ["Headline numbers:", "", _md_table(rows, columns)]
        for name, rows in q.get("tables", {}).items():
            if not rows:
                continue
            # logs and long listings stay in their CSV; a metric-against-epochs curve is shown up to 100 points
            limit = 100 if next(iter(rows[0]), None) == "epoch" else 40
            if name in ("history", "test_loss") or len(rows) > limit:
                lines += [f"`{name}.csv`: {len(rows)} rows, in the question's output folder.", ""]
            else:
                lines += [f"`{name}.csv`:", "", _md_table(rows)]
    return "\n".join(lines).rstrip() + "\n"


def _key(q: dict) -> str:
    return q.get("key") or q["question"]


def _title(q: dict) -> str:
    return f"Question {q['question']}" + (f", preset {q['preset']}" if q.get("preset") else "")


def _anchor(q: dict) -> str:
    """The Markdown anchor of :func:`_title`'s heading."""
    return re.sub(r"[^a-z0-9 -]", "", _title(q).lower()).replace(" ", "-")


def published_comparison(report: dict) -> list[dict]:
    """One row per published reference (:data:`PUBLISHED`) and run that measured it: the sheet's
    configuration and every preset run of the question, with its minutes."""
    metrics = report.get("metrics", {})
    rows = []
    for q in report.get("questions", []):
        for name, (value, source) in PUBLISHED.get(q["question"], {}).items():
            measured = metrics.get(_key(q), {}).get(name)
            if measured is not None:
                rows.append({"question": q["question"], "configuration": q.get("preset") or "default", "metric": name,
                             "measured": measured, "published": value, "source": source,
                             "minutes": round(q["seconds"] / 60, 1)})
    return sorted(rows, key=lambda r: (r["question"], r["metric"], r["configuration"] != "default"))


def render_readme_block(report: dict, before: dict | None = None) -> str:
    """The README's headline table (between its ``results`` markers): a line or two per question;
    with ``before`` (an earlier run's report), a line of each question's minutes then and now."""
    run = report.get("run", {})
    metrics = report.get("metrics", {})
    lines = [README_START, "", "| question | headline (test set) | measured | published |", "|---|---|---|---|"]
    preset_minutes = {_key(q): q["seconds"] / 60 for q in report.get("questions", []) if q.get("preset")}
    for qid, names in README_METRICS.items():
        for key in [qid] + [k for k in preset_minutes if k.split(":")[0] == qid]:
            label = qid if key == qid else f"{qid} `--preset {key.split(':')[1]}` ({preset_minutes[key]:.0f} min)"
            for name in (names if key == qid else names[:1]):  # a preset: the number its paper published
                if name in metrics.get(key, {}):
                    published = PUBLISHED.get(qid, {}).get(name, ("",))[0]
                    lines.append(f"| [{label}](docs/question_{qid.lower()}.md) | {name} | {_fmt(metrics[key][name])} "
                                 f"| {_fmt(published)} |")
    made = " and ".join(f"`{r.get('command', 'keras-ae run all')}` ({r.get('profile', '')}, seed {r.get('seed', '?')}, "
                        f"{r.get('date', '')}, {r.get('machine', '')}: {r.get('wall_minutes', '?')} min)"
                        for r in (report.get("runs") or [run]))
    lines += ["", f"From {made}; all numbers in [docs/results.md](docs/results.md).", ""]
    if before:
        pairs = [f"{r['question']} {_fmt(r['minutes before'])} -> {_fmt(r['minutes now'])}"
                 for r in minutes_comparison(report, before) if r["minutes before"] != ""]
        lines += [f"Minutes per question, run of {before.get('run', {}).get('date', '?')} -> now: "
                  + ", ".join(pairs) + ".", ""]
    lines.append(README_END)
    return "\n".join(lines)


def update_readme(report: dict, readme_path: str, before: dict | None = None) -> str:
    """Replace the block between the README's ``results`` markers with :func:`render_readme_block`."""
    from keras_ae.errors import DataError

    text = open(readme_path).read()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise DataError(f"{readme_path}: no '{README_START}' ... '{README_END}' block to fill")
    write_text(readme_path, text[:start] + render_readme_block(report, before) + text[end + len(README_END):])
    return readme_path


def read_report(path: str) -> dict:
    """A report.json written by ``keras-ae run all``; a missing or foreign file is one DataError."""
    from keras_ae.errors import DataError
    from keras_ae.io import read_json

    report = read_json(path, "keras_ae report.json", missing_ok=True)
    if report is None:
        raise DataError(f"{path}: no such report; run `keras-ae run all` first")
    if not isinstance(report, dict) or "questions" not in report:
        raise DataError(f"{path}: not a keras_ae report.json (no 'questions')")
    return report


def profile_label(quick: bool, keys) -> str:
    """How a run was configured, from its questions' keys (``F:goodfellow2014`` is a preset run)."""
    if quick:
        return "quick"
    presets = [k for k in keys if ":" in k]
    if not presets:
        return "full (the sheets' settings)"
    return "full (presets)" if len(presets) == len(keys) else "full (the sheets' settings, then presets)"


def combine_reports(reports: list[dict]) -> dict:
    """Several runs' reports as one: the questions (and their metrics) in order of first appearance;
    of two entries of the same name (``H``, ``H:hinton2006``) the newer run's is kept (by the runs'
    dates; undated or same date: the later report's), so a preset run that also trained the default
    question does not replace a newer full run's numbers. ``runs`` lists every run, ``run`` is the
    first (the full run the others add to)."""
    if len(reports) == 1:
        return reports[0]
    questions, metrics, dates, source = {}, {}, {}, {}
    for index, report in enumerate(reports):
        date = report.get("run", {}).get("date", "")
        for q in report.get("questions", []):
            key = _key(q)
            if key in questions and date < dates[key]:  # "YYYY-MM-DD HH:MM UTC" sorts as text
                continue
            questions[key], dates[key], source[key] = q, date, index
            if key in report.get("metrics", {}):
                metrics[key] = report["metrics"][key]
            else:
                metrics.pop(key, None)
    runs = []
    for index, r in enumerate(reports):
        keys, run = [_key(q) for q in r.get("questions", [])], dict(r.get("run", {}))
        if "profile" in run:  # reports written before presets had their own label
            run["profile"] = profile_label(run["profile"] == "quick", keys)
        used = " ".join(k for k in keys if source[k] == index)
        replaced = " ".join(k for k in keys if source[k] != index)
        runs.append(dict(run, questions=used + (f" (also {replaced}: another run's shown)" if replaced else "")))
    return {"run": reports[0].get("run", {}), "runs": runs, "questions": list(questions.values()),
            "metrics": {k: metrics[k] for k in questions if k in metrics}}


def minutes_comparison(report: dict, before: dict) -> list[dict]:
    """Per question, its minutes in an earlier run (``before``, another report.json) and in this one."""
    earlier = {_key(q): round(q["seconds"] / 60, 1) for q in before.get("questions", [])}
    rows = [{"question": _key(q), "minutes before": earlier.get(_key(q), ""),
             "minutes now": round(q["seconds"] / 60, 1)} for q in report.get("questions", [])]
    if report.get("runs"):  # combined runs: no one wall time covers them; the questions' minutes add up
        default = [r for r in rows if ":" not in r["question"] and r["minutes before"] != ""]
        rows.append({"question": "all (sum of the questions)",
                     "minutes before": round(sum(r["minutes before"] for r in default), 1),
                     "minutes now": round(sum(r["minutes now"] for r in default), 1)})
    else:
        rows.append({"question": "all (wall)", "minutes before": before.get("run", {}).get("wall_minutes", ""),
                     "minutes now": report.get("run", {}).get("wall_minutes", "")})
    return rows


def write_results(report_paths, output_path: str, readme_path: str | None = None,
                  before_path: str | None = None) -> str:
    """Render ``report_paths`` (a report.json, or several combined by :func:`combine_reports`) into
    ``output_path`` (and the README's headline block when ``readme_path`` is given);
    ``before_path``, an earlier run's report.json, adds each question's minutes then and now.
    Each file appears whole or not at all."""
    paths = [report_paths] if isinstance(report_paths, str) else list(report_paths)
    report = combine_reports([read_report(p) for p in paths])
    before = read_report(before_path) if before_path else None
    write_text(output_path, render_results(report, before))
    if readme_path:
        update_readme(report, readme_path, before)
    return output_path
