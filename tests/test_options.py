"""Bad option values end in one line on stderr and exit code 2, never a traceback, and write nothing:
out-of-range values are refused by every question's parser, values that only the data or another
option can show to be wrong by a ConfigError (or DataError) before the first file is written."""

from __future__ import annotations

import argparse

import pytest

from keras_ae.questions import QUESTIONS, get_question

# one out-of-range value per question: each would have passed the old parsers and failed later
# (a builder's bare ValueError, a NaN loss, a negative noise, ...) or silently done something odd
PARSER_REFUSES = {
    "A": (["--normal-stddev", "-1"], "--normal-stddev"),
    "B": (["--tsne-perplexity", "0"], "--tsne-perplexity"),
    "C": (["--noise-stddev", "-0.5"], "--noise-stddev"),
    "D": (["--code-channels", "0"], "--code-channels"),
    "E": (["--adversarial-beta1", "1"], "--adversarial-beta1"),
    "F": (["--dropout", "1.5"], "--dropout"),
    "G": (["--bits", "6", "0"], "--bits"),
    "H": (["--units", "1000", "0", "250"], "--units"),
    "I": (["--finetune-learning-rate", "nan"], "--finetune-learning-rate"),
    "J": (["--gradient-samples", "1"], "--gradient-samples"),
}

# values in range for the parser that only the data or another option shows to be wrong
RUN_REFUSES = {
    "B": (["--tsne-size", "60", "--tsne-perplexity", "20"], "--tsne-perplexity"),
    "C": (["--tsne-size", "100", "--knn-k", "90", "--baseline", "none"], "--knn-k"),
    "D": (["--filters", "8", "8", "8"], "filters"),
    "E": (["--validation-size", "60000"], "--validation-size"),
    "F": (["--validation-size", "60000"], "--validation-size"),
    "G": (["--code-units", "80"], "--code-units"),
    "H": (["--code-dim", "100", "--train-limit", "50"], "--code-dim"),
    "I": (["--labels", "100", "30000", "--train-limit", "20000"], "--labels 30000"),
}


def _exit_code(main, argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


# first on the command line, so that a case can override them: should a bad value ever get through,
# the run it starts stays small
SMALL = ["--epochs", "1", "--train-limit", "256", "--test-limit", "256"]


def _check_refusal(qid, argv, option, tmp_path, capsys):
    out, models = tmp_path / "out", tmp_path / "models"
    code = _exit_code(get_question(qid).main,
                      SMALL + argv + ["--output-dir", str(out), "--saved-models-dir", str(models)])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"keras-ae run {qid}: error: ") and option in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() and not models.exists()  # nothing was written


def test_every_question_has_a_parser_case():
    assert sorted(PARSER_REFUSES) == sorted(QUESTIONS)


@pytest.mark.parametrize("qid", sorted(PARSER_REFUSES))
def test_out_of_range_option_is_one_line_and_exit_code_2(qid, tmp_path, capsys):
    argv, option = PARSER_REFUSES[qid]
    _check_refusal(qid, argv, option, tmp_path, capsys)


@pytest.mark.parametrize("qid", sorted(RUN_REFUSES))
def test_option_at_odds_with_the_data_is_one_line_and_exit_code_2(qid, tmp_path, capsys):
    argv, option = RUN_REFUSES[qid]
    _check_refusal(qid, argv, option, tmp_path, capsys)


def test_validators():
    from keras_ae.questions import common

    assert common.positive_int("3") == 3 and common.nonnegative_int("0") == 0
    assert common.fraction_below_one("0") == 0.0 and common.seed_int("0") == 0
    assert common.nonnegative_float("0") == 0.0 and common.positive_float("1e-3") == 1e-3
    for check, text in [(common.positive_int, "0"), (common.positive_int, "1.5"), (common.nonnegative_int, "-1"),
                        (common.positive_float, "0"), (common.positive_float, "inf"), (common.positive_float, "x"),
                        (common.nonnegative_float, "-1e-9"),
                        (common.fraction_below_one, "1"), (common.seed_int, "-1"), (common.seed_int, str(2**32)),
                        (common.int_at_least(2), "1"), (common.activation_name, "no_such_activation")]:
        with pytest.raises(argparse.ArgumentTypeError):
            check(text)


def test_help_still_shows_usage_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_info:
        get_question("D").main(["--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: keras-ae run D")


def test_unknown_option_is_one_line_too(capsys):
    with pytest.raises(SystemExit) as exit_info:
        get_question("A").main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "keras-ae run A: error: unrecognized arguments: --no-such-option\n"


@pytest.mark.parametrize("argv, message", [
    (["frob"], "keras-ae: error: argument command: invalid choice: 'frob'"),
    (["info"], "keras-ae info: error: the following arguments are required: --model"),
    (["run", "all", "--frobnicate"], "keras-ae run all: error: unrecognized arguments: --frobnicate"),
    (["run", "all", "--only", "F:nope"], "keras-ae run all: error: --only: question F has no preset 'nope'"),
])
def test_the_cli_s_own_option_errors_are_one_line_too(argv, message, capsys):
    from keras_ae.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and err[0].startswith(message)


def _preset_parser():
    from keras_ae.questions.common import QuestionParser, add_common_arguments, add_preset_argument, positive_int

    parser = QuestionParser(prog="keras-ae run X")
    parser.add_argument("--units", type=positive_int, nargs="+", default=[8, 4])
    add_common_arguments(parser, "question_x", epochs=3, batch_size=10, learning_rate=1e-3)
    return add_preset_argument(parser, {"paper": {"epochs": 50, "units": [100, 50], "output_dir": "results/x_paper"}},
                               help="a paper's set-up")


def test_preset_sets_defaults_and_explicit_options_win():
    parser = _preset_parser()
    plain = parser.parse_args([])
    assert (plain.preset, plain.epochs, plain.units, plain.batch_size) == (None, 3, [8, 4], 10)
    paper = parser.parse_args(["--preset", "paper"])
    assert (paper.preset, paper.epochs, paper.units, paper.output_dir) == ("paper", 50, [100, 50], "results/x_paper")
    assert paper.batch_size == 10  # not in the preset
    mixed = parser.parse_args(["--epochs", "7", "--preset=paper"])
    assert (mixed.epochs, mixed.units) == (7, [100, 50])
    again = parser.parse_args([])  # the same parser, no preset: its own defaults again
    assert (again.preset, again.epochs, again.units) == (None, 3, [8, 4])


def test_unknown_preset_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        _preset_parser().parse_args(["--preset", "nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--preset" in err[0] and "nope" in err[0]


def test_preset_of_an_unknown_option_is_a_programming_error():
    from keras_ae.questions.common import QuestionParser, add_preset_argument

    with pytest.raises(ValueError, match="unknown options: epochs"):
        add_preset_argument(QuestionParser(prog="x"), {"p": {"epochs": 2}}, help="")
