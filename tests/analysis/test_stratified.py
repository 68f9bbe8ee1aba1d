"""The stratified estimator and its hybrid interval on the §10.4 worked example, and its properties."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.estimate import Estimate, upper_bound_only
from analysis.hybrid import summed_limits
from analysis.intervals import wilson_interval
from analysis.stratified import (
    NAIVE_COLUMNS,
    StratumSample,
    naive_columns,
    naive_estimate,
    stratified_estimate,
    stratified_point,
    stratified_wald_se,
)
from crawler.errors import InputError

# §10.4: N_F = 1,400, N_U = 98,600; 30 of 80 flagged and 1 of 320 unflagged reviews violating.
WORKED = [
    StratumSample("flagged", 1_400, 80, 30),
    StratumSample("unflagged", 98_600, 320, 1),
]
# §10.4 used 400,000 draws; its limits carry a Monte Carlo tolerance of about ±0.0001.
MANY = 400_000


def test_worked_point_and_wald_diagnostic() -> None:
    assert stratified_point(WORKED) == pytest.approx(0.00833125, abs=1e-10)
    assert stratified_wald_se(WORKED) == pytest.approx(0.0031641, abs=1e-7)


def test_worked_hybrid_interval() -> None:
    est = stratified_estimate(WORKED, seed=1, draws=MANY)
    assert est.method == "stratified-hybrid"
    assert est.prevalence == pytest.approx(0.00833125, abs=1e-10)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.00462, 0.01960), abs=1e-4)
    assert (est.positives, est.reviewed) == (31, 400)
    assert est.wald_se == pytest.approx(0.0031641, abs=1e-7)
    assert not est.upper_bound_only


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [("jeffreys", "jeffreys", (0.00517, 0.01960)), ("melded", "melded", (0.00462, 0.02252))],
)
def test_worked_jeffreys_only_and_melded_only_intervals(
    lower: str, upper: str, expected: tuple[float, float]
) -> None:
    low, high = summed_limits(
        [30, 1],
        [80, 320],
        [0.014, 0.986],
        population=[1_400, 98_600],
        draws=MANY,
        rng=np.random.default_rng(2),
        lower=lower,  # type: ignore[arg-type]
        upper=upper,  # type: ignore[arg-type]
    )
    assert (float(low), float(high)) == pytest.approx(expected, abs=1e-4)


def test_same_seed_same_interval_other_seed_other_draws() -> None:
    a = stratified_estimate(WORKED, seed=7)
    assert stratified_estimate(WORKED, seed=7) == a
    b = stratified_estimate(WORKED, seed=8)
    assert (b.ci_low, b.ci_high) != (a.ci_low, a.ci_high)
    # With the report's 10,000 draws the limits move by a few percent between seeds.
    assert (b.ci_low, b.ci_high) == pytest.approx((a.ci_low, a.ci_high), rel=0.1)


def test_a_stratum_reviewed_in_full_adds_no_width() -> None:
    unflagged = StratumSample("unflagged", 98_600, 320, 1)
    censused = stratified_estimate(
        [StratumSample("flagged", 1_400, 1_400, 525), unflagged], seed=3, draws=MANY
    )
    # The same design with no violating flagged post: the census only shifts the limits.
    empty = stratified_estimate(
        [StratumSample("flagged", 1_400, 1_400, 0), unflagged], seed=4, draws=MANY
    )
    sampled = stratified_estimate(
        [StratumSample("flagged", 1_400, 80, 30), unflagged], seed=5, draws=MANY
    )
    assert censused.ci_low - empty.ci_low == pytest.approx(525 / 100_000, abs=2e-5)
    assert censused.ci_high - empty.ci_high == pytest.approx(525 / 100_000, abs=2e-4)
    width = censused.ci_high - censused.ci_low
    # The unflagged stratum dominates the width (§6.2), but sampling the flagged one adds some.
    assert width < sampled.ci_high - sampled.ci_low - 5e-4


def test_a_census_collapses_the_interval_to_the_true_prevalence() -> None:
    census = [StratumSample("flagged", 1_400, 1_400, 500), StratumSample("unflagged", 600, 600, 3)]
    est = stratified_estimate(census, seed=4)
    assert est.prevalence == est.ci_low == est.ci_high == pytest.approx(503 / 2_000)


def test_one_more_positive_never_lowers_the_estimate() -> None:
    for flagged_x in range(0, 80):
        for unflagged_x in (0, 1, 5):
            base = [
                StratumSample("flagged", 1_400, 80, flagged_x),
                StratumSample("unflagged", 98_600, 320, unflagged_x),
            ]
            more = [
                StratumSample("flagged", 1_400, 80, flagged_x + 1),
                StratumSample("unflagged", 98_600, 320, unflagged_x),
            ]
            assert stratified_point(more) > stratified_point(base)


def test_zero_positives_in_a_stratum_still_widens_the_upper_limit() -> None:
    # The Wald variance of a stratum with no positives is 0; the hybrid interval is not fooled.
    strata = [StratumSample("flagged", 1_400, 80, 30), StratumSample("unflagged", 98_600, 320, 0)]
    est = stratified_estimate(strata, seed=5)
    assert est.ci_high > est.prevalence + 0.005


def test_publication_rule_upper_bound_only_below_five_positives() -> None:
    few = stratified_estimate(
        [StratumSample("flagged", 1_400, 80, 3), StratumSample("unflagged", 98_600, 320, 1)]
    )
    assert few.positives == 4 and few.upper_bound_only
    assert few.published() == f"≤ {few.ci_high * 100:.2f}%"
    enough = stratified_estimate(WORKED, seed=1)
    assert not enough.upper_bound_only
    assert enough.published() == (
        f"0.83% (95% CI {enough.ci_low * 100:.2f}-{enough.ci_high * 100:.2f}%)"
    )
    assert [upper_bound_only(k) for k in (0, 4, 5, 6)] == [True, True, False, False]


def test_naive_estimate_is_the_flag_rate_with_wilson() -> None:
    est = naive_estimate(1_400, 100_000)
    assert est.method == "naive-wilson"
    assert est.prevalence == 0.014
    assert est.reviewed == 0 and est.positives == 1_400
    assert "not a prevalence" in est.note
    # The interval is about the flag rate: ±0.07 points around 1.4%, nowhere near 0.83%.
    assert est.ci_low > 0.0132 and est.ci_high < 0.0148


def test_naive_columns_are_the_naive_estimate_and_whole_interval_without_posts() -> None:
    row = naive_columns(3, 12)
    assert list(row) == list(NAIVE_COLUMNS)
    assert row["prevalence"] == 0.25 and row["method"] == "naive-wilson"
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(3, 12))
    assert naive_columns(0, 0) == {
        "prevalence": None,
        "ci_low": 0.0,
        "ci_high": 1.0,
        "method": "naive-wilson",
    }


def test_simulated_limits_are_widened_to_contain_the_point() -> None:
    est = Estimate.simulated(0.2, 0.21, 0.19, method="m", positives=9, reviewed=9, confidence=0.95)
    assert (est.prevalence, est.ci_low, est.ci_high) == (0.2, 0.2, 0.2)
    assert est.publishable() == (0.2, 0.2, 0.2)
    few = Estimate.simulated(0.01, 0.0, 0.05, method="m", positives=2, reviewed=50, confidence=0.95)
    assert few.publishable() == (None, None, 0.05)


def test_estimate_is_frozen() -> None:
    est = naive_estimate(3, 100)
    assert isinstance(est, Estimate)
    with pytest.raises(AttributeError):
        est.prevalence = 0.5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("s", 100, 101, 0), "reviewed 101 > population 100"),
        (("s", 100, 10, 11), "positives 11 > reviewed 10"),
        (("s", -1, 0, 0), "not a count"),
        (("s", 10, 2.5, 0), "not a count"),
    ],
)
def test_impossible_strata_are_input_errors(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        StratumSample(*args)  # type: ignore[arg-type]


def test_a_stratum_with_posts_but_no_reviews_is_an_input_error() -> None:
    with pytest.raises(InputError, match="none reviewed"):
        stratified_estimate(
            [StratumSample("flagged", 1_400, 80, 30), StratumSample("unflagged", 98_600, 0, 0)]
        )


def test_an_empty_stratum_is_ignored() -> None:
    strata = [*WORKED, StratumSample("borderline", 0, 0, 0)]
    assert stratified_point(strata) == stratified_point(WORKED)


def test_monte_carlo_settings_are_checked() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="too few"):
        summed_limits([1], [10], [1.0], draws=10, rng=rng)
    with pytest.raises(InputError, match="shapes differ"):
        summed_limits([1, 2], [10], [1.0], rng=rng)
    with pytest.raises(InputError, match="positives <= reviewed <= population"):
        summed_limits([1], [10], [1.0], population=[5], rng=rng)


def test_batched_limits_have_the_batch_shape() -> None:
    x = np.array([[[30, 1]] * 3] * 2)
    low, high = summed_limits(
        x,
        np.full_like(x, 80) * [1, 4],
        np.broadcast_to([0.014, 0.986], x.shape),
        population=np.broadcast_to([1_400, 98_600], x.shape),
        rng=np.random.default_rng(0),
        draws=20_000,
    )
    assert low.shape == high.shape == (2, 3)
    assert np.allclose(low, 0.00462, atol=3e-4) and np.allclose(high, 0.0196, atol=1.5e-3)
