"""Model-based per-cell prevalence: adjusted classify-and-count with pooled design-weighted rates (§8)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.classifier_error import (
    design_weighted_rates,
    jeffreys_draws,
    rogan_gladen,
    split_by_flag,
)
from analysis.estimate import Estimate, check_confidence, check_count
from analysis.hybrid import DEFAULT_DRAWS
from analysis.stratified import StratumSample
from crawler.errors import InputError

__all__ = ["MODEL_BASED_NOTE", "CellCounts", "cell_estimates"]

MODEL_BASED_NOTE = (
    "model-based: assumes the classifier's tpr and fpr are the same in every cell; "
    "not a design-based estimate"
)

# Cells are processed in blocks so the (cells x draws) array stays small for 10^5 cells.
_CELL_BLOCK = 64


@dataclass(frozen=True, slots=True)
class CellCounts:
    """One reporting cell (platform x language x source x day): posts crawled, posts flagged."""

    name: str
    posts: int
    flagged: int

    def __post_init__(self) -> None:
        check_count(self.posts, f"cell {self.name!r}: posts")
        check_count(self.flagged, f"cell {self.name!r}: flagged")
        if self.flagged > self.posts:
            raise InputError(
                f"cell {self.name!r}: flagged {self.flagged} > posts {self.posts} "
                "(flagged posts are posts)"
            )


def cell_estimates(
    cells: Sequence[CellCounts],
    strata: Sequence[StratumSample],
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
    draws: int = DEFAULT_DRAWS,
) -> dict[str, Estimate]:
    """P̂_d = (c_d - f̂)/(t̂ - f̂) per cell, t̂ and f̂ from the pooled stratified review.

    The interval draws each stratum's share from its Jeffreys posterior, recomputes t and f,
    and adds the cell's own binomial flag noise ε (§8). Cells without posts are skipped.
    Every figure has ``method="model-based"``: it is only as good as the assumption that
    the classifier errs at the same rates in every cell.
    """
    level = check_confidence(confidence)
    flagged, unflagged = split_by_flag(strata)
    tpr, fpr = design_weighted_rates(strata)
    if math.isnan(tpr):
        raise InputError(
            "review: no violating post found in any stratum (per-cell figures need the "
            "classifier's recall; report the stratified upper bound instead)"
        )
    rogan_gladen(0.0, tpr, fpr)  # raises when the classifier is no better than chance
    rng = np.random.default_rng(seed)
    size_f = np.array([s.population for s in flagged], dtype=np.float64)
    size_u = np.array([s.population for s in unflagged], dtype=np.float64)
    p_f = jeffreys_draws(flagged, draws, rng)
    p_u = jeffreys_draws(unflagged, draws, rng)
    tp, fn = size_f @ p_f, size_u @ p_u
    fp, tn = size_f @ (1.0 - p_f), size_u @ (1.0 - p_u)
    t_draws = tp / (tp + fn)
    f_draws = fp / (fp + tn)
    # A draw where the classifier looks no better than chance has no adjusted count.
    gap = np.where(t_draws > f_draws, t_draws - f_draws, np.nan)

    positives = sum(s.positives for s in flagged + unflagged)
    reviewed = sum(s.reviewed for s in flagged + unflagged)
    tail = (1.0 - level) / 2.0
    live = [cell for cell in cells if cell.posts > 0]
    out: dict[str, Estimate] = {}
    for start in range(0, len(live), _CELL_BLOCK):
        block = live[start : start + _CELL_BLOCK]
        rate = np.array([c.flagged / c.posts for c in block])[:, None]
        size = np.array([c.posts for c in block], dtype=np.float64)[:, None]
        point = np.array([rogan_gladen(c.flagged / c.posts, tpr, fpr) for c in block])[:, None]
        flag_var = (point * tpr * (1 - tpr) + (1 - point) * fpr * (1 - fpr)) / (
            size * (tpr - fpr) ** 2
        )
        noise = rng.standard_normal((len(block), draws)) * np.sqrt(flag_var)
        sims = np.clip((rate - f_draws) / gap + noise, 0.0, 1.0)
        # nanquantile works row by row; plain quantile is vectorised and the usual case.
        quantile = np.nanquantile if np.isnan(gap).any() else np.quantile
        low, high = quantile(sims, [tail, 1.0 - tail], axis=1)
        for i, cell in enumerate(block):
            out[cell.name] = Estimate.simulated(
                float(point[i, 0]),
                float(low[i]),
                float(high[i]),
                method="model-based",
                positives=positives,
                reviewed=reviewed,
                confidence=level,
                note=MODEL_BASED_NOTE,
            )
    return out
