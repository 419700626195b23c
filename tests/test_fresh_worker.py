"""The tests' other process (tests/fresh_worker.py): its protocol, without starting a process."""

from __future__ import annotations

import io
import json
import sys


def test_worker_answers_each_request_and_retires_once_keras_ae_is_imported(monkeypatch, tmp_path):
    """One JSON answer per request (printed text, the error of code that fails, the request's
    folder); in the no-keras_ae worker, code that imports keras_ae fails and the worker stops
    reading, so that the next check gets a new process."""
    from tests import fresh_worker

    # keras_ae is imported in pytest's own process: stand-in for "what the code has imported"
    monkeypatch.setattr(fresh_worker, "imported_for_test", [], raising=False)
    monkeypatch.setattr(fresh_worker, "_keras_ae_modules", lambda: list(fresh_worker.imported_for_test))
    requests = [{"code": "print('hello')"}, {"code": "raise ValueError('boom')"},
                {"code": "import os; print(os.getcwd())", "cwd": str(tmp_path)},
                {"code": "import tests.fresh_worker as w; w.imported_for_test.append('keras_ae')"},
                {"code": "print('never read')"}]
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(json.dumps(r) + "\n" for r in requests)))
    answers_out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", answers_out)
    fresh_worker.serve(no_keras_ae=True)
    answers = [json.loads(line) for line in answers_out.getvalue().splitlines()]
    assert len(answers) == 4  # stopped after the request that imported keras_ae
    assert answers[0] == {"ok": True, "out": "hello\n", "error": None, "retire": False}
    assert not answers[1]["ok"] and "ValueError: boom" in answers[1]["error"] and not answers[1]["retire"]
    assert answers[2]["out"].strip() == str(tmp_path)
    assert not answers[3]["ok"] and answers[3]["retire"] and "imported keras_ae" in answers[3]["error"]
