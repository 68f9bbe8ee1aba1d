"""The view sample: drawing proportional to views and the view-weighted estimate (§9.2, §10.4)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from analysis.allocation import pps_sample
from analysis.views import ViewStratumSample, view_weighted_estimate
from crawler.errors import InputError

# §10.4: V_F/V = 0.05, V_U/V = 0.95; 28 of 80 and 2 of 320 draws landed on violating posts.
WORKED = [
    ViewStratumSample("flagged", 5_000.0, 80, 28),
    ViewStratumSample("unflagged", 95_000.0, 320, 2),
]


def test_worked_view_weighted_estimate() -> None:
    est = view_weighted_estimate(WORKED, seed=1, draws=400_000)
    assert est.method == "view-hybrid"
    assert est.prevalence == pytest.approx(0.0234375, abs=1e-10)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.0154, 0.0374), abs=1.5e-4)
    assert (est.positives, est.reviewed) == (30, 400)


def test_view_estimate_has_no_finite_population_term() -> None:
    # Drawing with replacement: even m_h = V_h draws leave the stratum uncertain.
    est = view_weighted_estimate([ViewStratumSample("only", 100.0, 100, 10)], seed=2)
    assert est.ci_high - est.ci_low > 0.05


def test_pps_sample_draws_in_proportion_to_views() -> None:
    ids = ["a", "b", "c", "zero", "unknown"]
    views: list[float | None] = [100, 300, 600, 0, None]
    draws = pps_sample(ids, views, 20_000, np.random.default_rng(3))
    assert len(draws) == 20_000
    counts = Counter(post for post, _ in draws)
    assert set(counts) == {"a", "b", "c"}
    for post, share in (("a", 0.1), ("b", 0.3), ("c", 0.6)):
        assert counts[post] / 20_000 == pytest.approx(share, abs=0.015)
    probability = dict(draws)
    assert probability["c"] == pytest.approx(1 - 0.4**20_000)


def test_pps_inclusion_probability_for_a_small_sample() -> None:
    draws = pps_sample(list(range(1_000)), [1.0] * 1_000, 5, np.random.default_rng(4))
    assert len(draws) == 5
    assert all(p == pytest.approx(1 - (1 - 1 / 1_000) ** 5, rel=1e-12) for _, p in draws)


def test_pps_sample_is_reproducible_by_seed() -> None:
    ids, views = list(range(50)), [float(i % 7) for i in range(50)]
    first = pps_sample(ids, views, 30, np.random.default_rng(5))
    assert pps_sample(ids, views, 30, np.random.default_rng(5)) == first
    assert pps_sample(ids, views, 30, np.random.default_rng(6)) != first


def test_pps_sample_rejects_bad_views() -> None:
    with pytest.raises(InputError, match="views -3"):
        pps_sample([1, 2], [5, -3], 1, np.random.default_rng(0))
    with pytest.raises(InputError, match="no post in the stratum has views"):
        pps_sample([1, 2], [0, None], 1, np.random.default_rng(0))
    with pytest.raises(InputError, match="one per post"):
        pps_sample([1, 2], [5], 1, np.random.default_rng(0))
    assert pps_sample([1], [0], 0, np.random.default_rng(0)) == []


def test_a_view_stratum_without_draws_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no draws"):
        view_weighted_estimate([WORKED[0], ViewStratumSample("unflagged", 95_000.0, 0, 0)])
    with pytest.raises(InputError, match="positive_draws 3 > draws 2"):
        ViewStratumSample("x", 10.0, 2, 3)
