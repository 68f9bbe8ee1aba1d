"""Krippendorff's α (nominal) against hand-computed and published values; PA, NA and AC1."""

from __future__ import annotations

import math

import pytest

from analysis.agreement import gwet_ac1, krippendorff_alpha_nominal, specific_agreement
from crawler.errors import InputError

# Two reviewers, yes/no; the last item has one label only and cannot be paired.
SMALL = {1: ["yes", "yes"], 2: ["yes", "no"], 3: ["no", "no"], 4: ["no", "no"], 5: ["no"]}


def test_alpha_by_hand_two_coders() -> None:
    # Coincidences: o_yy = 2, o_yn = o_ny = 1, o_nn = 4; n_y = 3, n_n = 5, n = 8.
    # α = 1 - (n - 1)·(o_yn + o_ny) / (n² - n_y² - n_n²) = 1 - 7·2/30 = 8/15.
    assert krippendorff_alpha_nominal(SMALL) == pytest.approx(8 / 15, rel=1e-12)


def test_alpha_by_hand_three_coders() -> None:
    # Unit (a, a, b) adds 1/(m-1) = 1/2 per ordered pair: o_aa = 1, o_ab = o_ba = 1;
    # unit (b, b) adds o_bb = 2. n_a = 2, n_b = 3, n = 5: α = 1 - 4·2/(25 - 4 - 9) = 1/3.
    assert krippendorff_alpha_nominal({"u": ["a", "a", "b"], "v": ["b", "b"]}) == pytest.approx(
        1 / 3, rel=1e-12
    )


def test_alpha_matches_krippendorffs_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # missing values; nominal α = 0.743.
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = {u: [row[u] for row in observers] for u in range(12)}
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_alpha_matches_the_wikipedia_example() -> None:
    # The computational example of the Wikipedia article: 3 coders, 15 units; nominal α = 0.691.
    rows = [
        "* * * * * 3 4 1 2 1 1 3 3 * 3",
        "1 * 2 1 3 3 4 3 * * * * * * *",
        "* * 2 1 3 4 4 * 2 1 1 3 3 * 4",
    ]
    table = [[None if v == "*" else int(v) for v in row.split()] for row in rows]
    units = {u: [row[u] for row in table] for u in range(15)}
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.691, abs=5e-4)


def test_alpha_edge_cases() -> None:
    assert krippendorff_alpha_nominal({1: ["yes", "yes"], 2: ["no", "no"]}) == 1.0
    assert math.isnan(krippendorff_alpha_nominal({1: ["no", "no"], 2: ["no", "no"]}))
    assert math.isnan(krippendorff_alpha_nominal({1: ["no"]}))
    assert math.isnan(krippendorff_alpha_nominal({}))


def test_specific_agreement_and_ac1_by_hand() -> None:
    pairs = [(labels[0], labels[1]) for labels in SMALL.values() if len(labels) == 2]
    # a = 1 both yes, b = 1 yes/no, c = 0, d = 2 both no.
    positive, negative = specific_agreement(pairs)
    assert positive == pytest.approx(2 / 3)
    assert negative == pytest.approx(4 / 5)
    # AC1: p_o = 3/4, π = 3/8, p_e = 2π(1-π) = 15/32; (24/32 - 15/32) / (17/32) = 9/17.
    assert gwet_ac1(pairs) == pytest.approx(9 / 17)
    assert specific_agreement([(True, True), (False, False)]) == (1.0, 1.0)


def test_rare_class_paradox_is_visible_in_positive_agreement() -> None:
    # 97% raw agreement, all of it on negatives: α says "no reliability" and so does PA.
    pairs = [("no", "no")] * 97 + [("yes", "no")] * 2 + [("no", "yes")]
    units = dict(enumerate([list(pair) for pair in pairs]))
    assert krippendorff_alpha_nominal(units) < 0.05
    positive, negative = specific_agreement(pairs)
    assert positive == 0.0 and negative > 0.98


def test_undefined_agreement_is_nan() -> None:
    positive, negative = specific_agreement([("no", "no")])
    assert math.isnan(positive) and negative == 1.0
    assert math.isnan(gwet_ac1([]))


def test_unsure_labels_are_input_errors() -> None:
    with pytest.raises(InputError, match="'unsure' is neither yes nor no"):
        specific_agreement([("yes", "unsure")])
