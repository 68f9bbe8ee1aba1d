"""The §7.3 Monte Carlo interval for a weighted sum of stratum proportions, vectorised over samples."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.estimate import check_confidence
from crawler.errors import InputError

__all__ = ["DEFAULT_DRAWS", "Limit", "summed_limits"]

# §0.1: M = 10,000 draws per report.
DEFAULT_DRAWS = 10_000

# "melded": Clopper-Pearson-type Beta(x, n-x+1) below, Beta(x+1, n-x) above.
# "jeffreys": Beta(x+½, n-x+½) on either side.
Limit = Literal["melded", "jeffreys"]

# Batches are split so that one array of draws stays near this many elements (16 MB).
_CHUNK_ELEMENTS = 2_000_000


def _theta(
    rng: np.random.Generator,
    x: NDArray[np.int64],
    n: NDArray[np.int64],
    kind: Limit,
    side: Literal["low", "high"],
    draws: int,
) -> NDArray[np.float64]:
    """Draws of each stratum's proportion, shape x.shape + (draws,)."""
    shape = (*x.shape, draws)
    a = np.broadcast_to(x[..., None].astype(np.float64), shape)
    b = np.broadcast_to((n - x)[..., None].astype(np.float64), shape)
    if kind == "jeffreys":
        return rng.beta(a + 0.5, b + 0.5)
    if side == "low":
        # Beta(0, ·) is a point mass at 0: a stratum with no positives adds nothing below.
        theta = np.zeros(shape)
        live = a > 0
        theta[live] = rng.beta(a[live], b[live] + 1.0)
        return theta
    # Beta(·, 0) is a point mass at 1: a stratum whose every reviewed post is positive.
    theta = np.ones(shape)
    live = b > 0
    theta[live] = rng.beta(a[live] + 1.0, b[live])
    return theta


def _sums(
    rng: np.random.Generator,
    x: NDArray[np.int64],
    n: NDArray[np.int64],
    population: NDArray[np.int64] | None,
    weights: NDArray[np.float64],
    kind: Limit,
    side: Literal["low", "high"],
    draws: int,
) -> NDArray[np.float64]:
    theta = _theta(rng, x, n, kind, side, draws)
    if population is None:
        share = theta
    else:
        # The unreviewed remainder of the stratum is drawn as Binomial(N_h - n_h, θ): this is
        # the finite-population correction, so a stratum reviewed in full adds no width.
        rest = np.broadcast_to((population - n)[..., None], theta.shape)
        found = np.broadcast_to(x[..., None], theta.shape).astype(np.float64)
        live = (theta > 0) & (rest > 0)
        found[live] += rng.binomial(rest[live], theta[live])
        share = found / np.maximum(population, 1)[..., None]
    sums: NDArray[np.float64] = np.einsum("...hm,...h->...m", share, weights)
    return sums


def summed_limits(
    positives: ArrayLike,
    reviewed: ArrayLike,
    weights: ArrayLike,
    *,
    population: ArrayLike | None = None,
    confidence: float = 0.95,
    draws: int = DEFAULT_DRAWS,
    rng: np.random.Generator,
    lower: Limit = "melded",
    upper: Limit = "jeffreys",
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Limits of ``Σ_h w_h·p_h`` by simulation: the hybrid interval of §7.3 by default.

    Arrays have shape ``(..., H)``: any leading batch shape, H strata last; the limits come back
    with the batch shape. ``weights`` are ``N_h/N`` (or ``V_h/V`` for a view sample). With
    ``population`` (``N_h``) the unreviewed posts of each stratum are drawn as a binomial
    (finite population, §7.3); without it each stratum is an infinite binomial (§9.2).
    ``lower="melded", upper="jeffreys"`` is the recommended hybrid; the other combinations are
    the Jeffreys-only and melded-only variants that §7.3 compares it with.
    """
    level = check_confidence(confidence)
    if draws < 1_000:
        raise InputError(f"draws: {draws} is too few for a 95% quantile (use at least 1,000)")
    x = np.asarray(positives, dtype=np.int64)
    n = np.asarray(reviewed, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    big_n = None if population is None else np.asarray(population, dtype=np.int64)
    if x.ndim == 0 or x.shape != n.shape or x.shape != w.shape:
        raise InputError("positives, reviewed and weights: shapes differ (one value per stratum)")
    if big_n is not None and big_n.shape != x.shape:
        raise InputError("population: shape differs from positives (one value per stratum)")
    if np.any(x < 0) or np.any(x > n) or (big_n is not None and np.any(n > big_n)):
        raise InputError("counts: need 0 <= positives <= reviewed <= population in every stratum")
    batch_shape = x.shape[:-1]
    strata = x.shape[-1]
    fx, fn, fw = x.reshape(-1, strata), n.reshape(-1, strata), w.reshape(-1, strata)
    fpop = None if big_n is None else big_n.reshape(-1, strata)
    rows = fx.shape[0]
    low = np.empty(rows)
    high = np.empty(rows)
    tail = (1.0 - level) / 2.0
    step = max(1, _CHUNK_ELEMENTS // (strata * draws))
    for start in range(0, rows, step):
        part = slice(start, start + step)
        pop = None if fpop is None else fpop[part]
        lows = _sums(rng, fx[part], fn[part], pop, fw[part], lower, "low", draws)
        highs = _sums(rng, fx[part], fn[part], pop, fw[part], upper, "high", draws)
        low[part] = np.quantile(lows, tail, axis=-1)
        high[part] = np.quantile(highs, 1.0 - tail, axis=-1)
    return low.reshape(batch_shape), high.reshape(batch_shape)
