"""Precision, recall, false-omission rate and Rogan-Gladen on the §10.4 worked example."""

from __future__ import annotations

import pytest

from analysis.classifier_error import classifier_error, design_weighted_rates, rogan_gladen
from analysis.intervals import jeffreys_interval
from analysis.stratified import StratumSample, stratified_point
from crawler.errors import InputError

WORKED = [
    StratumSample("flagged", 1_400, 80, 30),
    StratumSample("unflagged", 98_600, 320, 1),
]


def test_worked_precision_false_omission_and_recall() -> None:
    err = classifier_error(WORKED, seed=1, draws=400_000)
    assert err.precision.value == pytest.approx(0.375)
    assert err.false_omission_rate.value == pytest.approx(0.003125)
    assert err.true_positives == pytest.approx(525.0)
    assert err.false_negatives == pytest.approx(308.125)
    assert err.recall.value == pytest.approx(0.6302, abs=5e-5)
    assert err.recall_delta_se == pytest.approx(0.2350, abs=5e-5)
    assert (err.recall.ci_low, err.recall.ci_high) == pytest.approx((0.260, 0.941), abs=2e-3)
    assert err.false_positive_rate.value == pytest.approx(0.008824, abs=5e-7)
    # Precision is one stratum's share: its interval is the Jeffreys interval of 30/80.
    assert (err.precision.ci_low, err.precision.ci_high) == pytest.approx(
        jeffreys_interval(30, 80), abs=1e-3
    )


def test_design_weighted_rates_make_rogan_gladen_the_stratified_estimate() -> None:
    tpr, fpr = design_weighted_rates(WORKED)
    assert tpr == pytest.approx(0.6302, abs=5e-5)
    assert fpr == pytest.approx(0.008824, abs=5e-7)
    # §3: with rates from a flag-stratified review, RG is exactly W_F·p̂_F + W_U·p̂_U.
    assert rogan_gladen(0.014, tpr, fpr) == pytest.approx(stratified_point(WORKED), rel=1e-12)
    assert rogan_gladen(0.014, tpr, fpr) == pytest.approx(0.00833125, abs=1e-10)


def test_rogan_gladen_with_known_rates() -> None:
    assert rogan_gladen(0.014, 0.8, 0.01) == pytest.approx(0.0050633, abs=1e-7)
    # Clipped to [0, 1]: a flag rate below the false-positive rate means no violating posts.
    assert rogan_gladen(0.005, 0.8, 0.01) == 0.0
    assert rogan_gladen(0.95, 0.8, 0.01) == 1.0


def test_rogan_gladen_needs_a_classifier_better_than_chance() -> None:
    with pytest.raises(InputError, match="better than chance"):
        rogan_gladen(0.014, 0.01, 0.01)


def test_three_strata_pool_borderline_and_low_as_unflagged() -> None:
    strata = [
        StratumSample("flagged", 1_400, 80, 30),
        StratumSample("borderline", 4_930, 100, 2),
        StratumSample("low", 93_670, 220, 0, kind="unflagged"),
    ]
    err = classifier_error(strata, seed=2)
    assert err.false_negatives == pytest.approx(4_930 * 0.02)
    assert err.false_omission_rate.value == pytest.approx(4_930 * 0.02 / 98_600)
    assert err.recall.value == pytest.approx(525 / (525 + 98.6))
    # The low stratum found nothing, yet it still widens recall's interval downwards.
    assert err.recall.ci_low < 0.75


def test_a_flagged_only_review_cannot_measure_recall() -> None:
    with pytest.raises(InputError, match="no unflagged stratum"):
        classifier_error([StratumSample("flagged", 1_400, 80, 30)])


def test_an_unknown_kind_is_an_input_error() -> None:
    with pytest.raises(InputError, match="set kind"):
        classifier_error([StratumSample("flagged", 1_400, 80, 30), StratumSample("rest", 9, 9, 0)])


def test_recall_is_nan_when_no_violating_post_was_found() -> None:
    err = classifier_error(
        [StratumSample("flagged", 1_400, 80, 0), StratumSample("unflagged", 98_600, 320, 0)]
    )
    assert err.recall.value != err.recall.value
    assert 0.0 < err.recall.ci_low < err.recall.ci_high < 1.0
