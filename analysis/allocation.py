"""The review design: Neyman allocation with a floor and caps (§6.3), and the view sample (§9.2)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from analysis.estimate import check_count
from crawler.errors import InputError

__all__ = [
    "STRATUM_KINDS",
    "PlannedStratum",
    "default_floor",
    "default_planning_values",
    "neyman_allocation",
    "planning_value_from_review",
    "pps_sample",
]

T = TypeVar("T", bound=Hashable)

STRATUM_KINDS = ("flagged", "borderline", "unflagged")


@dataclass(frozen=True, slots=True)
class PlannedStratum:
    """A design stratum before the draw: its size (posts, or views for a view sample) and P_h guess."""

    name: str
    size: int
    planning_p: float


def default_planning_values(kinds: Sequence[str]) -> dict[str, float]:
    """Planning values before any review exists (§6.3, §11), by stratum kind.

    Flagged posts get 0.5, the largest possible variance. The borderline band gets 0.02. The
    unflagged posts get 0.005, or 0.002 when a borderline band has taken the highest scores
    (and with them most of the false negatives) out of them.
    """
    unknown = [kind for kind in kinds if kind not in STRATUM_KINDS]
    if unknown:
        raise InputError(
            f"stratum kind: {unknown[0]!r} is unknown (use one of {', '.join(STRATUM_KINDS)})"
        )
    low = 0.002 if "borderline" in kinds else 0.005
    values = {"flagged": 0.5, "borderline": 0.02, "unflagged": low}
    return {kind: values[kind] for kind in kinds}


def planning_value_from_review(positives: int, reviewed: int) -> float:
    """A stratum's planning value from last period's review: the Jeffreys posterior mean.

    It is never 0 or 1, so a stratum whose sample held no positives still gets reviews.
    """
    check_count(positives, "positives")
    check_count(reviewed, "reviewed")
    if positives > reviewed:
        raise InputError(f"positives: {positives} > reviewed {reviewed} (positives are reviewed)")
    return (positives + 0.5) / (reviewed + 1.0)


def default_floor(n: int, strata: int) -> int:
    """The minimum reviews per stratum: 20% of the budget with two strata, 15% with more (§11)."""
    share = 0.20 if strata <= 2 else 0.15
    return min(round(share * n), n // max(strata, 1))


def _check(strata: Sequence[PlannedStratum], n: int) -> None:
    check_count(n, "review budget")
    if not strata:
        raise InputError("strata: none given (allocation needs at least one stratum)")
    names = [s.name for s in strata]
    if len(set(names)) != len(names):
        raise InputError("strata: names repeat (give each stratum a distinct name)")
    for s in strata:
        check_count(s.size, f"stratum {s.name!r}: size")
        if not 0.0 <= s.planning_p <= 1.0 or math.isnan(s.planning_p):
            raise InputError(
                f"stratum {s.name!r}: planning_p {s.planning_p!r} is not a proportion (use 0-1)"
            )


def _continuous(
    weights: list[float], lower: list[float], upper: list[float], n: float
) -> list[float]:
    """clip(λ·w_h, lower_h, upper_h) with λ chosen so that the shares sum to n.

    The sum is piecewise linear in λ with breaks where a stratum reaches its floor or cap,
    so λ is found exactly on the segment that contains n.
    """

    def shares(lam: float) -> list[float]:
        return [min(max(lam * w, lo), up) for w, lo, up in zip(weights, lower, upper, strict=True)]

    breaks = sorted(
        {b / w for w, lo, up in zip(weights, lower, upper, strict=True) if w > 0 for b in (lo, up)}
    )
    start = 0.0
    for end in breaks:
        if sum(shares(end)) >= n:
            break
        start = end
    else:
        return shares(start)
    mid = (start + end) / 2.0
    free = [lo < mid * w < up for w, lo, up in zip(weights, lower, upper, strict=True)]
    fixed = sum(share for share, f in zip(shares(mid), free, strict=True) if not f)
    slope = sum(w for w, f in zip(weights, free, strict=True) if f)
    return shares((n - fixed) / slope if slope > 0 else end)


def neyman_allocation(
    strata: Sequence[PlannedStratum],
    n: int,
    floor: int | None = None,
    *,
    capped: bool = True,
) -> dict[str, int]:
    """Reviews per stratum: ``n_h ∝ N_h·sqrt(P_h(1-P_h))``, at least ``floor``, at most ``N_h``.

    ``floor`` defaults to :func:`default_floor` (20% of ``n`` with two strata, 15% with more)
    and never exceeds a stratum's size. The excess over a stratum's size goes to the other
    strata, so the total is ``n`` unless the strata hold fewer than ``n`` posts altogether,
    in which case every post is reviewed. For a view sample (drawn with replacement) pass
    the strata's total views as ``size`` and ``capped=False``. Rounding keeps the integer
    allocation within one review of the continuous optimum (largest remainders).
    """
    _check(strata, n)
    if floor is None:
        floor = default_floor(n, len(strata))
    check_count(floor, "floor")
    if capped and sum(s.size for s in strata) <= n:
        return {s.name: s.size for s in strata}
    live = [s for s in strata if s.size > 0]
    if not live:
        return {s.name: 0 for s in strata}
    floor = min(floor, n // len(live))
    upper = [float(s.size) if capped else float(n) for s in live]
    lower = [min(float(floor), up) for up in upper]
    weights = [s.size * math.sqrt(s.planning_p * (1.0 - s.planning_p)) for s in live]
    if sum(weights) == 0.0:
        # Planning values of exactly 0 or 1 carry no variance: fall back to proportional.
        weights = [float(s.size) for s in live]
    shares = _continuous(weights, lower, upper, float(n))
    counts = [math.floor(share + 1e-9) for share in shares]
    order = sorted(range(len(live)), key=lambda i: (counts[i] - shares[i], -weights[i]))
    for i in order:
        if sum(counts) >= n:
            break
        if counts[i] < upper[i]:
            counts[i] += 1
    allocation = {s.name: 0 for s in strata}
    allocation.update({s.name: c for s, c in zip(live, counts, strict=True)})
    return allocation


def pps_sample(
    ids: Sequence[T],
    views: Sequence[float | None],
    n: int,
    rng: np.random.Generator,
) -> list[tuple[T, float]]:
    """Draw ``n`` times with replacement from one stratum, post i with probability v_i/V_h (§9.2).

    Returns one ``(id, inclusion probability)`` per draw, in draw order, so a post drawn
    twice appears twice: it is reviewed once and counted twice. The inclusion probability
    is ``1 - (1 - v_i/V_h)^n``. A post with 0 views carries no views and is never drawn. A
    post with unknown views (``None`` or NaN, e.g. no counter on the page) is outside the
    view frame: it is never drawn and must be left out of the stratum's total ``V_h`` too,
    as SQL ``SUM`` does with NULLs. Negative or infinite views are an input error.
    """
    check_count(n, "view sample size")
    if len(ids) != len(views):
        raise InputError(f"views: {len(views)} values for {len(ids)} posts (one per post)")
    known = np.array([math.nan if v is None else float(v) for v in views], dtype=np.float64)
    bad = np.flatnonzero(np.isinf(known) | (known < 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"post {ids[i]!r}: views {views[i]!r} (views are counts >= 0 or null)")
    if n == 0:
        return []
    weight = np.nan_to_num(known, nan=0.0)
    total = float(weight.sum())
    if total <= 0:
        raise InputError("view sample: no post in the stratum has views (nothing to draw)")
    prob = weight / total
    # -expm1(n·log1p(-p)) is 1 - (1 - p)^n without cancellation for tiny p.
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf gives the right answer, 1
        inclusion = -np.expm1(n * np.log1p(-prob))
    picks = rng.choice(len(ids), size=n, p=prob)
    return [(ids[int(i)], float(inclusion[i])) for i in picks]
