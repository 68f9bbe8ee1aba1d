"""Agreement of two reviewers with intervals: Cohen's κ, Krippendorff's α, positive and negative
agreement, each with a percentile bootstrap interval over items, and warnings for samples too
small or too skewed to read them at face value.

Point estimates of α and PA/NA come from `analysis.agreement`; κ is added here. The bootstrap
resamples items (the unit the reviewers labelled), B times with a fixed seed, so a page shows
the same interval on every load. Labels are any strings ("yes", "no", "unsure"); positive and
negative agreement use the yes/no pairs only, as `vemeter review agreement` does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from analysis.agreement import krippendorff_alpha_nominal, specific_agreement

__all__ = [
    "MIN_ITEMS",
    "SKEW_SHARE",
    "Estimate",
    "PairAgreement",
    "cohen_kappa",
    "pair_agreement",
]

# Under this many items an agreement figure is flagged as unreliable (INCEpTION warns likewise).
MIN_ITEMS = 30
# When one label holds this share of all labels or more, κ and α are flagged as unstable.
SKEW_SHARE = 0.85
RESAMPLES = 1000

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    value: float  # NaN when undefined
    low: float  # the bootstrap interval; NaN when it cannot be had
    high: float


@dataclass(frozen=True)
class PairAgreement:
    items: int  # items with two reviewers' labels
    raw: float  # share of items with the same label
    kappa: Estimate
    alpha: Estimate
    positive: Estimate
    negative: Estimate
    top_label: str | None
    top_share: float
    warnings: list[str] = field(default_factory=list)


def _tables(first: NDArray[np.int64], second: NDArray[np.int64], k: int) -> Floats:
    """Contingency tables (…, k, k) of label codes, one per row of the code arrays."""
    combined = first * k + second
    counts = (combined[..., None] == np.arange(k * k)).sum(axis=-2)
    tables: Floats = counts.reshape(*combined.shape[:-1], k, k).astype(np.float64)
    return tables


def _divide(num: Floats, den: Floats) -> Floats:
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _stats(tables: Floats, yes: int | None, no: int | None) -> dict[str, Floats]:
    """κ, α, PA and NA of each table (the last two axes)."""
    n = tables.sum(axis=(-2, -1))
    agree = np.trace(tables, axis1=-2, axis2=-1)
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    observed = _divide(agree, n)
    chance = _divide((rows * cols).sum(axis=-1), n * n)
    kappa = _divide(observed - chance, 1 - chance)
    # α for two coders and no missing labels: coincidences are the table plus its transpose.
    marg = rows + cols
    total = 2 * n
    alpha = 1 - _divide((total - 1) * 2 * (n - agree), total * total - (marg * marg).sum(axis=-1))
    nan = np.full(n.shape, np.nan)
    positive = negative = nan
    if yes is not None and no is not None:
        a, d = tables[..., yes, yes], tables[..., no, no]
        off = tables[..., yes, no] + tables[..., no, yes]
        positive, negative = _divide(2 * a, 2 * a + off), _divide(2 * d, 2 * d + off)
    return {"kappa": kappa, "alpha": alpha, "positive": positive, "negative": negative}


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float:
    """Cohen's κ of (first reviewer, second reviewer) label pairs; NaN when undefined."""
    if not pairs:
        return math.nan
    labels = sorted({x for pair in pairs for x in pair})
    code = {label: i for i, label in enumerate(labels)}
    first = np.array([code[a] for a, _ in pairs], dtype=np.int64)
    second = np.array([code[b] for _, b in pairs], dtype=np.int64)
    return float(_stats(_tables(first, second, len(labels)), None, None)["kappa"])


def _interval(values: Floats, level: float) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    # An interval from a minority of resamples (most undefined) would mislead: none then.
    if finite.size == 0 or finite.size < values.size / 2:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def pair_agreement(
    pairs: Sequence[tuple[str, str]],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> PairAgreement:
    """Agreement of two reviewers over items, one (first, second) label pair per item."""
    n = len(pairs)
    labels = sorted({x for pair in pairs for x in pair})
    code = {label: i for i, label in enumerate(labels)}
    k = max(len(labels), 1)
    first = np.array([code[a] for a, _ in pairs], dtype=np.int64)
    second = np.array([code[b] for _, b in pairs], dtype=np.int64)
    yes, no = code.get("yes"), code.get("no")

    point = _stats(_tables(first, second, k), yes, no) if n else None
    alpha = krippendorff_alpha_nominal({i: list(p) for i, p in enumerate(pairs)})
    binary = [(a, b) for a, b in pairs if {a, b} <= {"yes", "no"}]
    pa, na = specific_agreement(binary) if binary else (math.nan, math.nan)
    values = {
        "kappa": float(point["kappa"]) if point else math.nan,
        "alpha": alpha,
        "positive": pa,
        "negative": na,
    }
    bounds = {name: (math.nan, math.nan) for name in values}
    if n >= 2 and resamples > 0:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(resamples, n))
        boot = _stats(_tables(first[idx], second[idx], k), yes, no)
        bounds = {name: _interval(boot[name], level) for name in values}

    share: Counter[str] = Counter(x for pair in pairs for x in pair)
    top_label, top_count = share.most_common(1)[0] if share else (None, 0)
    top_share = top_count / (2 * n) if n else math.nan
    warnings: list[str] = []
    if n == 0:
        warnings.append("No item has two reviewers' labels here yet.")
    elif n < MIN_ITEMS:
        warnings.append(
            f"Only {n} item{'s' if n > 1 else ''} with two reviewers' labels (under {MIN_ITEMS}): "
            "the intervals are "
            "wide and the figures can move a lot with a few more items."
        )
    if n and top_share >= SKEW_SHARE:
        warnings.append(
            f"'{top_label}' is {top_share:.0%} of the labels: with one label this common, κ and α "
            "can be low (or undefined) even when reviewers nearly always agree; read positive "
            "and negative agreement beside them."
        )
    return PairAgreement(
        items=n,
        raw=sum(a == b for a, b in pairs) / n if n else math.nan,
        kappa=Estimate(values["kappa"], *bounds["kappa"]),
        alpha=Estimate(values["alpha"], *bounds["alpha"]),
        positive=Estimate(values["positive"], *bounds["positive"]),
        negative=Estimate(values["negative"], *bounds["negative"]),
        top_label=top_label,
        top_share=top_share,
        warnings=warnings,
    )
