"""The §11 simulation, vectorised: populations, stratified review samples and their intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm

from analysis.allocation import PlannedStratum, default_planning_values, neyman_allocation
from analysis.cells import CellCounts, cell_estimates
from analysis.hybrid import summed_limits
from analysis.stratified import StratumSample, naive_estimate, stratified_point

POSTS = 100_000
TPR = 0.8
# Table 2's grid: true prevalence x classifier false-positive rate x review budget.
SCENARIOS = [
    (p, fpr, n) for p in (0.005, 0.01, 0.05) for fpr in (0.01, 0.02) for n in (200, 400, 1000)
]


@dataclass(frozen=True)
class Coverage:
    """What 500 replications of one scenario showed."""

    covered: float
    mean_error: float
    error_se: float
    cc_covered: float
    cc_mean_error: float
    cc_expected_bias: float


def stratum_probabilities(fpr: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """P(flagged, borderline, low | positive) and (| negative) under the binormal score model.

    Negatives score N(0,1), positives N(μ,1); τ gives the wanted fpr and μ the tpr of 0.8.
    The borderline band holds the top 5% of the negatives below τ.
    """
    tau = norm.ppf(1.0 - fpr)
    mu = tau - norm.ppf(1.0 - TPR)
    band = norm.ppf(0.95 * (1.0 - fpr))
    pos_border = norm.cdf(tau - mu) - norm.cdf(band - mu)
    positive = np.array([TPR, pos_border, 1.0 - TPR - pos_border])
    negative = np.array([fpr, 0.05 * (1.0 - fpr), 0.95 * (1.0 - fpr)])
    return positive, negative


def simulate(
    p: float, fpr: float, n: int, strata: int, reps: int, rng: np.random.Generator, draws: int
) -> Coverage:
    """``reps`` populations of 100,000 posts, each reviewed by a 2- or 3-stratum Neyman design."""
    positive, negative = stratum_probabilities(fpr)
    cells = rng.multinomial(POSTS, np.concatenate([p * positive, (1 - p) * negative]), size=reps)
    pos, size = cells[:, :3], cells[:, :3] + cells[:, 3:]
    if strata == 2:
        pos = np.column_stack([pos[:, 0], pos[:, 1] + pos[:, 2]])
        size = np.column_stack([size[:, 0], size[:, 1] + size[:, 2]])
    kinds = ["flagged", "borderline", "unflagged"] if strata == 3 else ["flagged", "unflagged"]
    planning = default_planning_values(kinds)
    reviewed = np.array(
        [
            list(
                neyman_allocation(
                    [
                        PlannedStratum(k, int(s), planning[k])
                        for k, s in zip(kinds, row, strict=True)
                    ],
                    n,
                ).values()
            )
            for row in size
        ]
    )
    found = rng.hypergeometric(pos, size - pos, reviewed)
    low, high = summed_limits(found, reviewed, size / POSTS, population=size, draws=draws, rng=rng)
    truth = pos.sum(axis=1) / POSTS
    point = np.array(
        [
            stratified_point(
                [
                    StratumSample(k, int(s), int(r), int(x))
                    for k, s, r, x in zip(kinds, *row, strict=True)
                ]
            )
            for row in zip(size, reviewed, found, strict=True)
        ]
    )
    flagged = size[:, 0]
    cc = [naive_estimate(int(f), POSTS) for f in flagged]
    cc_low = np.array([e.ci_low for e in cc])
    cc_high = np.array([e.ci_high for e in cc])
    error = point - truth
    return Coverage(
        covered=float(np.mean((low <= truth) & (truth <= high))),
        mean_error=float(error.mean()),
        error_se=float(error.std(ddof=1) / np.sqrt(reps)),
        cc_covered=float(np.mean((cc_low <= truth) & (truth <= cc_high))),
        cc_mean_error=float(np.mean(flagged / POSTS - truth)),
        cc_expected_bias=fpr * (1 - p) - (1 - TPR) * p,
    )


@dataclass(frozen=True)
class ViewCoverage:
    """What the replications of one view-sample scenario showed."""

    covered: float
    mean_error: float
    error_se: float
    cc_mean_error: float


def view_populations(
    prevalences: Sequence[float], reps: int, rng: np.random.Generator
) -> dict[float, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per prevalence and replication: views per flag stratum (F, U), violating share of each.

    Views are lognormal (σ = 2) and violating posts get 1.65 times as many (Table 5); fpr 1%.
    The prevalences share the view draws (each still has ``reps`` independent populations).
    """
    groups = {
        p: rng.multinomial(
            POSTS, [p * TPR, p * (1 - TPR), (1 - p) * 0.01, (1 - p) * 0.99], size=reps
        )  # violating flagged, violating unflagged, other flagged, other unflagged
        for p in prevalences
    }
    sums = {p: np.empty((reps, 4)) for p in prevalences}
    for r in range(reps):
        views = np.exp(2.0 * rng.standard_normal(POSTS, dtype=np.float32))
        for p in prevalences:
            counts = groups[p][r]
            starts = np.concatenate([[0], np.cumsum(counts)[:3]])
            # reduceat returns the element at an empty slice's start, hence the mask.
            part = np.add.reduceat(views, starts, dtype=np.float64)
            sums[p][r] = np.where(counts > 0, part, 0.0)
    worlds = {}
    for p, total in sums.items():
        total[:, :2] *= 1.65
        stratum_views = np.column_stack([total[:, 0] + total[:, 2], total[:, 1] + total[:, 3]])
        worlds[p] = (stratum_views, total[:, :2] / stratum_views)
    return worlds


def simulate_views(
    stratum_views: NDArray[np.float64],
    violating: NDArray[np.float64],
    n: int,
    rng: np.random.Generator,
    draws: int,
) -> ViewCoverage:
    """A PPS view sample of ``n`` draws per population, estimated as in §9.2."""
    kinds = ["flagged", "unflagged"]
    planning = default_planning_values(kinds)
    sizes = [
        list(
            neyman_allocation(
                [PlannedStratum(k, round(v), planning[k]) for k, v in zip(kinds, row, strict=True)],
                n,
                capped=False,
            ).values()
        )
        for row in stratum_views
    ]
    taken = np.array(sizes)
    # Each draw lands on a violating post with probability R_h (its share of the stratum's views).
    found = rng.binomial(taken, violating)
    weights = stratum_views / stratum_views.sum(axis=1, keepdims=True)
    low, high = summed_limits(found, taken, weights, draws=draws, rng=rng)
    truth = (weights * violating).sum(axis=1)
    point = (weights * found / taken).sum(axis=1)
    error = point - truth
    return ViewCoverage(
        covered=float(np.mean((low <= truth) & (truth <= high))),
        mean_error=float(error.mean()),
        error_se=float(error.std(ddof=1) / np.sqrt(len(error))),
        cc_mean_error=float(np.mean(weights[:, 0] - truth)),
    )


def simulate_cells(reps: int, rng: np.random.Generator, draws: int, varying: bool) -> float:
    """Coverage of the model-based per-cell intervals over 30 day-cells of 3,334 posts (Table 6).

    Cell prevalence is U(0.4%, 2%); the classifier has tpr 0.8 and fpr 1% in every cell, or,
    with ``varying``, tpr U(0.6, 0.95) and fpr U(0.5%, 1.5%) per cell. One pooled two-stratum
    review of 400 posts per replication.
    """
    cells, per = 30, 3334
    shape = (reps, cells)
    prevalence = rng.uniform(0.004, 0.02, shape)
    tpr = rng.uniform(0.6, 0.95, shape) if varying else np.full(shape, TPR)
    fpr = rng.uniform(0.005, 0.015, shape) if varying else np.full(shape, 0.01)
    pos = rng.binomial(per, prevalence)
    pos_flagged = rng.binomial(pos, tpr)
    flagged = pos_flagged + rng.binomial(per - pos, fpr)
    covered = 0
    planning = default_planning_values(["flagged", "unflagged"])
    for r in range(reps):
        size = np.array([flagged[r].sum(), per * cells - flagged[r].sum()])
        found_in = np.array([pos_flagged[r].sum(), (pos[r] - pos_flagged[r]).sum()])
        plan = [PlannedStratum(k, int(s), planning[k]) for k, s in zip(planning, size, strict=True)]
        taken = np.array(list(neyman_allocation(plan, 400).values()))
        found = rng.hypergeometric(found_in, size - found_in, taken)
        strata = [
            StratumSample(k, int(s), int(t), int(x))
            for k, s, t, x in zip(planning, size, taken, found, strict=True)
        ]
        counts = [CellCounts(str(d), per, int(flagged[r, d])) for d in range(cells)]
        estimates = cell_estimates(counts, strata, seed=rng, draws=draws)
        for d in range(cells):
            e = estimates[str(d)]
            covered += e.ci_low <= pos[r, d] / per <= e.ci_high
    return covered / (reps * cells)
