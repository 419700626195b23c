"""The other process of :func:`tests.conftest.run_python`: runs the tests' code outside pytest's process.

``python -m tests.fresh_worker`` reads one JSON request per line on stdin, ``{"code": ..., "cwd":
...}``, runs the code in a namespace of its own (``exec``) with its printed output captured, and
answers one JSON line, ``{"ok": bool, "out": printed text, "error": traceback}``. TensorFlow is
imported once for all the requests of a test session instead of once per check.

Started with ``--no-keras-ae``, it checks after every request that no ``keras_ae`` module has been
imported, so that the checks that an exported SavedModel serves "without keras_ae" mean it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback


def _keras_ae_modules() -> list[str]:
    return sorted(name for name in sys.modules if name == "keras_ae" or name.startswith("keras_ae."))


def serve(no_keras_ae: bool) -> None:
    answer_to = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        printed, error = io.StringIO(), None
        here = os.getcwd()
        try:
            os.chdir(request.get("cwd") or here)
            with contextlib.redirect_stdout(printed):
                exec(compile(request["code"], "<tests.fresh_worker request>", "exec"), {"__name__": "__main__"})
            if no_keras_ae and _keras_ae_modules():
                error = f"the code imported keras_ae ({', '.join(_keras_ae_modules()[:3])}) in the no-keras_ae worker"
        except BaseException:  # noqa: BLE001 - every failure goes back to the test that sent the code
            error = traceback.format_exc()
        finally:
            os.chdir(here)
        retire = no_keras_ae and bool(_keras_ae_modules())  # no longer free of keras_ae: a new worker takes over
        answer_to.write(json.dumps({"ok": error is None, "out": printed.getvalue(), "error": error,
                                    "retire": retire}) + "\n")
        answer_to.flush()
        if retire:
            return


if __name__ == "__main__":
    serve(no_keras_ae="--no-keras-ae" in sys.argv[1:])
