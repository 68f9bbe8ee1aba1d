"""Model-based per-cell figures: adjusted classify-and-count with pooled rates (§8)."""

from __future__ import annotations

import pytest

from analysis.cells import CellCounts, cell_estimates
from analysis.stratified import StratumSample, stratified_point
from crawler.errors import InputError

WORKED = [
    StratumSample("flagged", 1_400, 80, 30),
    StratumSample("unflagged", 98_600, 320, 1),
]


def test_a_cell_with_the_pooled_flag_rate_gets_the_stratified_estimate() -> None:
    # §3: with design-weighted rates RG(c) at the pooled flag rate c = N_F/N is P̂_st.
    cells = [CellCounts("vk/ru/day1", 5_000, 70), CellCounts("vk/ky/day1", 2_000, 60)]
    out = cell_estimates(cells, WORKED, seed=1)
    assert out["vk/ru/day1"].prevalence == pytest.approx(stratified_point(WORKED), rel=1e-12)
    # A higher flag rate means a higher model-based prevalence.
    assert out["vk/ky/day1"].prevalence > out["vk/ru/day1"].prevalence


def test_cell_figures_are_labelled_model_based() -> None:
    out = cell_estimates([CellCounts("c", 5_000, 70)], WORKED, seed=2)
    est = out["c"]
    assert est.method == "model-based"
    assert "same in every cell" in est.note
    assert est.ci_low <= est.prevalence <= est.ci_high
    # The pooled review is what the figure rests on.
    assert (est.positives, est.reviewed) == (31, 400)


def test_a_cell_flagged_below_the_false_positive_rate_is_zero() -> None:
    est = cell_estimates([CellCounts("quiet", 10_000, 20)], WORKED, seed=3)["quiet"]
    assert est.prevalence == 0.0 == est.ci_low
    # The model reads a flag rate below its false-positive floor as "none at all", however
    # unlikely: one reason these figures are labelled model-based.
    assert est.ci_high < 0.001


def test_small_cells_get_wider_intervals() -> None:
    out = cell_estimates([CellCounts("big", 50_000, 700), CellCounts("small", 500, 7)], WORKED)
    assert out["big"].prevalence == pytest.approx(out["small"].prevalence)
    big = out["big"].ci_high - out["big"].ci_low
    small = out["small"].ci_high - out["small"].ci_low
    assert small > big


def test_empty_cells_are_skipped_and_seeds_reproduce() -> None:
    cells = [CellCounts("a", 5_000, 70), CellCounts("empty", 0, 0)]
    first = cell_estimates(cells, WORKED, seed=4)
    assert set(first) == {"a"}
    assert cell_estimates(cells, WORKED, seed=4) == first


def test_no_violating_post_in_the_review_is_an_input_error() -> None:
    none_found = [
        StratumSample("flagged", 1_400, 80, 0),
        StratumSample("unflagged", 98_600, 320, 0),
    ]
    with pytest.raises(InputError, match="no violating post"):
        cell_estimates([CellCounts("a", 5_000, 70)], none_found)


def test_impossible_cell_is_an_input_error() -> None:
    with pytest.raises(InputError, match="flagged 9 > posts 5"):
        CellCounts("a", 5, 9)
