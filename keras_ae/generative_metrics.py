"""How good is a generative model? Parzen-window log-likelihood and prior-matching statistics.

- :func:`parzen_log_likelihood`: the Gaussian Parzen-window estimate of log p(x) of test points
  under a model's samples, as Goodfellow et al. (2014) and Makhzani et al. (2015) report it
  for MNIST (samples and test points in [0, 1], 784 dimensions, sigma chosen on a validation
  split with :func:`select_parzen_sigma`). Batched and vectorised: the squared distances come
  from one matrix product per batch (``|x|^2 + |s|^2 - 2 x.s``), the log-sum-exp is taken over
  all samples at once.
- :func:`prior_statistics`: per-dimension mean and standard deviation of codes against the
  N(0, I) prior, and the KL divergence of the moment-matched Gaussian from N(0, I).
- :func:`mmd_test`: the unbiased squared Maximum Mean Discrepancy (Gretton et al. 2012) with a
  Gaussian kernel between two samples, and its permutation p-value.

Everything is numpy; inputs are any float arrays of shape (N, D).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from keras_ae.errors import ConfigError

# Goodfellow et al.'s parzen_ll.py cross-validates sigma over numpy.logspace(-1, 0, 10).
DEFAULT_SIGMAS = tuple(float(s) for s in np.logspace(-1.0, 0.0, 10))


def _as_2d(name: str, array, dtype=np.float32) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, D) with N >= 1, found {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array.astype(dtype, copy=False)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _parzen_per_point(samples: np.ndarray, points: np.ndarray, sigmas: Sequence[float],
                      batch_size: int) -> np.ndarray:
    """log p(x) of every point under every sigma: array (len(sigmas), len(points)), float64."""
    n, d = samples.shape
    if points.shape[1] != d:
        raise ValueError(f"samples have {d} dimensions but the points have {points.shape[1]}")
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if sigmas.ndim != 1 or sigmas.size == 0 or np.any(sigmas <= 0):
        raise ConfigError(f"sigmas must be positive numbers, found {sigmas}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, found {batch_size}")
    s_sq = np.sum(np.square(samples, dtype=np.float64), axis=1)  # (n,)
    # log p(x) = logsumexp_i(-|x - s_i|^2 / (2 sigma^2)) - log n - d/2 log(2 pi sigma^2)
    const = -np.log(n) - 0.5 * d * np.log(2.0 * np.pi * sigmas**2)  # (k,)
    out = np.empty((len(sigmas), len(points)), dtype=np.float64)
    for start in range(0, len(points), batch_size):
        x = points[start : start + batch_size]
        x_sq = np.sum(np.square(x, dtype=np.float64), axis=1)
        cross = (x @ samples.T).astype(np.float64)  # float32 GEMM, the expensive part
        dist = np.maximum(x_sq[:, None] + s_sq[None, :] - 2.0 * cross, 0.0)  # (b, n)
        for k, sigma in enumerate(sigmas):
            out[k, start : start + len(x)] = _logsumexp(dist * (-0.5 / sigma**2), axis=1) + const[k]
    return out


@dataclass(frozen=True)
class ParzenResult:
    """Mean log-likelihood (nats) of the test points and its standard error over them."""

    sigma: float
    mean: float
    std_error: float
    num_samples: int
    num_points: int

    def as_dict(self) -> dict:
        return asdict(self)


def parzen_log_likelihood(samples, test_points, sigma: float, batch_size: int = 500,
                          return_per_point: bool = False):
    """Gaussian Parzen-window log-likelihood of ``test_points`` under ``samples``.

    p(x) = 1/n sum_i N(x; s_i, sigma^2 I). Returns a :class:`ParzenResult` with the mean over
    the test points and the standard error of that mean (the "± " of Goodfellow et al.'s
    table); with ``return_per_point`` also the (N,) array of log p(x). ``batch_size`` test points
    are scored against all samples at once (memory ~ batch_size x n_samples x 8 bytes).
    """
    samples = _as_2d("samples", samples)
    points = _as_2d("test_points", test_points)
    ll = _parzen_per_point(samples, points, [sigma], batch_size)[0]
    result = ParzenResult(float(sigma), float(ll.mean()), float(ll.std(ddof=1) / np.sqrt(len(ll))) if len(ll) > 1
                          else float("nan"), len(samples), len(points))
    return (result, ll) if return_per_point else result


def select_parzen_sigma(samples, validation_points, sigmas: Sequence[float] = DEFAULT_SIGMAS,
                        batch_size: int = 500) -> tuple[float, dict[float, float]]:
    """The sigma of ``sigmas`` with the highest mean Parzen log-likelihood on ``validation_points``.

    The distances are computed once and every sigma is scored from them. Returns the best sigma
    and ``{sigma: mean log-likelihood}``.
    """
    samples = _as_2d("samples", samples)
    points = _as_2d("validation_points", validation_points)
    ll = _parzen_per_point(samples, points, sigmas, batch_size).mean(axis=1)
    scores = {float(s): float(v) for s, v in zip(sigmas, ll)}
    return float(max(scores, key=scores.get)), scores


@dataclass(frozen=True)
class ParzenEstimate:
    """keras_ae's one Parzen estimator's result: the paper's grid choice and the refined one.

    ``grid_sigma``: the best of the paper's grid (logspace(-1, 0, 10)) on the held-out rows;
    ``sigma``: refined around it by a bounded 1-d search of log sigma between its grid neighbours
    on the same rows (kept only where it scores at least as well there); ``test`` and ``grid_test``:
    the test points' mean log-likelihood (nats) and its standard error at each. ``validation``:
    ``{sigma: mean held-out log-likelihood}`` of every sigma tried, in the order tried."""

    sigma: float
    test: ParzenResult
    grid_sigma: float
    grid_test: ParzenResult
    validation: dict
    validation_points: int

    def as_dict(self) -> dict:
        return {"sigma": self.sigma, "mean": self.test.mean, "std_error": self.test.std_error,
                "grid_sigma": self.grid_sigma, "grid_mean": self.grid_test.mean,
                "grid_std_error": self.grid_test.std_error, "num_samples": self.test.num_samples,
                "num_points": self.test.num_points, "validation_points": self.validation_points}


def refine_parzen_sigma(samples, validation_points, sigmas: Sequence[float] = DEFAULT_SIGMAS,
                        batch_size: int = 500, evaluations: int = 12) -> tuple[float, float, dict[float, float]]:
    """The paper's grid choice of sigma, then a bounded search around it, on held-out rows only.

    Returns ``(grid_sigma, sigma, scores)``: the best of ``sigmas`` on ``validation_points``, the
    refined sigma (a bounded scalar search of log sigma between the grid neighbours of the best,
    ``evaluations`` scorings at most; the grid's best where the search finds nothing better) and
    ``{sigma: mean held-out log-likelihood}`` of every sigma scored. The refined sigma never scores
    below the grid's best on those rows."""
    from scipy.optimize import minimize_scalar

    samples = _as_2d("samples", samples)
    points = _as_2d("validation_points", validation_points)
    grid = sorted(float(s) for s in sigmas)
    grid_best, scores = select_parzen_sigma(samples, points, grid, batch_size=batch_size)
    i = grid.index(grid_best)
    low = grid[i - 1] if i > 0 else grid_best / (grid[1] / grid[0] if len(grid) > 1 else 2.0)
    high = grid[i + 1] if i + 1 < len(grid) else grid_best * (grid[-1] / grid[-2] if len(grid) > 1 else 2.0)

    def negative(log_sigma: float) -> float:
        sigma = float(np.exp(log_sigma))
        scores[sigma] = float(_parzen_per_point(samples, points, [sigma], batch_size)[0].mean())
        return -scores[sigma]

    found = minimize_scalar(negative, bounds=(np.log(low), np.log(high)), method="bounded",
                            options={"maxiter": evaluations, "xatol": 1e-3})
    refined = float(np.exp(found.x))
    if scores.get(refined, -np.inf) < scores[grid_best]:
        refined = grid_best
    return grid_best, refined, scores


def parzen_estimate(samples, validation_points, test_points, sigmas: Sequence[float] = DEFAULT_SIGMAS,
                    batch_size: int = 500) -> ParzenEstimate:
    """keras_ae's one Parzen-window estimator, for every Parzen number it reports (E, F, presets):
    sigma chosen on held-out training rows (the paper's grid, then refined:
    :func:`refine_parzen_sigma`), then the test points scored once, at both sigmas in one pass."""
    grid_sigma, sigma, scores = refine_parzen_sigma(samples, validation_points, sigmas, batch_size)
    samples = _as_2d("samples", samples)
    points = _as_2d("test_points", test_points)
    both = _parzen_per_point(samples, points, [sigma, grid_sigma], batch_size)

    def result(k: int, s: float) -> ParzenResult:
        ll = both[k]
        se = float(ll.std(ddof=1) / np.sqrt(len(ll))) if len(ll) > 1 else float("nan")
        return ParzenResult(float(s), float(ll.mean()), se, len(samples), len(points))

    return ParzenEstimate(sigma, result(0, sigma), grid_sigma, result(1, grid_sigma), scores,
                          len(_as_2d("validation_points", validation_points)))


def describe_parzen(sigma: float, grid_sigma: float | None = None, grid_ll: float | None = None,
                    sigmas_tried: Sequence[float] = (), samples: int | None = None) -> str:
    """The Parzen estimate behind a reported number, in words, from what its run recorded: the
    refined sigma with the paper-grid number beside it (:func:`parzen_estimate`), or, for a run made
    before keras_ae had one estimator (no paper-grid number), the grid its sigma came from
    (``sigmas_tried``, the run's sigma table)."""
    window = f"Parzen window on {int(samples)} samples" if samples else "Parzen window"
    if grid_sigma is not None and grid_ll is not None:
        return (f"{window}; sigma {sigma:.3g} chosen on held-out training rows, the grid logspace(-1, 0, 10) "
                f"then refined; on the grid alone {grid_ll:.1f} (sigma {grid_sigma:.3g})")
    tried = sorted(float(s) for s in sigmas_tried)
    if len(tried) == len(DEFAULT_SIGMAS) and np.allclose(tried, DEFAULT_SIGMAS):
        grid = "the grid logspace(-1, 0, 10)"
    elif tried:
        grid = f"an older grid of {len(tried)} values ({tried[0]:g} to {tried[-1]:g})"
    else:
        grid = "a grid not recorded"
    return (f"{window}; sigma {sigma:.3g} from {grid} on held-out training rows, not refined (a run made "
            "before the one estimator)")


def parzen_score(sample: Callable, sigma_points, score_points=None, sigmas: Sequence[float] = DEFAULT_SIGMAS,
                 batch_size: int = 500) -> Callable:
    """``score(model)`` for :class:`keras_ae.callbacks.BestValidationScore`: the mean Parzen-window
    log-likelihood of held-out rows under the samples ``sample(model)`` (numpy (N, D) in the
    rows' range; draw them from a fixed seed, so every scoring decodes the same noise and the
    curve follows the model, not the draw), with its sigma as an extra.

    sigma is chosen on ``sigma_points`` as keras_ae's one estimator chooses it (the grid
    ``sigmas``, then refined: :func:`refine_parzen_sigma`); the score is the mean log-likelihood of
    ``score_points`` at that sigma, or, with ``score_points=None``, of ``sigma_points`` (the
    optimistic best-sigma value, enough to compare epochs). Both must be held-out *training*
    rows, never the test set."""
    def score(model):
        samples = sample(model)
        _, sigma, scores = refine_parzen_sigma(samples, sigma_points, sigmas, batch_size=batch_size)
        if score_points is None:
            return scores[sigma], {"sigma": sigma}
        return parzen_log_likelihood(samples, score_points, sigma, batch_size=batch_size).mean, {"sigma": sigma}

    return score


# ---------------------------------------------------------------- aggregated posterior vs prior

def prior_statistics(codes, prior_mean: float = 0.0, prior_std: float = 1.0) -> dict:
    """How far the codes' distribution is from N(prior_mean, prior_std^2 I), moment by moment.

    Per-dimension means and standard deviations (summarised by their average, extremes), the
    mean absolute off-diagonal correlation, and KL(N(mu, Sigma) || prior) of the Gaussian with
    the codes' mean and covariance (0 when the first two moments match the prior's).
    """
    z = _as_2d("codes", codes, np.float64)
    z = (z - prior_mean) / prior_std
    n, d = z.shape
    mean = z.mean(axis=0)
    std = z.std(axis=0, ddof=1) if n > 1 else np.zeros(d)
    cov = np.cov(z, rowvar=False).reshape(d, d) if n > 1 else np.zeros((d, d))
    sign, logdet = np.linalg.slogdet(cov + 1e-9 * np.eye(d))
    kl = 0.5 * (np.trace(cov) + mean @ mean - d - logdet) if sign > 0 else float("inf")
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(std, std)
    off = corr[~np.eye(d, dtype=bool)] if d > 1 else np.zeros(1)
    return {
        "num_codes": n, "dimensions": d,
        "mean_abs_mean": float(np.mean(np.abs(mean))), "max_abs_mean": float(np.max(np.abs(mean))),
        "mean_std": float(np.mean(std)), "min_std": float(np.min(std)), "max_std": float(np.max(std)),
        "mean_abs_offdiag_corr": float(np.nanmean(np.abs(off))),
        "gaussian_kl_to_prior": float(kl),
    }


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * a @ b.T, 0.0)


def _mmd2_unbiased(k: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for each column of ``membership`` (N, P) of 0/1 (1: in the first sample),
    from the kernel matrix ``k`` (N, N) of the pooled sample. Vectorised over the P splits."""
    u = membership.astype(np.float64)
    v = 1.0 - u
    n, m = u.sum(0), v.sum(0)
    ku, kv = k @ u, k @ v
    diag = np.diag(k)
    sxx = np.sum(u * ku, 0) - diag @ u
    syy = np.sum(v * kv, 0) - diag @ v
    sxy = np.sum(u * kv, 0)
    return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - 2.0 * sxy / (n * m)


def mmd_test(x, y, bandwidth: float | None = None, permutations: int = 200, seed: int = 0) -> dict:
    """Unbiased squared MMD between samples ``x`` and ``y`` with a Gaussian kernel, and a
    permutation test of "same distribution".

    k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2)); ``bandwidth=None`` takes the median heuristic
    (median pairwise distance of the pooled sample). The p-value is the share of
    ``permutations`` random relabellings of the pooled sample whose MMD^2 is at least the
    observed one (with the +1 correction). Cost: (n + m)^2 kernel entries; subsample first.
    """
    x = _as_2d("x", x, np.float64)
    y = _as_2d("y", y, np.float64)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x has {x.shape[1]} dimensions but y has {y.shape[1]}")
    if len(x) < 2 or len(y) < 2:
        raise ConfigError("mmd_test needs at least two points in each sample")
    pooled = np.concatenate([x, y])
    d2 = _sq_dists(pooled, pooled)
    if bandwidth is None:
        bandwidth = float(np.sqrt(np.median(d2[np.triu_indices(len(pooled), 1)])))
    k = np.exp(-d2 / (2.0 * bandwidth**2))
    first = np.zeros((len(pooled), 1))
    first[: len(x)] = 1.0
    observed = float(_mmd2_unbiased(k, first)[0])
    rng = np.random.default_rng(seed)
    null = np.empty(0)
    if permutations:
        splits = np.stack([rng.permutation(first[:, 0]) for _ in range(permutations)], axis=1)
        null = _mmd2_unbiased(k, splits)
    p_value = float((1 + np.sum(null >= observed)) / (1 + permutations)) if permutations else float("nan")
    return {"mmd2": observed, "bandwidth": bandwidth, "p_value": p_value, "permutations": permutations,
            "null_mean": float(null.mean()) if permutations else float("nan"),
            "null_q95": float(np.quantile(null, 0.95)) if permutations else float("nan"),
            "n_x": len(x), "n_y": len(y)}
