"""Confidence intervals for one proportion x of n (§7.1): Wilson, Agresti-Coull, Clopper-Pearson, Jeffreys."""

from __future__ import annotations

import math
from functools import lru_cache

from scipy.stats import beta, norm

from analysis.estimate import check_confidence, check_count
from crawler.errors import InputError

__all__ = [
    "agresti_coull_interval",
    "clopper_pearson_interval",
    "clopper_pearson_upper",
    "jeffreys_interval",
    "wald_interval",
    "wilson_interval",
    "z_value",
]


@lru_cache(maxsize=16)
def z_value(confidence: float = 0.95) -> float:
    """Two-sided standard normal quantile: 1.959964 for 0.95."""
    return float(norm.ppf(0.5 + check_confidence(confidence) / 2.0))


def _check(x: int, n: int) -> None:
    check_count(x, "positives")
    check_count(n, "sample size")
    if n == 0:
        raise InputError("sample size: 0 (an interval needs at least one observation)")
    if x > n:
        raise InputError(f"positives: {x} > sample size {n} (positives are part of the sample)")


def wilson_interval(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927); matches statsmodels' ``method='wilson'``."""
    _check(x, n)
    z = z_value(confidence)
    p = x / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def agresti_coull_interval(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Agresti-Coull interval: Wald on x + z²/2 of n + z², clipped to [0, 1]."""
    _check(x, n)
    z = z_value(confidence)
    n_tilde = n + z * z
    p = (x + z * z / 2) / n_tilde
    half = z * math.sqrt(p * (1 - p) / n_tilde)
    return max(0.0, p - half), min(1.0, p + half)


def clopper_pearson_interval(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson ("exact") interval from Beta quantiles."""
    _check(x, n)
    alpha = 1.0 - check_confidence(confidence)
    low = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    high = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return low, high


def clopper_pearson_upper(x: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound; about 3/n for x = 0 at 95% (rule of three)."""
    _check(x, n)
    level = check_confidence(confidence)
    return 1.0 if x == n else float(beta.ppf(level, x + 1, n - x))


def jeffreys_interval(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Equal-tailed Jeffreys interval, with the lower limit 0 at x = 0 and the upper 1 at x = n."""
    _check(x, n)
    alpha = 1.0 - check_confidence(confidence)
    # Brown, Cai & DasGupta's boundary rule; statsmodels omits it and reports 5e-06 for 0/100.
    low = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x + 0.5, n - x + 0.5))
    high = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 0.5, n - x + 0.5))
    return low, high


def wald_interval(estimate: float, se: float, confidence: float = 0.95) -> tuple[float, float]:
    """Estimate ± z·SE, unclipped: a diagnostic only; its coverage collapses near 0 (§7.1)."""
    z = z_value(confidence)
    return estimate - z * se, estimate + z * se
