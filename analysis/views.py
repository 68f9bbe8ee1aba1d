"""View-weighted prevalence from a view sample drawn proportional to views (§9.2)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.estimate import Estimate, check_confidence, check_count
from analysis.hybrid import DEFAULT_DRAWS, summed_limits
from crawler.errors import InputError

__all__ = ["ViewStratumSample", "view_weighted_estimate"]

VIEW_NOTE = "share of views (at a fixed post age) that landed on violating posts; one platform"


@dataclass(frozen=True, slots=True)
class ViewStratumSample:
    """One flag stratum of a view sample: V_h total views, m_h draws, x_h violating draws."""

    name: str
    views: float
    draws: int
    positive_draws: int

    def __post_init__(self) -> None:
        if not (self.views >= 0 and math.isfinite(self.views)):
            raise InputError(f"stratum {self.name!r}: views {self.views!r} (use a total >= 0)")
        check_count(self.draws, f"stratum {self.name!r}: draws")
        check_count(self.positive_draws, f"stratum {self.name!r}: positive_draws")
        if self.positive_draws > self.draws:
            raise InputError(
                f"stratum {self.name!r}: positive_draws {self.positive_draws} > draws "
                f"{self.draws} (count a post drawn twice twice in both)"
            )


def view_weighted_estimate(
    strata: Sequence[ViewStratumSample],
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
    draws: int = DEFAULT_DRAWS,
) -> Estimate:
    """P̂_v = Σ_h (V_h/V)·x_h/m_h (Hansen-Hurwitz), hybrid interval without the finite term."""
    check_confidence(confidence)
    live = [s for s in strata if s.views > 0]
    if not live:
        raise InputError("view strata: no views in any stratum (nothing to estimate)")
    for s in live:
        if s.draws == 0:
            raise InputError(
                f"stratum {s.name!r}: {s.views:g} views but no draws (draw at least one post)"
            )
    total = sum(s.views for s in live)
    weights = [s.views / total for s in live]
    shares = [s.positive_draws / s.draws for s in live]
    point = sum(w * r for w, r in zip(weights, shares, strict=True))
    var = sum(
        w * w * r * (1.0 - r) / (s.draws - 1)
        for w, r, s in zip(weights, shares, live, strict=True)
        if s.draws > 1
    )
    low, high = summed_limits(
        [s.positive_draws for s in live],
        [s.draws for s in live],
        weights,
        confidence=confidence,
        draws=draws,
        rng=np.random.default_rng(seed),
    )
    return Estimate.simulated(
        point,
        float(low),
        float(high),
        method="view-hybrid",
        positives=sum(s.positive_draws for s in live),
        reviewed=sum(s.draws for s in live),
        confidence=confidence,
        wald_se=math.sqrt(var),
        note=VIEW_NOTE,
    )
