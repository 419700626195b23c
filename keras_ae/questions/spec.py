"""What a question is: one declared :class:`Question`, and the one shape of what it ran, :class:`RunResult`.

Each question module ends with ``QUESTION = Question(...)``. The ``keras-ae`` command, ``run all``,
the HTML report and ``keras-ae results`` read everything they need of a question from that value:
its parser and ``run``, its quick settings, the captions of its figures, its published references
and the function that picks its headline numbers from the tables it wrote.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from keras_ae.references import Reference


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(str(path)))[0]


@dataclass
class RunResult:
    """What one run of a question made, the same shape for every question.

    - ``figures``: file stem -> PNG path, in the order the report shows them;
    - ``tables``: file stem -> CSV path (a Markdown copy with its caption lies beside it);
    - ``metrics``: the headline numbers (:attr:`Question.headline` of the tables' rows);
    - ``models``: name -> exported SavedModel folder;
    - ``details``: in-memory objects for a caller in the same process (trained Keras models,
      Keras histories, rows); never written to a run record or report.
    """

    figures: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, question: "Question", figures=(), tables=(), models: Mapping[str, str] | None = None,
           details: Mapping[str, Any] | None = None) -> "RunResult":
        """The result of a run of ``question``: ``figures`` and ``tables`` as lists of paths (a table
        by its .csv or .md path; the CSV is kept), ``models`` by name; the metrics are computed here
        from the tables' rows with ``question.headline``."""
        from keras_ae.results import read_tables

        csvs = [os.path.splitext(t)[0] + ".csv" for t in _flat(tables)]
        result = cls(figures={_stem(p): p for p in _flat(figures)},
                     tables={_stem(p): p for p in dict.fromkeys(csvs)},
                     models={k: str(v) for k, v in (models or {}).items()}, details=dict(details or {}))
        result.metrics = question.headline(read_tables([p for p in result.tables.values() if os.path.isfile(p)]))
        return result

    def rows(self, table: str) -> list[dict]:
        """The rows of table ``table`` (its file stem) as dicts of strings, read from its CSV."""
        from keras_ae.results import read_tables

        return read_tables([self.tables[table]])[table]

    def record(self) -> dict:
        """The JSON-able part (paths and numbers) that a run record keeps."""
        return {"figures": dict(self.figures), "tables": dict(self.tables), "metrics": dict(self.metrics),
                "models": dict(self.models)}

    @classmethod
    def from_record(cls, record: Mapping) -> "RunResult":
        """The result a run record kept (:meth:`record`; a record of keras_ae before 2026-12, with
        lists of paths and ``saved_model(s)``, reads too)."""
        def by_stem(value, csv: bool = False) -> dict:
            if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
                return dict(value)
            paths = [os.path.splitext(p)[0] + ".csv" if csv else p for p in _flat(value)]
            return {_stem(p): p for p in paths}

        models = record.get("models") or {**({"model": record["saved_model"]} if record.get("saved_model") else {}),
                                          **(record.get("saved_models") or {})}
        return cls(figures=by_stem(record.get("figures")), tables=by_stem(record.get("tables"), csv=True),
                   metrics=dict(record.get("metrics") or {}), models=dict(models))

    def paths(self) -> list[str]:
        """Every figure and table file the run wrote (what ``run all --resume`` checks is still there)."""
        return list(self.figures.values()) + list(self.tables.values())


def preset_help(presets: Mapping[str, Mapping[str, Any]], what: Mapping[str, str]) -> str:
    """The help of ``--preset``, generated from the presets' own settings (so it cannot drift from
    them): per preset, ``what`` it is, then the options it sets as they would be typed."""
    def option(dest: str, value) -> str:
        flag = "--" + dest.replace("_", "-")
        if isinstance(value, bool):
            return flag if value else f"(no {flag})"
        if isinstance(value, (list, tuple)):
            return f"{flag} {' '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in value)}"
        return f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}"

    parts = [f"'{name}': {what.get(name, 'a published configuration')}; it sets "
             + ", ".join(option(k, v) for k, v in settings.items()) for name, settings in presets.items()]
    return ("a paper's set-up: the defaults of the options it sets (options given explicitly still win). "
            + ". ".join(parts).replace("%", "%%"))


def _flat(value) -> list[str]:
    """Paths as a run gives them: one path, or a list, tuple or dict of them (nested)."""
    if not value:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [str(value)]
    items = value.values() if isinstance(value, Mapping) else value
    return [path for item in items for path in _flat(item)]


def number(value) -> float | None:
    """A table cell as a float, or None where it holds no number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def pick(row: Mapping, names: Mapping[str, str]) -> dict:
    """``{metric: float(row[column])}`` for ``names = {metric: column}``, where the cell is a number:
    the building block of every question's ``headline``."""
    out = {}
    for metric, column in names.items():
        value = number(row.get(column))
        if value is not None:
            out[metric] = value
    return out


def epochs_text(row: Mapping) -> str:
    """How long a run trained, and which epoch's weights it measured, from a table row with
    ``epochs`` and (with ``--keep-best``) ``weights_of_epoch``: a :class:`Provenance`'s ``epochs``."""
    epochs, kept = number(row.get("epochs")), number(row.get("weights_of_epoch"))
    if epochs is None:
        return ""
    return f"{epochs:.0f}" + (f", weights of epoch {kept:.0f} (best held-out score)" if kept is not None else "")


def row_where(rows, column: str, prefix: str) -> dict:
    """The first row whose ``column`` starts with ``prefix`` (an empty dict where none does)."""
    for row in rows:
        if str(row.get(column, "")).startswith(prefix):
            return row
    return {}


@dataclass(frozen=True)
class Answer:
    """An answer computed from a run's numbers: ``answer``, a sentence whose wording follows them (it
    flips when they do), and ``evidence``, the numbers it rests on with their uncertainty."""

    answer: str
    evidence: str


@dataclass(frozen=True)
class Ask:
    """A question a sheet asks: ``item`` (where: ``"001 Q3"``), ``asks`` (in keras_ae's words) and
    ``answer(tables)`` -> :class:`Answer` from the rows of the run's tables (file stem -> rows), or
    None where the run did not measure what the answer needs."""

    item: str
    asks: str
    answer: Callable[[Mapping[str, list]], Answer | None]


@dataclass(frozen=True)
class Provenance:
    """How a run measured one headline number, as its tables record it: ``std_error`` (None where the
    run gives none), ``estimator`` (the estimate in words, e.g. the Parzen window's sigma and how it
    was chosen) and ``epochs`` (how long it trained, and which epoch's weights were measured)."""

    std_error: float | None = None
    estimator: str = ""
    epochs: str = ""


@dataclass(frozen=True)
class Between:
    """A question asked of two runs of one question (two presets, or the sheet's configuration and a
    preset), answered from their headline numbers when both are in the rendered reports: ``item``
    (where it is asked), ``asks``; ``runs``: the two runs' keys (``"F:goodfellow2014"``; the sheet's
    configuration is the bare id), ``names``: each run in words; ``metric`` and ``std_error``: the
    headline numbers compared, as the question's ``headline`` names them."""

    item: str
    asks: str
    runs: tuple[str, str]
    names: tuple[str, str]
    metric: str
    std_error: str

    def answer(self, metrics: Mapping[str, Mapping[str, float]]) -> Answer | None:
        """The answer from ``metrics`` (run key -> headline numbers): whether the two runs' numbers
        differ (the 95 % interval of their difference excludes 0) and which is higher; None where
        either run or a standard error is missing."""
        from keras_ae.verdicts import difference

        found = [metrics.get(key, {}) for key in self.runs]
        values = [(number(m.get(self.metric)), number(m.get(self.std_error))) for m in found]
        if any(v is None or se is None for v, se in values):
            return None
        (a, a_se), (b, b_se) = values
        diff = difference(a, a_se, b, b_se)
        first, second = self.names
        if diff.verdict == "tie":
            answer = (f"No difference shown: {first} is level with {second} (the 95 % interval of the difference "
                      f"holds 0), so neither is preferred and both are reported.")
        else:
            answer = f"Yes: {first} scores {diff.relation} {second} (the 95 % interval of the difference excludes 0)."
        return Answer(answer, f"{first} {a:.4g} +- {a_se:.2g}, {second} {b:.4g} +- {b_se:.2g} "
                              f"(runs {self.runs[0]} and {self.runs[1]}); {diff.text()}.")


def _answered(asks, numbers) -> list[dict]:
    """``[{item, asks, answer, evidence}]`` of each of ``asks`` (:class:`Ask` or :class:`Between`)
    answered from ``numbers``; one whose numbers are missing is left out."""
    out = []
    for ask in asks:
        found = ask.answer(numbers)
        if found is not None:
            out.append({"item": ask.item, "asks": ask.asks, "answer": found.answer, "evidence": found.evidence})
    return out


def _no_headline(tables: Mapping[str, list]) -> dict:
    return {}


def fallback_caption(name: str) -> str:
    """The caption of a figure that no question declares one for: its file name made into words."""
    return os.path.basename(name).rsplit(".", 1)[0].replace("_", " ").capitalize() + "."


@dataclass(frozen=True)
class Question:
    """One assignment question, declared once (``QUESTION`` at the end of its module).

    ``id`` (``"A"``), ``title`` (one line), ``sheet`` (where the assignment asks it);
    ``build_parser()`` -> its :class:`~keras_ae.questions.common.QuestionParser`; ``run(args)`` ->
    :class:`RunResult`; ``quick_args``: the options of ``run all --quick``; ``captions``: figure file
    name (``name*``: a prefix) -> caption, and ``preset_captions[preset]`` the same for a preset's
    run (they win over ``captions``); ``presets``: the ``--preset`` configurations (name ->
    option defaults); ``summary``: a paragraph on what it does; ``reference_note``: what the
    sheets or papers show to hold the run against, in words; ``references``: headline metric ->
    the published :class:`~keras_ae.references.Reference` it is held against; ``headline(tables)``:
    the headline numbers (stable names) from the rows of its tables (file stem -> rows);
    ``readme_metrics``: the one or two the README shows; ``metric_labels``: metric -> words a reader
    knows; ``run_all_args(output_root)``: extra options inside ``run all`` (C reads B's folder);
    ``asks``: the questions its sheet asks, each answered from the run's tables (:class:`Ask`);
    ``doc_figures``: the figures ``keras-ae results`` copies into ``docs/figures`` for its page;
    ``provenance(tables)``: metric -> :class:`Provenance`, how the run measured each headline number
    held against a paper (the published-numbers table shows it); ``preset_titles``: preset -> the
    one line that says what it is (the ``--preset`` help, the report and results.md); ``between``:
    questions asked of two of its runs (:class:`Between`), answered in results.md and on its page.
    """

    id: str
    title: str
    sheet: str
    build_parser: Callable[[], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace], RunResult]
    quick_args: tuple[str, ...] = ()
    captions: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""
    reference_note: str = ""
    references: Mapping[str, Reference] = field(default_factory=dict)
    headline: Callable[[Mapping[str, list]], dict] = _no_headline
    readme_metrics: tuple[str, ...] = ()
    metric_labels: Mapping[str, str] = field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    preset_captions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    run_all_args: Callable[[str], list[str]] | None = None
    asks: tuple[Ask, ...] = ()
    doc_figures: tuple[str, ...] = ()
    provenance: Callable[[Mapping[str, list]], Mapping[str, Provenance]] = _no_headline
    preset_titles: Mapping[str, str] = field(default_factory=dict)
    between: tuple[Between, ...] = ()

    def title_of(self, preset: str | None = None) -> str:
        """The one line of the question's run, or of its preset ``preset``'s run."""
        return self.preset_titles.get(preset, self.title) if preset else self.title

    def answers(self, tables: Mapping[str, list]) -> list[dict]:
        """``[{item, asks, answer, evidence}]``: every declared :class:`Ask` answered from ``tables``
        (an ask whose numbers the run lacks is left out)."""
        return _answered(self.asks, tables)

    def answers_between(self, metrics: Mapping[str, Mapping[str, float]]) -> list[dict]:
        """``[{item, asks, answer, evidence}]``: every :class:`Between` whose two runs are in
        ``metrics`` (run key -> headline numbers), answered from their numbers."""
        return _answered(self.between, metrics)

    def pick_doc_figures(self, figures) -> list[str]:
        """The figures of a run that the docs show (of ``figures``, paths in the run's order): those
        named in ``doc_figures`` (``name*``: the last of a series, e.g. the final epoch's snapshot),
        else those with a caption of their own name."""
        names = self.doc_figures or tuple(k for k in self.captions if not k.endswith("*"))
        chosen = []
        for key in names:
            matches = [p for p in figures if os.path.basename(p) == key
                       or (key.endswith("*") and os.path.basename(p).startswith(key[:-1]))]
            if matches:
                chosen.append(sorted(matches)[-1] if key.endswith("*") else matches[0])
        return [p for p in figures if p in chosen]

    def main(self, argv=None) -> int:
        """The question's command line (``keras-ae run A ...``, ``scripts/question_a_*.py``)."""
        from keras_ae.questions.common import question_main

        return question_main(self.build_parser, self.run, argv)

    def caption(self, path: str, preset: str | None = None) -> str:
        """The caption of the figure at ``path`` (by file name; a preset's own captions first)."""
        own = dict(self.preset_captions.get(preset, {})) if preset else {}
        captions = {**own, **{k: v for k, v in self.captions.items() if k not in own}}
        name = os.path.basename(path)
        for key, text in captions.items():
            if name == key or (key.endswith("*") and name.startswith(key[:-1])):
                return text
        return fallback_caption(name)

    def label(self, metric: str) -> str:
        """The words a reader knows for ``metric`` (the metric's name where none is declared)."""
        return self.metric_labels.get(metric, metric)
