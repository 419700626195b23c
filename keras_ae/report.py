"""The all-questions run and its self-contained HTML report.

``run_all`` runs the chosen questions in order, one progress line each, and never lets one
failure lose the others' results: a failed question is recorded with its error and the report
marks it. ``write_report`` embeds every figure (base64 PNG) with its caption, every table, and
the published numbers beside the measured ones.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import time
import traceback
from dataclasses import dataclass, field

from keras_ae.io import write_json, write_text
from keras_ae.questions import QUESTIONS, RunResult, get_question


@dataclass
class QuestionResult:
    qid: str
    title: str
    status: str = "not run"  # "ok" or "failed" ("running" while it runs)
    seconds: float = 0.0
    result: RunResult = field(default_factory=RunResult)
    error: str = ""
    output_dir: str = ""
    skipped: bool = False  # not run again by ``run all --resume``: the entry comes from the run record
    preset: str | None = None  # a paper's configuration of the question (``--preset``), run by ``--presets``

    @property
    def key(self) -> str:
        """``H``, or ``H:hinton2006`` for a preset run: its name in the report and report.json."""
        return self.qid if self.preset is None else f"{self.qid}:{self.preset}"

    @property
    def name(self) -> str:
        return f"question {self.qid}" + (f", preset {self.preset}" if self.preset else "")


def output_folder(output_root: str, qid: str, preset: str | None = None) -> str:
    """``results/question_h``, or ``results/question_h_hinton2006`` for a preset run."""
    return os.path.join(output_root, f"question_{qid.lower()}" + (f"_{preset}" if preset else ""))


def question_presets(qid: str) -> list[str]:
    """The names of question ``qid``'s ``--preset`` configurations (the papers' set-ups)."""
    return sorted(get_question(qid).presets)


def planned_runs(only=None, presets: bool = False) -> list[tuple[str, str | None]]:
    """The runs of ``keras-ae run all``, in order, as (question, preset or None): each question of
    ``only`` (default: all) at the sheet's settings, then, with ``presets``, every preset of those
    questions. An item ``"F:goodfellow2014"`` of ``only`` names one preset alone (not the
    question's own run). Raises ValueError naming an unknown question or preset."""
    defaults, chosen = [], []
    for item in only or QUESTIONS:
        qid, _, preset = str(item).partition(":")
        qid = qid.upper()
        if qid not in QUESTIONS:
            raise ValueError(f"unknown question {qid!r} (known: {' '.join(QUESTIONS)})")
        if not preset:
            defaults.append(qid)
        elif preset not in question_presets(qid):
            known = " ".join(question_presets(qid)) or "none"
            raise ValueError(f"question {qid} has no preset {preset!r} (its presets: {known})")
        else:
            chosen.append((qid, preset))
    runs = [(qid, None) for qid in defaults]
    if presets:
        chosen += [(qid, p) for qid in defaults for p in question_presets(qid)]
    return runs + [run for i, run in enumerate(chosen) if run not in chosen[:i]]


def question_argv(question, output_root: str, saved_models_dir: str, quick: bool, data_dir: str | None,
                  seed: int, preset: str | None = None) -> list[str]:
    """The options ``run all`` gives question ``question`` (a :class:`~keras_ae.questions.Question`)."""
    argv = ["--output-dir", output_folder(output_root, question.id, preset),
            "--saved-models-dir", saved_models_dir, "--seed", str(seed)]
    if preset:
        argv += ["--preset", preset]
    if data_dir:
        argv += ["--data-dir", data_dir]
    if question.run_all_args is not None:
        argv += question.run_all_args(output_root)
    if quick:
        argv += list(question.quick_args)
    return argv


RECORD_NAME = "run_record.json"
NOT_RESULT_SETTINGS = ("verbose",)  # options that change nothing a question writes


def record_path(output_dir: str) -> str:
    """A question's run record in its output folder: :func:`run_all` writes it when the question
    starts (status ``running``) and when it ends (``ok`` or ``failed``)."""
    return os.path.join(output_dir, RECORD_NAME)


def read_record(output_dir: str) -> dict | None:
    """The question's run record, or None where there is none (or it cannot be read)."""
    try:
        with open(record_path(output_dir)) as fh:
            record = json.load(fh)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def question_settings(args, dependencies: dict) -> dict:
    """What a question's outputs depend on: its parsed options (less verbosity), and the run id
    of every question whose outputs it reads (C reads B's), so that it runs again after them."""
    options = {k: v for k, v in sorted(vars(args).items()) if k not in NOT_RESULT_SETTINGS}
    return json.loads(json.dumps({"options": options, "depends_on": dependencies}, default=str))


def _dependencies(qid: str, argv: list[str], output_root: str, records: dict) -> dict:
    """The questions whose output folders appear in ``argv`` (besides ``qid``'s own), with the
    run id of their latest record."""
    found = {}
    for other in QUESTIONS:
        folder = os.path.join(output_root, f"question_{other.lower()}")
        if other != qid and folder in argv:
            found[other] = (records.get(other) or read_record(folder) or {}).get("run_id")
    return found


def rerun_reason(record: dict | None, settings: dict) -> str | None:
    """Why a question must run again under ``--resume`` (None: it completed with these settings
    and its recorded figures and tables are still there)."""
    if record is None:
        return "no record of an earlier run"
    if record.get("status") != "ok":
        return f"its last run {'was interrupted' if record.get('status') == 'running' else 'failed'}"
    earlier = record.get("settings") or {}
    if earlier.get("options") != settings["options"]:
        changed = sorted(k for k in set(earlier.get("options") or {}) | set(settings["options"])
                         if (earlier.get("options") or {}).get(k) != settings["options"].get(k))
        return f"its options changed ({', '.join(changed)})"
    if earlier.get("depends_on") != settings["depends_on"]:
        return f"{', '.join(settings['depends_on'])}, whose outputs it reads, ran again"
    missing = [p for p in RunResult.from_record(record.get("result", {})).paths() if not os.path.exists(p)]
    if missing:
        return f"{len(missing)} of its outputs are missing (e.g. {missing[0]})"
    return None


def _record(entry: "QuestionResult", settings: dict, run_id: str) -> dict:
    result = entry.result.record()
    return json.loads(json.dumps({
        "question": entry.qid, "preset": entry.preset, "status": entry.status, "run_id": run_id, "settings": settings,
        "seconds": round(entry.seconds, 1),
        "finished": None if entry.status == "running" else time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "error": entry.error, "result": result}, default=str))


def run_all(qids=None, output_root: str = "results", saved_models_dir: str = "saved_models", quick: bool = False,
            data_dir: str | None = None, seed: int = 0, verbose: int | None = None,
            resume: bool = False, presets: bool = False) -> list[QuestionResult]:
    """Run the questions ``qids`` (default: all) in order; one failure never stops the others.
    With ``presets``, each of those questions' ``--preset`` configurations (the papers' set-ups:
    H hinton2006, E makhzani2015, F goodfellow2014) runs after them, in its own output folder
    (:func:`output_folder`) with its own run record.

    Each question's folder gets a run record (:func:`record_path`; status, settings, seconds,
    figures, tables, models), written atomically when it starts and when it ends. With
    ``resume``, a question whose record says it completed with the same settings (and whose
    figures and tables are still there) is not run again: its entry comes from the record, and
    one line says so. A question that failed, was interrupted or has other settings runs again;
    so does one that reads the outputs of a question that ran again (C after B). An interrupted
    question's long fits resume from their per-epoch backups; its recorded seconds then add the
    training time the killed attempt spent before the epoch they resumed from (not its start-up).
    """
    import uuid

    from keras_ae.callbacks import TrainingBackup

    runs = planned_runs(qids, presets)
    results, records = [], {}
    for i, (qid, preset) in enumerate(runs, 1):
        entry = QuestionResult(qid, "", output_dir=output_folder(output_root, qid, preset), preset=preset)
        start, resumed_before = time.perf_counter(), TrainingBackup.seconds_resumed_in_process
        settings, run_id = None, uuid.uuid4().hex
        try:
            question = get_question(qid)
            entry.title = question.title_of(preset)
            parser = question.build_parser()
            argv = question_argv(question, output_root, saved_models_dir, quick, data_dir, seed, preset)
            if verbose is not None:
                argv += ["--verbose", str(verbose)]
            args = parser.parse_args(argv)
            settings = question_settings(args, _dependencies(qid, argv, output_root, records))
            record = read_record(entry.output_dir)
            reason = rerun_reason(record, settings) if resume else None
            if resume and reason is None:
                entry.status, entry.seconds = "ok", float(record.get("seconds", 0.0))
                entry.result = RunResult.from_record(record["result"])
                entry.skipped = True
                records[entry.key] = record
                print(f"[{i}/{len(runs)}] {entry.name}: skipped, completed earlier with the same settings "
                      f"({entry.seconds / 60:.1f} min, {record.get('finished') or 'date unknown'}; "
                      f"{record_path(entry.output_dir)})", flush=True)
                results.append(entry)
                continue
            print(f"[{i}/{len(runs)}] {entry.name}: {entry.title}{' (quick)' if quick else ''}"
                  + (f" (run again: {reason})" if resume else ""), flush=True)
            entry.status = "running"
            _write_record(entry, settings, run_id)
            entry.result = question.run(args)
            entry.status = "ok"
        except SystemExit as exc:  # argparse refusing an option
            entry.status, entry.error = "failed", f"bad options (exit {exc.code})"
        except Exception as exc:  # noqa: BLE001 - one question's failure must not stop the others
            entry.status = "failed"
            entry.error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=6)}"
        # a question resumed from its fits' backups: add the training time of the attempts before the kill
        entry.seconds = time.perf_counter() - start + TrainingBackup.seconds_resumed_in_process - resumed_before
        if settings is not None:
            records[entry.key] = _write_record(entry, settings, run_id)
        print(f"[{i}/{len(runs)}] {entry.name}: {entry.status} in {entry.seconds / 60:.1f} min"
              + (f" - {entry.error.splitlines()[0]}" if entry.error else ""), flush=True)
        results.append(entry)
    return results


def _write_record(entry: QuestionResult, settings: dict, run_id: str) -> dict:
    record = _record(entry, settings, run_id)
    os.makedirs(entry.output_dir, exist_ok=True)
    write_json(record, record_path(entry.output_dir))
    return record


# ---- HTML ----------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #444}h2{margin-top:2em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.2em 0;text-align:center}figure img{max-width:min(100%,720px);border:1px solid #ddd}
figcaption{font-size:.9em;color:#444;margin-top:.3em;text-align:left}
.ok{color:#16702e;font-weight:bold}.failed{color:#b00020;font-weight:bold}
pre{background:#fbeaea;padding:.8em;overflow-x:auto;font-size:.8em}
.published{background:#eef4fb;padding:.5em .8em;border-left:4px solid #4a7fc1}
.scroll{overflow-x:auto}
.answers{background:#f3f8ee;padding:.3em .8em;border-left:4px solid #5a9a3c}
"""


def _img_tag(path: str) -> str:
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode("ascii")
    return f'<img alt="{html.escape(os.path.basename(path))}" src="data:image/png;base64,{data}">'


def _csv_table(path: str) -> str:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return ""
    def cell(v):
        try:
            f = float(v)
        except ValueError:
            return f"<td>{html.escape(v)}</td>"
        return f'<td class="num">{v if v.lstrip("-").isdigit() else f"{f:.4g}"}</td>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in rows[0])
    body = "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def _caption_of_table(md_path: str) -> str:
    if not os.path.isfile(md_path):
        return ""
    first = open(md_path).read().split("\n\n", 1)
    return first[0] if len(first) == 2 and not first[0].startswith("|") else ""


def _tables(result: RunResult) -> list[str]:
    """The CSV file of every table the run wrote (those still there)."""
    return [c for c in result.tables.values() if os.path.isfile(c)]


def _answers(qid: str, tables: dict) -> list[dict]:
    """The answers of question ``qid`` computed from its tables' rows (none for an unknown question)."""
    try:
        question = get_question(qid)
    except KeyError:
        return []
    return question.answers(tables)


def _answers_html(answers: list[dict]) -> str:
    if not answers:
        return ""
    items = "".join(f"<li><b>{html.escape(a['item'])}: {html.escape(a['asks'])}</b><br>{html.escape(a['answer'])} "
                    f"<i>Evidence: {html.escape(a['evidence'])}</i></li>" for a in answers)
    return f'<div class="answers"><p><b>Answers</b> (computed from this run\'s numbers):</p><ul>{items}</ul></div>'


def _anchor(entry: QuestionResult) -> str:
    return "q" + entry.key.replace(":", "_")


def _question_section(n: int, entry: QuestionResult) -> str:
    try:
        question = get_question(entry.qid)
    except Exception:  # noqa: BLE001 - a report still shows a question whose module cannot be imported
        question = None
    heading = f"Question {entry.qid}" + (f", preset {entry.preset}" if entry.preset else "")
    parts = [f'<h2 id="{_anchor(entry)}">{heading}: {html.escape(entry.title)}</h2>',
             f'<p>Status: <span class="{entry.status}">{entry.status}</span>, '
             f"{entry.seconds / 60:.1f} min{' (an earlier run: not run again by --resume)' if entry.skipped else ''}. "
             f"Outputs in <code>{html.escape(entry.output_dir)}</code>.</p>"]
    if question is not None and question.summary:
        parts.append(f"<p>{html.escape(question.summary)}</p>")
    if entry.error:
        parts.append(f"<pre>{html.escape(entry.error)}</pre>")
    if question is not None and question.reference_note:
        parts.append(f'<p class="published"><b>Published reference.</b> {html.escape(question.reference_note)}</p>')
    if entry.status == "ok":
        from keras_ae.results import against_paper, read_tables

        tables = read_tables(_tables(entry.result))
        parts.append(_answers_html(_answers(entry.qid, tables)))
        lines = against_paper({"question": entry.qid, "key": entry.key, "preset": entry.preset,
                               "seconds": entry.seconds, "tables": tables}, {entry.key: entry.result.metrics})
        if lines:
            items = "".join(f"<li><b>{html.escape(label)}</b>: {html.escape(text)}</li>" for label, text in lines)
            parts.append(f'<div class="published"><p><b>Against the paper</b>:</p><ul>{items}</ul></div>')
    for table in _tables(entry.result):
        caption = _caption_of_table(table[:-4] + ".md")
        parts.append(f'<div class="scroll">{_csv_table(table)}</div><p><i>{html.escape(caption)}</i></p>')
    for k, path in enumerate([f for f in entry.result.figures.values() if os.path.isfile(f)], 1):
        caption = question.caption(path, entry.preset) if question is not None else os.path.basename(path)
        parts.append(f"<figure>{_img_tag(path)}<figcaption><b>Figure {entry.key}.{k}.</b> "
                     f"{html.escape(caption)}</figcaption></figure>")
    if entry.result.models:
        items = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in entry.result.models.values())
        parts.append(f"<p>SavedModels:</p><ul>{items}</ul>")
    return "\n".join(parts)


def run_info(seed: int, quick: bool, seconds: float, argv=None) -> dict:
    """Where and how a run was made: the command, date, seed, machine, versions, wall time."""
    import platform
    import sys

    import keras
    import tensorflow as tf

    argv = sys.argv[1:] if argv is None else argv
    return {"command": "keras-ae " + " ".join(argv), "date": time.strftime("%Y-%m-%d %H:%M %Z"), "seed": seed,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"
                       + (f", {len(tf.config.list_physical_devices('GPU'))} GPU" if tf.config.list_physical_devices("GPU") else ""),
            "versions": f"Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}",
            "wall_minutes": round(seconds / 60, 1)}  # the profile: report_data, from what ran


def report_data(results: list[QuestionResult], quick: bool = False, info: dict | None = None) -> dict:
    """What ``report.json`` holds: the run, and per question its status, time, figures, tables
    (the rows of its CSV files), the answers to its sheet's questions (``[{item, asks, answer,
    evidence}]``, :meth:`~keras_ae.questions.Question.answers`) and headline metrics
    (:mod:`keras_ae.results`)."""
    from keras_ae.results import headline_metrics, profile_label, read_tables

    questions, metrics = [], {}
    for r in results:
        tables = read_tables(_tables(r.result))
        questions.append({"question": r.qid, "preset": r.preset, "key": r.key, "title": r.title, "status": r.status,
                          "seconds": round(r.seconds, 1), "error": r.error, "figures": list(r.result.figures.values()),
                          "tables": tables, "skipped": r.skipped,
                          "answers": _answers(r.qid, tables) if r.status == "ok" else []})
        if r.status == "ok":
            metrics[r.key] = headline_metrics(r.qid, tables)
    return {"run": dict(info or {}, profile=profile_label(quick, [r.key for r in results])),
            "questions": questions, "metrics": metrics}


def write_report(results: list[QuestionResult], path: str, quick: bool = False, info: dict | None = None) -> str:
    """One self-contained HTML file (summary table, then a section per question) and, beside it,
    ``report.json`` (:func:`report_data`)."""
    ok = sum(r.status == "ok" for r in results)
    summary = "".join(
        f'<tr><td><a href="#{_anchor(r)}">{r.key}</a></td><td>{html.escape(r.title)}</td>'
        f'<td class="{r.status}">{r.status}</td><td>{r.seconds / 60:.1f}</td></tr>' for r in results)
    body = "\n".join(_question_section(i, r) for i, r in enumerate(results, 1))
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>keras_ae report</title><style>{_STYLE}</style></head>
<body><h1>keras_ae: autoencoder assignments, report</h1>
<p>{ok} of {len(results)} questions completed{' (quick profile: small slices, few epochs; numbers are not comparable to the published ones)' if quick else ''}.
Written answers: <code>docs/answers.md</code>.</p>
<table><tr><th>question</th><th>what</th><th>status</th><th>minutes</th></tr>{summary}</table>
{body}
</body></html>
"""
    write_text(path, doc)  # atomically, as every file keras_ae writes (keras_ae/io.py)
    write_json(report_data(results, quick, info), os.path.splitext(path)[0] + ".json")
    return path
