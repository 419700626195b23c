"""Quality numbers for generative models: the Parzen-window log-likelihood of Goodfellow et al. (2014).

A Gaussian Parzen window (kernel density estimate) is fitted to ``N`` samples ``s_j`` drawn from
the model; the log-likelihood of a test point ``x`` in ``d`` dimensions is

    log p(x) = logsumexp_j( -||x - s_j||^2 / (2 sigma^2) ) - log N - (d / 2) log(2 pi sigma^2)

in nats. Goodfellow et al. used 10,000 samples, chose ``sigma`` by the mean log-likelihood on a
validation set, and report the mean over the MNIST test set with its standard error. The
estimate is crude (it favours blurry samples, has high variance in 784 dimensions and can exceed
the true likelihood), but with the same samples count, sigma grid and test set it puts models of
different questions on one scale.

Both functions are batched over test points and vectorised over samples: a batch of
``batch_size`` test points costs a ``(batch_size, N)`` distance matrix, computed in float64 as
``||x||^2 - 2 x.s + ||s||^2``, and the log-sum-exp subtracts the row maximum first, so no
exponential under- or overflows.
"""

from __future__ import annotations

import numpy as np


def parzen_log_likelihood(samples, test_points, sigma: float, batch_size: int = 500) -> np.ndarray:
    """Log-likelihood (nats) of each test point under a Gaussian Parzen window on ``samples``.

    ``samples``: ``(N, d)`` model samples; ``test_points``: ``(M, d)``, same value range;
    ``sigma``: the kernel's standard deviation (> 0). Returns an array of shape ``(M,)``;
    report its mean and standard error (``std / sqrt(M)``).
    """
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    test_points = np.asarray(test_points, np.float64).reshape(len(test_points), -1)
    if samples.shape[1] != test_points.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features but test points {test_points.shape[1]}")
    if len(samples) == 0 or len(test_points) == 0:
        raise ValueError("need at least one sample and one test point")
    sigma = float(sigma)
    if not sigma > 0.0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n, d = samples.shape
    s_sq = np.sum(samples ** 2, axis=1)
    log_norm = np.log(n) + 0.5 * d * np.log(2.0 * np.pi * sigma ** 2)
    out = np.empty(len(test_points))
    for start in range(0, len(test_points), batch_size):
        x = test_points[start:start + batch_size]
        dist = np.sum(x ** 2, axis=1)[:, None] - 2.0 * x @ samples.T + s_sq[None, :]
        a = -np.maximum(dist, 0.0) / (2.0 * sigma ** 2)
        a_max = a.max(axis=1, keepdims=True)
        out[start:start + len(x)] = (a_max[:, 0] + np.log(np.sum(np.exp(a - a_max), axis=1))) - log_norm
    return out


def select_parzen_sigma(samples, validation_points, sigmas) -> tuple[float, dict[float, float]]:
    """Choose sigma as Goodfellow et al. did: the one with the best mean validation log-likelihood.

    Returns ``(best_sigma, {sigma: mean validation log-likelihood})``. The distances are
    computed once per batch of validation points and reused for every sigma. A best sigma at the
    edge of the grid means the grid should be widened.
    """
    grid = np.atleast_1d(np.asarray(sigmas, dtype=np.float64))
    if grid.size == 0 or not np.all(grid > 0.0):
        raise ValueError(f"need one or more positive sigmas, got {list(grid)}")
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    validation_points = np.asarray(validation_points, np.float64).reshape(len(validation_points), -1)
    if samples.shape[1] != validation_points.shape[1] or len(samples) == 0 or len(validation_points) == 0:
        raise ValueError(f"samples {samples.shape} and validation points {validation_points.shape} do not match")
    n, d = samples.shape
    s_sq = np.sum(samples ** 2, axis=1)
    totals = np.zeros(grid.size)
    for start in range(0, len(validation_points), 500):
        x = validation_points[start:start + 500]
        dist = np.maximum(np.sum(x ** 2, axis=1)[:, None] - 2.0 * x @ samples.T + s_sq[None, :], 0.0)
        for i, sigma in enumerate(grid):
            a = -dist / (2.0 * sigma ** 2)
            a_max = a.max(axis=1, keepdims=True)
            lse = a_max[:, 0] + np.log(np.sum(np.exp(a - a_max), axis=1))
            totals[i] += np.sum(lse - np.log(n) - 0.5 * d * np.log(2.0 * np.pi * sigma ** 2))
    scores = {float(s): float(t / len(validation_points)) for s, t in zip(grid, totals)}
    best = max(scores, key=scores.get)
    return best, scores
