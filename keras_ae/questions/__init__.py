"""One module per assignment question, each declaring one :class:`~keras_ae.questions.spec.Question`
(``QUESTION``) that the command line, ``run all``, the report and ``keras-ae results`` read."""

from __future__ import annotations

import importlib

from keras_ae.questions.spec import Question, RunResult

# id -> the module that declares the question (imported on first use), or a Question itself
QUESTIONS: dict[str, str | Question] = {qid: f"keras_ae.questions.question_{qid.lower()}" for qid in "ABCDEFGHIJ"}


def get_question(qid: str) -> Question:
    """The declared question ``qid`` (any case); KeyError naming the known ids for another."""
    key = str(qid).upper()
    if key not in QUESTIONS:
        raise KeyError(f"unknown question {qid!r}; choose one of {', '.join(QUESTIONS)}")
    entry = QUESTIONS[key]
    return entry if isinstance(entry, Question) else importlib.import_module(entry).QUESTION


def all_questions() -> list[Question]:
    return [get_question(qid) for qid in QUESTIONS]


__all__ = ["QUESTIONS", "Question", "RunResult", "all_questions", "get_question"]
