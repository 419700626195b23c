"""Verdicts computed from numbers: the statistics and the questions' answers on synthetic tables,
where the wording must flip when the numbers do (no training)."""

from __future__ import annotations

import numpy as np
import pytest


def test_a_difference_is_only_a_verdict_when_its_interval_excludes_zero():
    from keras_ae.verdicts import difference, mean_std_error

    assert difference(1.0, 0.1, 2.0, 0.1).verdict == "lower"
    assert difference(2.0, 0.1, 1.0, 0.1).verdict == "higher"
    assert difference(1.0, 0.5, 1.5, 0.5).verdict == "tie"
    low, high = difference(1.0, 0.3, 0.0, 0.4).interval
    assert (low, high) == pytest.approx((1.0 - 1.96 * 0.5, 1.0 + 1.96 * 0.5), abs=1e-3)
    assert mean_std_error([1.0, 2.0, 3.0]) == pytest.approx((2.0, (1.0 / 3) ** 0.5))


def test_mcnemar_counts_only_the_items_the_two_disagree_on():
    from keras_ae.verdicts import McNemar

    assert McNemar(only_a=30, only_b=10, items=1000).verdict == "A"  # exact binomial p = 0.002
    assert McNemar(only_a=10, only_b=30, items=1000).verdict == "B"
    tie = McNemar(only_a=12, only_b=10, items=1000)
    assert tie.verdict == "tie" and tie.p_value > 0.5 and tie.accuracy_difference == pytest.approx(0.002)
    assert McNemar(0, 0, 10).p_value == 1.0


def _a_tables(**mse):
    rows = [{"variant": v, "label": v.upper(), "test_mse": str(m), "test_mse_std_error": str(se)}
            for v, (m, se) in mse.items()]
    return {"test_losses": rows}


@pytest.mark.parametrize("glorot, normal, start", [
    ((0.010, 0.001), (0.050, 0.001), "Yes: Xavier initialisation lowers"),
    ((0.050, 0.001), (0.010, 0.001), "No: Xavier initialisation raises"),
    ((0.0100, 0.002), (0.0101, 0.002), "Not shown"),
])
def test_question_a_s_answers_follow_the_numbers(glorot, normal, start):
    from keras_ae.questions.question_a import QUESTION

    answers = {a["item"]: a for a in QUESTION.answers(_a_tables(ce_glorot=glorot, ce_normal=normal))}
    assert answers["003 task 5"]["answer"].startswith(start)
    assert f"{glorot[0]:.4g} +- {glorot[1]:.2g}" in answers["003 task 5"]["evidence"]
    best = "CE_GLOROT" if glorot[0] < normal[0] else "CE_NORMAL"
    assert answers["000 tasks 3-4; 003 task 5"]["answer"].startswith(f"{best} reconstructs the test digits best")
    assert "000 task 4" not in answers  # no MSE variant in these tables: that question is left unanswered


@pytest.mark.parametrize("big_elbo, start", [
    (136.1, "buys nothing here: the 1000-d VAE's bound is 33.5 nats worse"),
    (100.0, "helps here: the 1000-d VAE's bound is 2.6 nats better"),
    (103.0, "makes no measurable difference here: the 1000-d and 20-d VAEs' bounds differ by 0.4 nats")])
def test_question_j_s_large_latent_answer_follows_the_bounds(big_elbo, start):
    from keras_ae.questions.question_j import QUESTION

    rows = [{"latent_dim": d, "epochs": "10", "test_neg_elbo": str(e), "test_kl": str(k), "active_units": a,
             "test_neg_elbo_std_error": "0.3"}
            for d, e, k, a in (("2", 145.7, 6.3, "2"), ("20", 102.6, 22.7, "16"), ("1000", big_elbo, 21.7, "975"))]
    variance = [{"estimator": "score function (REINFORCE)", "variance": "3e7"},
                {"estimator": "score function with a baseline (running mean of f)", "variance": "500"},
                {"estimator": "reparameterization", "variance": "1000"}]
    answers = {a["item"]: a["answer"] for a in QUESTION.answers({"vae_results": rows, "gradient_variance": variance})}
    assert start in answers["003 problem 2 (iii)"]
    # the baseline estimator beats the reparameterization trick in these numbers: the answer says so
    assert "the score function with a running-mean baseline has 2 times less variance" in answers["003 problem 2 (ii)"]
    # a run without the standard errors gets no verdict on (iii)
    for row in rows:
        del row["test_neg_elbo_std_error"]
    assert "003 problem 2 (iii)" not in {a["item"] for a in QUESTION.answers({"vae_results": rows})}


@pytest.mark.parametrize("p, ref_p, start", [("0.005", "0.6", "No: the MMD two-sample test tells"),
                                             ("0.4", "0.6", "The MMD two-sample test cannot tell"),
                                             ("0.005", "0.03", "Cannot tell from this test: it also rejects")])
def test_question_e_s_prior_answer_follows_the_mmd_test(p, ref_p, start):
    from keras_ae.questions.question_e import QUESTION

    rows = [{"sample": "AAE training codes", "mmd2": "0.07", "mmd_p_value": p, "gaussian_kl_to_prior": "30.3",
             "mean_std": "0.86", "mean_abs_mean": "0.36"},
            {"sample": "reference: prior draws", "mmd2": "0", "mmd_p_value": ref_p, "gaussian_kl_to_prior": "0.05",
             "mean_std": "1.0", "mean_abs_mean": "0.0"}]
    (answer,) = QUESTION.answers({"posterior_vs_prior": rows, "summary": [{"final_discriminator_loss": "0.425"}]})
    assert answer["answer"].startswith(start) and f"p = {ref_p} for fresh prior draws" in answer["evidence"]


@pytest.mark.parametrize("shift, verdict", [(0.05, "pretraining helps"), (-0.05, "pretraining hurts"),
                                            (0.0, "pretraining cannot be told from no effect")])
def test_question_i_s_pretraining_answer_follows_the_paired_seeds(shift, verdict):
    """The best of each side is chosen on validation accuracy (never on the test set), then compared
    seed by seed: helps, hurts or cannot tell, as the numbers say."""
    from keras_ae.questions.question_i import QUESTION

    noise = [0.004, -0.003, 0.002, -0.004, 0.001]
    summary, runs = [], []
    for method, head, val, base in (("scratch", "glorot", 0.80, 0.75), ("pretrained", "zeros", 0.81, 0.75),
                                    ("frozen", "glorot", 0.90, 0.30)):
        acc = [base + (shift if method == "pretrained" else 0.0) + (n if method != "scratch" else 0.0)
               for n in noise]
        if method == "frozen":
            val = 0.40
        summary.append({"labels": "100", "head_init": head, "method": method, "mean_validation_accuracy": str(val),
                        "mean_test_accuracy": str(sum(acc) / 5)})
        runs += [{"labels": "100", "seed": str(k), "head_init": head, "method": method, "test_accuracy": str(a)}
                 for k, a in enumerate(acc)]
    (answer,) = QUESTION.answers({"test_accuracy": summary, "test_accuracy_per_run": runs})
    assert answer["answer"].startswith("With 100 labels " + verdict)
    assert "pretrained encoder, fine-tuned (zeros head)" in answer["evidence"]  # chosen on validation


@pytest.mark.parametrize("only_b, only_c, start", [(10, 40, "Yes: the classes are measurably easier to tell apart "
                                                               "in C's (denoising)"),
                                                   (40, 10, "Yes: the classes are measurably easier to tell apart "
                                                            "in B's (plain)"),
                                                   (20, 22, "Not measurably")])
def test_question_c_s_code_answer_is_mcnemar_on_the_same_test_images(only_b, only_c, start):
    from keras_ae.questions.question_c import QUESTION, paired_knn_row

    b = np.array([True] * 900 + [True] * only_b + [False] * only_c + [False] * 30)
    c = np.array([True] * 900 + [False] * only_b + [True] * only_c + [False] * 30)
    row = paired_knn_row(b, c)
    assert (row["only_b_right"], row["only_c_right"], row["both_right"]) == (only_b, only_c, 900)
    (answer,) = QUESTION.answers({"paired_knn": [{k: str(v) for k, v in row.items()}],
                                  "comparison": [{"model": "B: autoencoder", "trustworthiness": "0.994"},
                                                 {"model": "C: denoising autoencoder", "trustworthiness": "0.993"}]})
    assert answer["answer"].startswith(start), answer
    assert "trustworthiness 0.994 -> 0.993" in answer["evidence"]


@pytest.mark.parametrize("plane, word", [("0.9", "well"), ("0.64", "partly"), ("0.3", "poorly")])
def test_question_b_s_tsne_description_follows_the_probe(plane, word):
    from keras_ae.questions.question_b import QUESTION

    (answer,) = QUESTION.answers({"code_quality": [{"model": "B: autoencoder", "knn_cv_tsne": plane}]})
    assert answer["answer"].startswith(f"The classes separate {word}")
