"""Verdicts from numbers with their uncertainty: the statistics behind the questions' answers.

Pure functions of numbers (no training, no files): a difference of two means with its standard
error and confidence interval, McNemar's exact test of two classifiers on the same items, a
measurement against a published number. Each returns the verdict and the figures it rests on, so
that an answer's wording follows the numbers and flips when they do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


@dataclass(frozen=True)
class Difference:
    """``a - b`` with its standard error; ``verdict`` is ``"lower"``, ``"higher"`` (a against b, the
    95 % interval excluding 0) or ``"tie"`` (the interval holds 0: no difference is shown)."""

    difference: float
    std_error: float

    @property
    def interval(self) -> tuple[float, float]:
        return self.difference - Z95 * self.std_error, self.difference + Z95 * self.std_error

    @property
    def verdict(self) -> str:
        low, high = self.interval
        return "lower" if high < 0 else "higher" if low > 0 else "tie"

    @property
    def relation(self) -> str:
        """The verdict in words, a against b: ``"below"``, ``"above"`` or ``"level with"``."""
        return {"lower": "below", "higher": "above", "tie": "level with"}[self.verdict]

    def text(self, fmt: str = ".3g") -> str:
        low, high = self.interval
        return f"difference {self.difference:{fmt}} (95 % interval {low:{fmt}} to {high:{fmt}})"


def difference(a: float, a_se: float, b: float, b_se: float) -> Difference:
    """``a - b`` of two independent estimates with standard errors ``a_se``, ``b_se`` (for two
    means on the same items this is conservative: their errors are positively correlated)."""
    return Difference(float(a) - float(b), math.hypot(float(a_se), float(b_se)))


def mean_std_error(values) -> tuple[float, float]:
    """The mean of ``values`` and its standard error (sample standard deviation / sqrt(n); 0 for one value)."""
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


@dataclass(frozen=True)
class McNemar:
    """Two classifiers on the same items: ``only_a`` items only A gets right, ``only_b`` only B;
    ``p_value`` of McNemar's exact (binomial) test that both are equally accurate."""

    only_a: int
    only_b: int
    items: int

    @property
    def p_value(self) -> float:
        from scipy.stats import binomtest

        n = self.only_a + self.only_b
        return 1.0 if n == 0 else float(binomtest(self.only_a, n, 0.5).pvalue)

    @property
    def accuracy_difference(self) -> float:
        """Accuracy of A minus accuracy of B."""
        return (self.only_a - self.only_b) / self.items

    @property
    def verdict(self) -> str:
        """``"A"`` or ``"B"`` (the more accurate one, p < 0.05), else ``"tie"``."""
        if self.p_value >= 0.05:
            return "tie"
        return "A" if self.only_a > self.only_b else "B"


def against_reference(measured: float, std_error: float, published: float, published_se: float | None) -> Difference:
    """A measurement against a published number, both with their standard errors."""
    return difference(measured, std_error, published, published_se or 0.0)
