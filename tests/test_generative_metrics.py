"""Parzen-window log-likelihood, MMD two-sample test and prior statistics (keras_ae.generative_metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keras_ae.generative_metrics import (mmd_test, parzen_log_likelihood, prior_statistics,
                                         select_parzen_sigma)


def _brute_force_parzen(samples, points, sigma):
    """log( 1/n sum_i N(x; s_i, sigma^2 I) ), one point and one sample at a time."""
    d = samples.shape[1]
    out = []
    for x in points.astype(np.float64):
        log_k = [-np.sum((x - s) ** 2) / (2 * sigma**2) - 0.5 * d * np.log(2 * np.pi * sigma**2)
                 for s in samples.astype(np.float64)]
        m = max(log_k)
        out.append(m + np.log(np.mean(np.exp(np.array(log_k) - m))))
    return np.array(out)


def test_parzen_matches_the_definition_for_any_batch_size():
    rng = np.random.default_rng(0)
    samples = rng.random((60, 784)).astype(np.float32)
    points = rng.random((13, 784)).astype(np.float32)
    want = _brute_force_parzen(samples, points, 0.2)
    for batch_size in (1, 5, 13, 100):
        result, per_point = parzen_log_likelihood(samples, points, 0.2, batch_size=batch_size, return_per_point=True)
        np.testing.assert_allclose(per_point, want, rtol=1e-6, atol=1e-3)
        assert result.mean == pytest.approx(want.mean(), abs=1e-3)
        assert result.std_error == pytest.approx(want.std(ddof=1) / np.sqrt(len(want)), rel=1e-4)
        assert (result.num_samples, result.num_points) == (60, 13)


def test_parzen_of_a_single_gaussian_is_its_log_density():
    """With one sample at the origin the estimate is log N(x; 0, sigma^2 I) exactly."""
    x = np.array([[0.0, 0.0], [1.0, 0.0]], np.float32)
    _, ll = parzen_log_likelihood(np.zeros((1, 2), np.float32), x, 0.5, return_per_point=True)
    np.testing.assert_allclose(ll, [-np.log(2 * np.pi * 0.25), -np.log(2 * np.pi * 0.25) - 2.0], rtol=1e-6)


def test_parzen_mixture_by_hand_and_batch_size_does_not_matter():
    s = np.array([[0.0, 0.0], [1.0, 0.0]])
    x = np.array([[0.5, 0.0], [0.0, 0.0], [3.0, 4.0]])
    sigma = 0.5

    def pdf(xi, si):
        return math.exp(-np.sum((xi - si) ** 2) / (2 * sigma ** 2)) / (2 * math.pi * sigma ** 2)

    expected = [math.log(0.5 * pdf(xi, s[0]) + 0.5 * pdf(xi, s[1])) for xi in x]
    np.testing.assert_allclose(parzen_log_likelihood(s, x, sigma, batch_size=1, return_per_point=True)[1], expected, rtol=1e-5)
    np.testing.assert_allclose(parzen_log_likelihood(s, x, sigma, batch_size=2, return_per_point=True)[1], expected, rtol=1e-5)
    # far from every sample the naive exp underflows to 0; log-sum-exp stays finite
    far = parzen_log_likelihood(s, np.array([[100.0, 100.0]]), 0.05, return_per_point=True)[1]
    assert np.isfinite(far).all() and far[0] < -1e6


def test_select_sigma_picks_the_best_validation_score():
    rng = np.random.default_rng(1)
    samples = rng.normal(0.0, 0.3, (500, 5)).astype(np.float32)
    validation = rng.normal(0.0, 0.3, (200, 5)).astype(np.float32)
    sigmas = [0.01, 0.05, 0.1, 0.2, 1.0, 5.0]
    best, scores = select_parzen_sigma(samples, validation, sigmas, batch_size=64)
    assert list(scores) == sigmas
    for s in sigmas:  # the shared-distance scores equal separate estimates
        assert scores[s] == pytest.approx(parzen_log_likelihood(samples, validation, s).mean, rel=1e-9)
    assert best == max(scores, key=scores.get)
    assert best not in (0.01, 5.0)  # neither extreme wins on data from the same distribution


def test_parzen_refuses_bad_input():
    good = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="dimensions"):
        parzen_log_likelihood(good, np.zeros((3, 5), np.float32), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        parzen_log_likelihood(good, np.full((2, 4), np.nan, np.float32), 0.1)
    with pytest.raises(ValueError, match="positive"):
        select_parzen_sigma(good, good, [0.1, 0.0])
    with pytest.raises(ValueError, match="shape"):
        parzen_log_likelihood(np.zeros(4), good, 0.1)


def test_mmd_accepts_the_same_distribution_and_rejects_a_different_one():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 20)), rng.normal(size=(300, 20))
    same = mmd_test(a, b, permutations=200, seed=0)
    assert same["p_value"] > 0.05 and abs(same["mmd2"]) < same["null_q95"] * 3
    shifted = mmd_test(a, rng.normal(0.3, 1.0, size=(300, 20)), permutations=200, seed=0)
    assert shifted["p_value"] < 0.01 and shifted["mmd2"] > shifted["null_q95"]
    scaled = mmd_test(a, 1.3 * rng.normal(size=(300, 20)), permutations=200, seed=0)
    assert scaled["p_value"] < 0.01


def test_mmd_statistic_matches_the_unbiased_formula():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 3)), rng.normal(1.0, 1.0, size=(5, 3))
    bw = 1.7
    k = lambda a, b: np.exp(-np.sum((a[:, None] - b[None]) ** 2, -1) / (2 * bw**2))  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    want = ((kxx.sum() - np.trace(kxx)) / (7 * 6) + (kyy.sum() - np.trace(kyy)) / (5 * 4) - 2 * kxy.mean())
    assert mmd_test(x, y, bandwidth=bw, permutations=0)["mmd2"] == pytest.approx(want, rel=1e-10)


def test_prior_statistics():
    rng = np.random.default_rng(4)
    n, d = 20_000, 10
    z = rng.normal(size=(n, d))
    stats = prior_statistics(z)
    assert stats["mean_abs_mean"] < 0.02 and abs(stats["mean_std"] - 1.0) < 0.02
    assert stats["gaussian_kl_to_prior"] < 0.01  # sampling floor ~ d(d+1)/(4n)
    shifted = prior_statistics(z + 1.0)
    assert shifted["mean_abs_mean"] == pytest.approx(1.0, abs=0.02)
    assert shifted["gaussian_kl_to_prior"] == pytest.approx(d / 2, rel=0.05)  # KL(N(1, I) || N(0, I)) = d/2
    scaled = prior_statistics(2.0 * z, prior_std=2.0)  # measured against N(0, 4 I)
    assert scaled["gaussian_kl_to_prior"] < 0.01


def test_the_one_parzen_estimator_refines_sigma_on_held_out_rows_and_scores_the_test_set_once(monkeypatch):
    """The refined sigma never scores below the grid's best on the held-out rows; the test points
    are scored once, after both choices, at both sigmas."""
    from keras_ae import generative_metrics as gm

    rng = np.random.default_rng(0)
    samples = rng.normal(0.5, 0.2, (400, 6)).astype(np.float32)
    validation = rng.normal(0.5, 0.2, (150, 6)).astype(np.float32)
    test = rng.normal(0.5, 0.2, (120, 6)).astype(np.float32)
    seen = []
    original = gm._parzen_per_point

    def spy(samples_, points, sigmas, batch_size):
        seen.append((len(points), list(sigmas)))
        return original(samples_, points, sigmas, batch_size)

    monkeypatch.setattr(gm, "_parzen_per_point", spy)
    estimate = gm.parzen_estimate(samples, validation, test)
    test_calls = [s for n, s in seen if n == len(test)]
    assert test_calls == [[estimate.sigma, estimate.grid_sigma]]  # once, after the choice
    assert all(n == len(validation) for n, _ in seen[: -1])  # every choice on the held-out rows
    scores = estimate.validation
    assert estimate.grid_sigma in gm.DEFAULT_SIGMAS and scores[estimate.grid_sigma] == max(
        scores[s] for s in gm.DEFAULT_SIGMAS)
    assert scores[estimate.sigma] >= scores[estimate.grid_sigma]
    assert estimate.sigma != estimate.grid_sigma  # the refinement found a better sigma between grid points
    want = gm.parzen_log_likelihood(samples, test, estimate.sigma)
    assert estimate.test.mean == pytest.approx(want.mean) and estimate.test.std_error == pytest.approx(want.std_error)
    assert estimate.grid_test.mean == pytest.approx(gm.parzen_log_likelihood(samples, test, estimate.grid_sigma).mean)
    row = estimate.as_dict()
    assert row["grid_mean"] == estimate.grid_test.mean and row["validation_points"] == 150
