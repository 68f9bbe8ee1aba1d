"""Agreement between reviewers on double-labelled items: Krippendorff's α (nominal), PA/NA, AC1 (§10)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crawler.errors import InputError

__all__ = [
    "PairCounts",
    "gwet_ac1",
    "krippendorff_alpha_nominal",
    "pair_counts",
    "specific_agreement",
]


def krippendorff_alpha_nominal(units: Mapping[Any, Sequence[Hashable]]) -> float:
    """Krippendorff's α for nominal labels: 1 - D_o/D_e from the coincidence matrix.

    ``units`` maps each item to the labels its coders gave (any number of coders, missing
    labels simply absent; ``None`` counts as missing). Items with fewer than two labels
    cannot be paired and are ignored. Returns NaN when α is undefined: no pairable items,
    or every pairable label the same (no variation to disagree about).
    """
    # o[c, k]: each ordered pair of labels within an item adds 1/(m_u - 1) (Krippendorff 2011).
    coincidence: defaultdict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for labels in units.values():
        values = [label for label in labels if label is not None]
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                coincidence[(c, k)] += pairs / (m - 1)
    marginals: defaultdict[Hashable, float] = defaultdict(float)
    for (c, _), value in coincidence.items():
        marginals[c] += value
    n = sum(marginals.values())
    if n <= 1:
        return math.nan
    observed = sum(value for (c, k), value in coincidence.items() if c != k)
    expected = (n * n - sum(v * v for v in marginals.values())) / (n - 1)
    if expected == 0:
        return math.nan
    return 1.0 - observed / expected


# The review app's labels ("yes"/"no", storage.review) and plain booleans both work.
_POSITIVE: dict[object, bool] = {True: True, "yes": True, False: False, "no": False}


def _positive(label: object) -> bool:
    try:
        return _POSITIVE[label]
    except (KeyError, TypeError):
        raise InputError(
            f"label {label!r} is neither yes nor no (leave unsure or missing labels out "
            "of the pairs)"
        ) from None


@dataclass(frozen=True, slots=True)
class PairCounts:
    """A 2x2 table of two reviewers' yes/no labels: a both yes, b and c one each, d both no."""

    both_positive: int
    first_only: int
    second_only: int
    both_negative: int

    @property
    def total(self) -> int:
        return self.both_positive + self.first_only + self.second_only + self.both_negative


def pair_counts(pairs: Iterable[tuple[object, object]]) -> PairCounts:
    """Count (first reviewer, second reviewer) label pairs; labels are yes/no or True/False."""
    tally = Counter((_positive(a), _positive(b)) for a, b in pairs)
    return PairCounts(
        both_positive=tally[(True, True)],
        first_only=tally[(True, False)],
        second_only=tally[(False, True)],
        both_negative=tally[(False, False)],
    )


def specific_agreement(pairs: Iterable[tuple[object, object]]) -> tuple[float, float]:
    """(positive agreement 2a/(2a+b+c), negative agreement 2d/(2d+b+c)); NaN where undefined.

    Labels are ``"yes"``/``"no"`` or booleans. With a class at 1% these say what κ hides:
    whether reviewers agree on the rare positives (Cicchetti & Feinstein 1990).
    """
    t = pair_counts(pairs)
    a, b, c, d = t.both_positive, t.first_only, t.second_only, t.both_negative
    positive = 2 * a / (2 * a + b + c) if 2 * a + b + c else math.nan
    negative = 2 * d / (2 * d + b + c) if 2 * d + b + c else math.nan
    return positive, negative


def gwet_ac1(pairs: Iterable[tuple[object, object]]) -> float:
    """Gwet's AC1 for two reviewers and two classes: a sensitivity check beside α (§10.2)."""
    t = pair_counts(pairs)
    if t.total == 0:
        return math.nan
    observed = (t.both_positive + t.both_negative) / t.total
    positive_share = (2 * t.both_positive + t.first_only + t.second_only) / (2 * t.total)
    chance = 2 * positive_share * (1 - positive_share)
    return (observed - chance) / (1 - chance)
