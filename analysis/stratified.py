"""Prevalence from a stratified review sample (§6.1, §7.3), and classify-and-count for comparison."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.estimate import Estimate, check_confidence, check_count
from analysis.hybrid import DEFAULT_DRAWS, summed_limits
from analysis.intervals import wilson_interval
from crawler.errors import InputError

__all__ = [
    "NAIVE_COLUMNS",
    "Estimate",
    "StratumSample",
    "check_strata",
    "naive_columns",
    "naive_estimate",
    "stratified_estimate",
    "stratified_point",
    "stratified_wald_se",
]

NAIVE_METHOD = "naive-wilson"
# What `stats --estimate naive` adds to each row (naive_columns).
NAIVE_COLUMNS = ("prevalence", "ci_low", "ci_high", "method")
NAIVE_NOTE = (
    "classify-and-count: the share of posts the classifier flagged, not a prevalence; "
    "biased by false positives and false negatives"
)


@dataclass(frozen=True, slots=True)
class StratumSample:
    """One design stratum after review: N_h posts, n_h reviewed, x_h labelled violating.

    ``kind`` is ``flagged``, ``borderline`` or ``unflagged`` and defaults to ``name``; it tells
    the classifier-error and per-cell estimators which strata the classifier flagged.
    """

    name: str
    population: int
    reviewed: int
    positives: int
    kind: str = ""

    def __post_init__(self) -> None:
        check_count(self.population, f"stratum {self.name!r}: population")
        check_count(self.reviewed, f"stratum {self.name!r}: reviewed")
        check_count(self.positives, f"stratum {self.name!r}: positives")
        if self.reviewed > self.population:
            raise InputError(
                f"stratum {self.name!r}: reviewed {self.reviewed} > population "
                f"{self.population} (count each post once; check the stratum totals)"
            )
        if self.positives > self.reviewed:
            raise InputError(
                f"stratum {self.name!r}: positives {self.positives} > reviewed "
                f"{self.reviewed} (positives are reviewed posts)"
            )

    @property
    def stratum_kind(self) -> str:
        return self.kind or self.name

    @property
    def share(self) -> float:
        """x_h / n_h, the reviewed share that was violating."""
        return self.positives / self.reviewed


def check_strata(strata: Sequence[StratumSample]) -> list[StratumSample]:
    """Strata that hold posts, each with at least one review; InputError otherwise."""
    names = [s.name for s in strata]
    if len(set(names)) != len(names):
        raise InputError("strata: names repeat (give each design stratum a distinct name)")
    live = [s for s in strata if s.population > 0]
    if not live:
        raise InputError("strata: no posts in any stratum (nothing to estimate)")
    for s in live:
        if s.reviewed == 0:
            raise InputError(
                f"stratum {s.name!r}: {s.population} posts but none reviewed "
                "(review at least one post per stratum; never flagged posts only)"
            )
    return live


def stratified_point(strata: Sequence[StratumSample]) -> float:
    """P̂_st = Σ_h (N_h/N)·x_h/n_h (Horvitz-Thompson with π_i = n_h/N_h)."""
    live = check_strata(strata)
    total = sum(s.population for s in live)
    return sum(s.population * s.share for s in live) / total


def stratified_wald_se(strata: Sequence[StratumSample]) -> float:
    """Cochran's SE: sqrt(Σ W_h²(1-f_h)·p̂_h(1-p̂_h)/(n_h-1)); 0 where n_h = 1 (a diagnostic)."""
    live = check_strata(strata)
    total = sum(s.population for s in live)
    var = 0.0
    for s in live:
        if s.reviewed < 2:
            continue
        p = s.share
        fpc = 1.0 - s.reviewed / s.population
        var += (s.population / total) ** 2 * fpc * p * (1.0 - p) / (s.reviewed - 1)
    return math.sqrt(var)


def stratified_estimate(
    strata: Sequence[StratumSample],
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
    draws: int = DEFAULT_DRAWS,
) -> Estimate:
    """Design-based prevalence with the hybrid finite-population interval (§6.1, §7.3).

    The same seed gives the same interval; store it with the report.
    """
    check_confidence(confidence)
    live = check_strata(strata)
    total = sum(s.population for s in live)
    rng = np.random.default_rng(seed)
    low, high = summed_limits(
        [s.positives for s in live],
        [s.reviewed for s in live],
        [s.population / total for s in live],
        population=[s.population for s in live],
        confidence=confidence,
        draws=draws,
        rng=rng,
    )
    return Estimate.simulated(
        stratified_point(live),
        float(low),
        float(high),
        method="stratified-hybrid",
        positives=sum(s.positives for s in live),
        reviewed=sum(s.reviewed for s in live),
        confidence=confidence,
        wald_se=stratified_wald_se(live),
    )


def naive_estimate(flagged: int, posts: int, confidence: float = 0.95) -> Estimate:
    """Classify-and-count: the flag rate ΣF/N with a Wilson interval, labelled as naive.

    Its interval measures only the binomial noise of the flag rate; when positives are
    rare it almost never covers the prevalence (§2). Show it beside, never instead of, the
    stratified estimate.
    """
    check_count(flagged, "flagged")
    check_count(posts, "posts")
    if flagged > posts:
        raise InputError(f"flagged: {flagged} > posts {posts} (flagged posts are posts)")
    low, high = wilson_interval(flagged, posts, confidence)
    rate = flagged / posts
    return Estimate(
        prevalence=rate,
        ci_low=low,
        ci_high=high,
        method=NAIVE_METHOD,
        positives=flagged,
        reviewed=0,
        confidence=confidence,
        wald_se=math.sqrt(rate * (1.0 - rate) / posts),
        note=NAIVE_NOTE,
    )


def naive_columns(flagged: int, posts: int) -> dict[str, Any]:
    """The NAIVE_COLUMNS of one group for `stats --estimate naive`, from naive_estimate.

    A group without posts has no flag rate; its interval is the whole of [0, 1].
    """
    if not posts:
        return dict(zip(NAIVE_COLUMNS, (None, 0.0, 1.0, NAIVE_METHOD), strict=True))
    e = naive_estimate(flagged, posts)
    return dict(zip(NAIVE_COLUMNS, (e.prevalence, e.ci_low, e.ci_high, e.method), strict=True))
