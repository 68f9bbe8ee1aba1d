"""Neyman allocation with floors and caps (§6.3), and the default planning values."""

from __future__ import annotations

import itertools

import pytest

from analysis.allocation import (
    PlannedStratum,
    default_floor,
    default_planning_values,
    neyman_allocation,
    planning_value_from_review,
)
from crawler.errors import InputError


def test_worked_neyman_allocation_without_floor() -> None:
    strata = [PlannedStratum("flagged", 1_395, 0.3), PlannedStratum("unflagged", 98_605, 0.001)]
    assert neyman_allocation(strata, 400, floor=0) == {"flagged": 68, "unflagged": 332}


def test_default_floor_keeps_a_fifth_with_two_strata() -> None:
    strata = [PlannedStratum("flagged", 1_395, 0.3), PlannedStratum("unflagged", 98_605, 0.001)]
    assert neyman_allocation(strata, 400) == {"flagged": 80, "unflagged": 320}
    assert default_floor(400, 2) == 80
    assert default_floor(400, 3) == 60
    assert default_floor(10, 8) == 1  # never more than an equal share


def test_cap_gives_the_excess_to_the_other_strata() -> None:
    strata = [
        PlannedStratum("flagged", 50, 0.5),
        PlannedStratum("borderline", 3_000, 0.02),
        PlannedStratum("unflagged", 98_605, 0.002),
    ]
    allocation = neyman_allocation(strata, 400)
    assert allocation["flagged"] == 50
    assert allocation["borderline"] == 60  # its Neyman share is below the 15% floor
    assert sum(allocation.values()) == 400


def test_fewer_posts_than_budget_reviews_everything() -> None:
    strata = [PlannedStratum("flagged", 50, 0.5), PlannedStratum("unflagged", 30, 0.01)]
    assert neyman_allocation(strata, 400) == {"flagged": 50, "unflagged": 30}


def test_view_sample_is_not_capped_by_size() -> None:
    strata = [PlannedStratum("flagged", 40, 0.5), PlannedStratum("unflagged", 60, 0.005)]
    allocation = neyman_allocation(strata, 400, capped=False)
    assert sum(allocation.values()) == 400
    assert allocation["flagged"] > 40


def test_empty_stratum_gets_nothing() -> None:
    strata = [PlannedStratum("flagged", 0, 0.5), PlannedStratum("unflagged", 9_000, 0.005)]
    assert neyman_allocation(strata, 100) == {"flagged": 0, "unflagged": 100}


@pytest.mark.parametrize(
    ("sizes", "n"),
    list(
        itertools.product(
            [(1_395, 98_605), (10, 5_000, 95_000), (700, 300, 20), (5_000, 3_000, 92_000, 40)],
            [0, 7, 200, 400, 1_000],
        )
    ),
)
def test_allocation_properties(sizes: tuple[int, ...], n: int) -> None:
    planning = [0.5, 0.02, 0.002, 0.3][: len(sizes)]
    strata = [
        PlannedStratum(f"s{i}", size, p)
        for i, (size, p) in enumerate(zip(sizes, planning, strict=True))
    ]
    allocation = neyman_allocation(strata, n)
    assert sum(allocation.values()) == min(n, sum(sizes))
    floor = default_floor(n, len(sizes))
    for s in strata:
        assert 0 <= allocation[s.name] <= s.size
        assert allocation[s.name] >= min(floor, s.size)
    # Without floor the allocation is within one review of N_h·S_h / Σ N_k·S_k when uncapped.
    if len(sizes) == 2 and n <= min(sizes):
        free = neyman_allocation(strata, n, floor=0)
        weights = [s.size * (s.planning_p * (1 - s.planning_p)) ** 0.5 for s in strata]
        for s, w in zip(strata, weights, strict=True):
            assert abs(free[s.name] - n * w / sum(weights)) < 1


def test_default_planning_values() -> None:
    assert default_planning_values(["flagged", "unflagged"]) == {
        "flagged": 0.5,
        "unflagged": 0.005,
    }
    assert default_planning_values(["flagged", "borderline", "unflagged"]) == {
        "flagged": 0.5,
        "borderline": 0.02,
        "unflagged": 0.002,
    }
    with pytest.raises(InputError, match="unknown"):
        default_planning_values(["flagged", "low"])


def test_planning_value_from_last_review_is_never_zero() -> None:
    assert planning_value_from_review(0, 320) == pytest.approx(0.5 / 321)
    assert planning_value_from_review(30, 80) == pytest.approx(30.5 / 81)


@pytest.mark.parametrize(
    ("strata", "n", "message"),
    [
        ([PlannedStratum("a", 10, 1.5)], 5, "planning_p 1.5"),
        ([PlannedStratum("a", -1, 0.5)], 5, "not a count"),
        ([PlannedStratum("a", 10, 0.5), PlannedStratum("a", 10, 0.5)], 5, "names repeat"),
        ([], 5, "none given"),
        ([PlannedStratum("a", 10, 0.5)], -5, "not a count"),
    ],
)
def test_bad_plans_are_input_errors(strata: list[PlannedStratum], n: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        neyman_allocation(strata, n)
