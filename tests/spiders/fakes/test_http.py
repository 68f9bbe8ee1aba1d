"""The HTTP base every fake server shares."""

from __future__ import annotations

from spiders.fakes.http import most_in_window


def test_most_in_window_counts_the_busiest_half_open_window() -> None:
    assert most_in_window([], 1.0) == 0
    assert most_in_window([0.0, 0.5, 0.99, 1.0, 1.5], 1.0) == 3  # [0, 1) and [0.5, 1.5)
    assert most_in_window([2.0, 0.0, 1.0], 1.0) == 1  # unsorted input; 1.0 is outside [0, 1)
