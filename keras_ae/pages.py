"""The run's figures and answers on each question's page (``docs/question_<x>.md``).

``keras-ae results`` copies the figures the docs show (:meth:`Question.pick_doc_figures`) of the
runs it renders into ``docs/figures/<question>/`` (optimised PNG, each under 1 MiB) and fills the
block between ``<!-- run:start -->`` and ``<!-- run:end -->`` of every page with the answers to
the sheet's questions (computed from the run's tables) and those figures with numbered captions.
Figures and numbers therefore always come from the same runs. ``figures/manifest.json`` records
which run each copied figure came from, so that rendering again on a machine without the run's
``results/`` folder keeps the figures of that same run and drops any other.
"""

from __future__ import annotations

import json
import os

from keras_ae.errors import DataError
from keras_ae.io import write_json, write_text

PAGE_START, PAGE_END = "<!-- run:start -->", "<!-- run:end -->"
MAX_FIGURE_BYTES = 1 << 20  # each copied figure
MAX_TOTAL_BYTES = 15_000_000  # all of docs/figures together


def figure_folder(key: str) -> str:
    """``a`` for question A, ``e_makhzani2015`` for its preset run ``E:makhzani2015``."""
    return key.lower().replace(":", "_")


def optimise_png(source: str, target: str) -> int:
    """``source`` as a palette PNG at ``target`` (at most :data:`MAX_FIGURE_BYTES`, scaled down until it
    fits); returns its size in bytes. Written whole or not at all."""
    import io

    from PIL import Image

    from keras_ae.io import atomic_write

    with Image.open(source) as img:
        rgb = img.convert("RGB")
    scale = 1.0
    while True:
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        frame = rgb if scale == 1.0 else rgb.resize(size, Image.LANCZOS)
        buffer = io.BytesIO()
        frame.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= MAX_FIGURE_BYTES or scale < 0.2:
            break
        scale *= 0.8
    with atomic_write(target, "wb") as fh:
        fh.write(buffer.getvalue())
    return buffer.tell()


def _manifest_path(figures_dir: str) -> str:
    return os.path.join(figures_dir, "manifest.json")


def copy_figures(report: dict, figures_dir: str) -> dict:
    """Copy the docs' figures of every completed question of ``report`` into ``figures_dir``; returns
    (and writes as ``manifest.json``) ``{key: {"run": run date, "figures": [{"file", "caption"}]}}``,
    file names relative to ``figures_dir``. A figure whose source is gone is kept only where the
    manifest holds it from the same run. DataError when all of them exceed :data:`MAX_TOTAL_BYTES`."""
    from keras_ae.results import question_of

    old = {}
    if os.path.isfile(_manifest_path(figures_dir)):
        with open(_manifest_path(figures_dir)) as fh:
            old = json.load(fh)
    manifest = {}
    for q in report.get("questions", []):
        key, question = q.get("key") or q["question"], question_of(q.get("key") or q["question"])
        if q.get("status") != "ok" or question is None:
            continue
        run = q.get("run_date") or report.get("run", {}).get("date", "")
        kept = {f["file"]: f for f in old.get(key, {}).get("figures", [])} if old.get(key, {}).get("run") == run else {}
        entries = []
        for path in question.pick_doc_figures(q.get("figures", [])):
            name = f"{figure_folder(key)}/{os.path.basename(path)}"
            if os.path.isfile(path):
                optimise_png(path, os.path.join(figures_dir, name))
            elif name not in kept or not os.path.isfile(os.path.join(figures_dir, name)):
                continue
            entries.append({"file": name, "caption": question.caption(path, q.get("preset"))})
        if entries:
            manifest[key] = {"run": run, "figures": entries}
    used = {f["file"] for m in manifest.values() for f in m["figures"]}
    _remove_unused(figures_dir, used)
    total = sum(os.path.getsize(os.path.join(figures_dir, f)) for f in used)
    if total > MAX_TOTAL_BYTES:
        raise DataError(f"{figures_dir}: the figures take {total / 1e6:.1f} MB, more than the "
                        f"{MAX_TOTAL_BYTES / 1e6:.0f} MB allowed; show fewer (a question's doc_figures)")
    os.makedirs(figures_dir, exist_ok=True)
    write_json(manifest, _manifest_path(figures_dir))
    return manifest


def _remove_unused(figures_dir: str, used: set) -> None:
    """Delete the PNG files of ``figures_dir`` that no page shows any more (figures of other runs)."""
    if not os.path.isdir(figures_dir):
        return
    for folder, _, files in os.walk(figures_dir):
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), figures_dir).replace(os.sep, "/")
            if name.endswith(".png") and rel not in used:
                os.remove(os.path.join(folder, name))


def page_block(qid: str, report: dict, manifest: dict, figures_rel: str = "figures") -> str:
    """The generated block of question ``qid``'s page: for its run and each preset run, the answers
    to the sheet's questions and the figures with numbered captions."""
    from keras_ae.results import against_paper, answer_line, between_runs

    lines = [PAGE_START, "", "_Generated by `keras-ae results` from the run's numbers; do not edit by hand._", ""]
    entries = [q for q in report.get("questions", []) if q["question"] == qid and q.get("status") == "ok"]
    if not entries:
        lines += ["No completed run of this question in the rendered reports.", ""]
    for q in entries:
        key = q.get("key") or qid
        run = next((r for r in report.get("runs") or [report.get("run", {})]
                    if r.get("date") == q.get("run_date")), report.get("run", {}))
        title = "The sheet's configuration" if not q.get("preset") else f"Preset `{q['preset']}`"
        lines += [f"### {title}: run of {run.get('date', '?')} (`{run.get('command', 'keras-ae run all')}`)", ""]
        against = [f"- **Against the paper: {label}.** {text}"
                   for label, text in against_paper(q, report.get("metrics", {}))]
        lines += [answer_line(a) for a in q.get("answers", [])] + against
        if q.get("answers") or against:
            lines.append("")
        if not q.get("answers") and not manifest.get(key, {}).get("figures"):
            lines += ["_Nothing to show from this run: its tables lack what the answers need (a run made before "
                      "they existed) and its figures were not at hand when this page was rendered; the next full "
                      "`keras-ae run all` and `keras-ae results` fill this in._", ""]
        for k, fig in enumerate(manifest.get(key, {}).get("figures", []), 1):
            lines += [f"![{os.path.basename(fig['file'])}]({figures_rel}/{fig['file']})", "",
                      f"**Figure {key}.{k}.** {fig['caption']}", ""]
    between = between_runs(report, qid)
    if between:
        lines += ["### Between runs", ""]
        lines += [answer_line(a) for a in between]
        lines.append("")
    lines.append(PAGE_END)
    return "\n".join(lines)


def update_pages(report: dict, docs_dir: str, manifest: dict) -> list[str]:
    """Fill the generated block of every ``docs_dir/question_<x>.md`` that has one; returns the pages
    written (a page without the markers is left as it is)."""
    from keras_ae.questions import QUESTIONS

    written = []
    for qid in QUESTIONS:
        path = os.path.join(docs_dir, f"question_{qid.lower()}.md")
        if not os.path.isfile(path):
            continue
        text = open(path).read()
        start, end = text.find(PAGE_START), text.find(PAGE_END)
        if start < 0 or end < start:
            continue
        write_text(path, text[:start] + page_block(qid, report, manifest) + text[end + len(PAGE_END):])
        written.append(path)
    return written
