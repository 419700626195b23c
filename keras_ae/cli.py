"""The ``keras-ae`` command: run a question, or use an exported model for inference.

    keras-ae list
    keras-ae run all [--quick] [--only A B ... | F:goodfellow2014 ...] [--resume] [--presets]
                                               every question in order, then results/report.html;
                                               --resume skips those completed with the same settings
    keras-ae run A [question options]          (keras-ae run A --help for them)
    keras-ae reconstruct --model DIR --input FILE.npy --output OUT.npy
    keras-ae encode | decode | generate ...    (same options)
        reconstruct and encode take images: integer pixels (0..255, any integer dtype) are scaled to
        the model's value_range, float pixels must lie in it already; decode and generate take codes
        or noise, never rescaled. A refused input ends in one line on stderr and exit code 2, and
        no output file is written.
    keras-ae info --model DIR
    keras-ae results [--report results/report.json ...] [--output docs/results.md] [--readme README.md]
                     [--before EARLIER_REPORT.json] [--no-pages]
                                               also copies the runs' figures into docs/figures/ and fills
                                               each question page's generated block (answers, figures)

TensorFlow's start-up log lines (absl, oneDNN, CUDA) are hidden; KERAS_AE_VERBOSE=1, or a
TF_CPP_MIN_LOG_LEVEL of your own, shows them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from keras_ae.errors import KerasAEError
from keras_ae.export import PIXEL_ENDPOINTS
from keras_ae.questions.common import positive_int, seed_int

INFERENCE_COMMANDS = ("reconstruct", "encode", "decode", "generate")


def _parser() -> argparse.ArgumentParser:
    from keras_ae.questions.common import QuestionParser

    parser = QuestionParser(prog="keras-ae", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the assignment questions")
    run = sub.add_parser("run", help="run one question (options after the id go to it)", add_help=False)
    run.add_argument("question", help="question id, e.g. A")
    run.add_argument("options", nargs=argparse.REMAINDER)
    for name in INFERENCE_COMMANDS:
        p = sub.add_parser(name, help=f"call the {name!r} endpoint of an exported model on a .npy file")
        p.add_argument("--model", required=True, help="SavedModel folder, e.g. saved_models/question_a_ce_glorot")
        p.add_argument("--input", required=True, help=(
            ".npy array of images: integer pixels (any integer dtype, 0..255) are scaled to the model's "
            "value_range ('keras-ae info' shows it), float pixels must already lie in that range"
            if name in PIXEL_ENDPOINTS else ".npy array of codes (decode) or noise (generate), used as they are"))
        p.add_argument("--output", required=True, help=".npy file to write")
        p.add_argument("--batch-size", type=positive_int, default=1024)
    info = sub.add_parser("info", help="show an exported model's endpoints (inputs, named outputs) and metadata")
    info.add_argument("--model", required=True)
    res = sub.add_parser("results", help="render a run's report.json (headline numbers, tables) as Markdown")
    res.add_argument("--report", action="append", default=None, help=(
        "a report.json (default: results/report.json); give it again to combine runs, e.g. the full run and a "
        "--presets run: of a question in both, the newer run's is shown (undated: the later report's)"))
    res.add_argument("--output", default=os.path.join("docs", "results.md"), help="default: %(default)s")
    res.add_argument("--readme", default=None, help="also fill this README's headline block (e.g. README.md)")
    res.add_argument("--no-pages", action="store_true",
                     help="do not copy the runs' figures into figures/ beside --output nor fill the generated "
                          "block of each question's page there (docs/question_<x>.md)")
    res.add_argument("--before", default=None,
                     help="an earlier run's report.json: each question's minutes then beside this run's "
                          "(e.g. docs/runs/before_fused_steps.json)")
    return parser


def _load_npy(path: str) -> np.ndarray:
    from keras_ae.errors import DataError

    if not os.path.isfile(path):
        raise DataError(f"input file not found: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable numeric .npy array ({exc})") from None


def _save_npy(path: str, array: np.ndarray) -> None:
    from keras_ae.io import atomic_write

    with atomic_write(path, "wb") as fh:  # an interrupted run never leaves half a file under the real name
        np.save(fh, array)


def _json_text(obj, indent: str = "") -> str:
    """Indented JSON in which lists of plain values, and dicts of those, stay on one line
    (``"x": {"shape": [null, 784], "dtype": "float32"}``)."""
    def plain(v):
        return not isinstance(v, (dict, list, tuple)) or (not isinstance(v, dict) and all(map(plain, v)))

    inner = indent + "  "
    if isinstance(obj, dict) and obj and not (indent and all(map(plain, obj.values()))):
        items = [f"{inner}{json.dumps(str(k))}: {_json_text(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in obj):
        return "[\n" + ",\n".join(inner + _json_text(v, inner) for v in obj) + f"\n{indent}]"
    return json.dumps(obj, default=str)


def _run_all(options: list[str]) -> int:
    from keras_ae.questions import QUESTIONS
    import time

    from keras_ae.questions.common import QuestionParser
    from keras_ae.report import planned_runs, run_all, run_info, write_report

    parser = QuestionParser(prog="keras-ae run all", description="Run every question in order and write one HTML report.")
    parser.add_argument("--quick", action="store_true", help="small slices and few epochs: a smoke test in minutes")
    parser.add_argument("--only", nargs="+", metavar="ID", help=(
        f"run only these questions ({' '.join(QUESTIONS)}); ID:PRESET runs that preset alone, without the "
        "question's own run (e.g. --only F:goodfellow2014 E:makhzani2015)"))
    parser.add_argument("--output-dir", default="results", help="root of every question's outputs and the report")
    parser.add_argument("--saved-models-dir", default="saved_models")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--verbose", type=int, default=None, choices=(0, 1, 2))
    parser.add_argument("--resume", action="store_true", help=(
        "skip every question whose run record (OUTPUT_DIR/question_x/run_record.json) says it completed with the "
        "same settings, and run the others: those that failed, were interrupted or have other settings, and those "
        "that read the outputs of a question that runs again; a question killed in the middle of a long fit "
        "resumes after its last finished epoch (see --no-backup in 'keras-ae run D --help'); the report covers "
        "every question, the skipped ones with their earlier status, time and figures"))
    parser.add_argument("--presets", action="store_true", help=(
        "after the questions, also run the papers' configurations of those that have one (H --preset hinton2006, "
        "E --preset makhzani2015, F --preset goodfellow2014), each in its own folder (results/question_h_hinton2006, "
        "...): long runs; with --resume, only what has not completed runs"))
    args = parser.parse_args(options)
    try:
        planned_runs(args.only, args.presets)
    except ValueError as exc:
        parser.error(f"--only: {exc}")
    start = time.perf_counter()
    results = run_all(args.only, args.output_dir, args.saved_models_dir, args.quick, args.data_dir, args.seed,
                      args.verbose, resume=args.resume, presets=args.presets)
    info = run_info(args.seed, args.quick, time.perf_counter() - start, ["run", "all", *options])
    if args.resume:
        info["skipped"] = [r.key for r in results if r.skipped]
    report = write_report(results, os.path.join(args.output_dir, "report.html"), quick=args.quick, info=info)
    failed = [r.key for r in results if r.status != "ok"]
    print(f"report: {report}" + (f"; FAILED: {' '.join(failed)}" if failed else "; all questions completed"))
    return 1 if failed else 0


def main(argv=None) -> int:
    """The ``keras-ae`` command; TensorFlow's start-up lines hidden (:mod:`keras_ae._quiet`)."""
    from keras_ae._quiet import quiet_tensorflow

    with quiet_tensorflow():
        return _main(argv)


def _main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            from keras_ae.questions import all_questions

            for question in all_questions():
                print(f"{question.id}  {question.title} (sheet {question.sheet})")
            return 0
        if args.command == "run":
            from keras_ae.questions import get_question

            if args.question.lower() == "all":
                return _run_all(args.options)
            try:
                question = get_question(args.question)
            except KeyError as exc:
                print(f"keras-ae: error: {exc.args[0]}", file=sys.stderr)
                return 2
            return question.main(args.options)
        if args.command == "results":
            from keras_ae.results import write_results

            reports = args.report or [os.path.join("results", "report.json")]
            print(f"results: {write_results(reports, args.output, args.readme, args.before, not args.no_pages)}"
                  + (f" and the headline block of {args.readme}" if args.readme else ""))
            return 0
        from keras_ae.export import InferenceModel

        model = InferenceModel(args.model)
        if args.command == "info":
            # the endpoints as the SavedModel declares them (inputs and named outputs), then the metadata
            print(_json_text({"path": str(model.path), **model.metadata, "endpoints": model.describe()}))
            return 0
        x = _load_npy(args.input)
        y = model(args.command, x, batch_size=args.batch_size)
        _save_npy(args.output, y)
        print(f"{args.command}: {x.shape} -> {y.shape}, written to {args.output}")
        return 0
    except KerasAEError as exc:
        print(f"keras-ae: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
