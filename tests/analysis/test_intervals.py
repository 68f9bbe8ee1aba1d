"""Single-proportion intervals against published values (§7.1, §10.4)."""

from __future__ import annotations

import pytest

from analysis.intervals import (
    agresti_coull_interval,
    clopper_pearson_interval,
    clopper_pearson_upper,
    jeffreys_interval,
    wald_interval,
    wilson_interval,
    z_value,
)
from crawler.errors import InputError


def test_z_for_95_percent() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [(0, 100, 0.0, 0.036993), (10, 100, 0.055229, 0.174366)],
)
def test_wilson_matches_the_worked_values(x: int, n: int, low: float, high: float) -> None:
    assert wilson_interval(x, n) == pytest.approx((low, high), abs=1e-6)


def test_agresti_coull_matches_the_worked_value() -> None:
    assert agresti_coull_interval(10, 100) == pytest.approx((0.053485, 0.176110), abs=1e-6)


def test_clopper_pearson_has_closed_forms_at_the_boundaries() -> None:
    # x = 0: the upper limit solves (1 - p)^n = α/2; one-sided it solves (1 - p)^n = α.
    low, high = clopper_pearson_interval(0, 100)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 100), rel=1e-9)
    assert clopper_pearson_upper(0, 100) == pytest.approx(1 - 0.05 ** (1 / 100), rel=1e-9)
    # ...which is close to the rule of three, 3/n.
    assert clopper_pearson_upper(0, 300) == pytest.approx(3 / 300, rel=0.01)
    assert clopper_pearson_interval(100, 100)[1] == 1.0


def test_clopper_pearson_is_wider_than_wilson() -> None:
    cp = clopper_pearson_interval(10, 100)
    wilson = wilson_interval(10, 100)
    assert cp[0] < wilson[0] and cp[1] > wilson[1]


def test_jeffreys_sets_the_lower_limit_to_zero_without_positives() -> None:
    assert jeffreys_interval(0, 100)[0] == 0.0
    assert jeffreys_interval(100, 100)[1] == 1.0
    low, high = jeffreys_interval(10, 100)
    assert 0.05 < low < 0.06 and 0.16 < high < 0.18


def test_wald_is_estimate_plus_minus_z_se() -> None:
    low, high = wald_interval(0.00833125, 0.0031641)
    assert (low, high) == pytest.approx((0.00213, 0.01453), abs=1e-5)


@pytest.mark.parametrize(("x", "n"), [(5, 4), (-1, 10), (0, 0)])
def test_impossible_counts_are_input_errors(x: int, n: int) -> None:
    with pytest.raises(InputError):
        wilson_interval(x, n)


def test_confidence_outside_zero_one_is_an_input_error() -> None:
    with pytest.raises(InputError, match="confidence"):
        wilson_interval(1, 10, confidence=95)
