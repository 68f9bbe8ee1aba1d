"""Precision, recall and false-omission rate of the classifier from the stratified review (§6.2, §3)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analysis.estimate import Rate, check_confidence
from analysis.hybrid import DEFAULT_DRAWS
from analysis.stratified import StratumSample, check_strata
from crawler.errors import InputError

__all__ = [
    "ClassifierError",
    "classifier_error",
    "design_weighted_rates",
    "jeffreys_draws",
    "rogan_gladen",
    "split_by_flag",
]


@dataclass(frozen=True, slots=True)
class ClassifierError:
    """How the classifier did against adjudicated review labels, with Monte Carlo intervals."""

    precision: Rate
    recall: Rate
    false_omission_rate: Rate
    false_positive_rate: Rate
    # Estimated violating posts among flagged (TP̂) and unflagged (FN̂) posts.
    true_positives: float
    false_negatives: float
    # Delta-method SE of recall (§6.2): a diagnostic beside the Monte Carlo interval.
    recall_delta_se: float


def split_by_flag(
    strata: Sequence[StratumSample],
) -> tuple[list[StratumSample], list[StratumSample]]:
    """(flagged strata, unflagged strata incl. borderline), each needing at least one stratum."""
    live = check_strata(strata)
    for s in live:
        if s.stratum_kind not in ("flagged", "borderline", "unflagged"):
            raise InputError(
                f"stratum {s.name!r}: kind {s.stratum_kind!r} is unknown "
                "(set kind to flagged, borderline or unflagged)"
            )
    flagged = [s for s in live if s.stratum_kind == "flagged"]
    unflagged = [s for s in live if s.stratum_kind != "flagged"]
    if not flagged or not unflagged:
        missing = "flagged" if not flagged else "unflagged"
        raise InputError(
            f"strata: no {missing} stratum with posts (classifier error needs reviews of "
            "both flagged and unflagged posts)"
        )
    return flagged, unflagged


def design_weighted_rates(strata: Sequence[StratumSample]) -> tuple[float, float]:
    """(tpr̂, fpr̂) weighted by stratum size, the rates that make Rogan-Gladen equal P̂_st (§3)."""
    flagged, unflagged = split_by_flag(strata)
    tp = sum(s.population * s.share for s in flagged)
    fn = sum(s.population * s.share for s in unflagged)
    fp = sum(s.population * (1.0 - s.share) for s in flagged)
    tn = sum(s.population * (1.0 - s.share) for s in unflagged)
    tpr = tp / (tp + fn) if tp + fn > 0 else math.nan
    fpr = fp / (fp + tn) if fp + tn > 0 else math.nan
    return tpr, fpr


def rogan_gladen(flag_rate: float, tpr: float, fpr: float) -> float:
    """(c - fpr)/(tpr - fpr) clipped to [0, 1]; InputError when tpr <= fpr (§3)."""
    if not tpr > fpr:
        raise InputError(
            f"classifier rates: tpr {tpr:.4g} <= fpr {fpr:.4g} (the adjusted count needs a "
            "classifier better than chance; review more flagged and unflagged posts)"
        )
    return min(1.0, max(0.0, (flag_rate - fpr) / (tpr - fpr)))


def jeffreys_draws(
    strata: Sequence[StratumSample], draws: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Draws of each stratum's share from Beta(x+½, n-x+½), shape (strata, draws)."""
    x = np.array([s.positives for s in strata], dtype=np.float64)[:, None]
    n = np.array([s.reviewed for s in strata], dtype=np.float64)[:, None]
    shape = (len(strata), draws)
    return rng.beta(np.broadcast_to(x + 0.5, shape), np.broadcast_to(n - x + 0.5, shape))


def _rate(value: float, sample: NDArray[np.float64], confidence: float) -> Rate:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(sample, [tail, 1.0 - tail])
    return Rate(value=value, ci_low=float(low), ci_high=float(high))


def _variance(strata: Sequence[StratumSample]) -> float:
    """Σ N_h²(1-f_h)·p̂_h(1-p̂_h)/(n_h-1): variance of an estimated count of positives."""
    var = 0.0
    for s in strata:
        if s.reviewed >= 2:
            p = s.share
            fpc = 1.0 - s.reviewed / s.population
            var += s.population**2 * fpc * p * (1.0 - p) / (s.reviewed - 1)
    return var


def classifier_error(
    strata: Sequence[StratumSample],
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
    draws: int = DEFAULT_DRAWS,
) -> ClassifierError:
    """Precision (violating share of flagged posts), false-omission rate (of unflagged posts)
    and recall TP̂/(TP̂+FN̂), each with a Monte Carlo interval from Jeffreys posteriors (§0.1).

    Recall is NaN when the review found no violating post at all.
    """
    check_confidence(confidence)
    flagged, unflagged = split_by_flag(strata)
    rng = np.random.default_rng(seed)
    size_f = np.array([s.population for s in flagged], dtype=np.float64)
    size_u = np.array([s.population for s in unflagged], dtype=np.float64)
    p_f = jeffreys_draws(flagged, draws, rng)
    p_u = jeffreys_draws(unflagged, draws, rng)
    tp_draws = size_f @ p_f
    fn_draws = size_u @ p_u
    fp_draws = size_f @ (1.0 - p_f)
    tn_draws = size_u @ (1.0 - p_u)

    tp = sum(s.population * s.share for s in flagged)
    fn = sum(s.population * s.share for s in unflagged)
    fp = sum(s.population * (1.0 - s.share) for s in flagged)
    tn = sum(s.population * (1.0 - s.share) for s in unflagged)
    recall = tp / (tp + fn) if tp + fn > 0 else math.nan
    var_tp, var_fn = _variance(flagged), _variance(unflagged)
    delta_se = (
        math.sqrt(fn**2 * var_tp + tp**2 * var_fn) / (tp + fn) ** 2 if tp + fn > 0 else math.nan
    )
    return ClassifierError(
        precision=_rate(tp / size_f.sum(), tp_draws / size_f.sum(), confidence),
        recall=_rate(recall, tp_draws / (tp_draws + fn_draws), confidence),
        false_omission_rate=_rate(fn / size_u.sum(), fn_draws / size_u.sum(), confidence),
        false_positive_rate=_rate(fp / (fp + tn), fp_draws / (fp_draws + tn_draws), confidence),
        true_positives=tp,
        false_negatives=fn,
        recall_delta_se=delta_se,
    )
