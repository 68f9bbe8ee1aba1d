"""The report's charts: one percentage formatter everywhere, each panel scaled to its data."""

from __future__ import annotations

from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from analysis import charts
from analysis.charts import Interval, PercentTicks, Point, Series


def _labels(fig: Figure, axis: str) -> list[list[tuple[float, str]]]:
    """(tick value, label) of each visible axes, as drawn."""
    FigureCanvasAgg(fig).draw()
    out = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        ticks = ax.get_yticks() if axis == "y" else ax.get_xticks()
        labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
        low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
        out.append(
            [
                (float(t), lab.get_text())
                for t, lab in zip(ticks, labels, strict=True)
                if low <= t <= high
            ]
        )
    return out


def _exact(pairs: list[tuple[float, str]]) -> None:
    """Every label is its tick written out exactly, as a percentage."""
    assert pairs
    for value, label in pairs:
        assert label.endswith("%"), label
        assert abs(float(label[:-1]) - value * 100) < 1e-9, (value, label)


def test_percent_ticks_show_as_many_decimals_as_the_steps_need() -> None:
    def labels(locs: list[float]) -> list[str]:
        f = PercentTicks()
        f.set_locs(locs)
        return [f(x) for x in locs]

    assert labels([0, 0.025, 0.05, 0.075, 0.1]) == ["0.0%", "2.5%", "5.0%", "7.5%", "10.0%"]
    assert labels([0, 0.05, 0.1]) == ["0%", "5%", "10%"]
    assert labels([0, 0.0025, 0.005]) == ["0.00%", "0.25%", "0.50%"]


def test_estimates_axis_labels_every_tick_exactly() -> None:
    # The chart: estimates up to 17.5%, ticks every 2.5 points were drawn "2%", "8%".
    intervals = [
        Interval("all platforms", "flag rate", 0.1, 0.07, 0.175),
        Interval("vk", "flag rate", 0.12, 0.025, 0.16),
    ]
    fig = charts.estimates_figure(intervals, title="t")
    (pairs,) = _labels(fig, "x")
    _exact(pairs)


def test_ticks_at_odd_halves_are_labelled_as_such() -> None:
    # The axis: ticks at 2.5 / 7.5 / 12.5 / 17.5% were labelled "2%", "8%", "12%", "18%".
    fig = Figure()
    ax = fig.subplots()
    charts._percent_axis(ax, 0.2)
    ax.yaxis.set_major_locator(FixedLocator([0.025, 0.075, 0.125, 0.175]))
    (pairs,) = _labels(fig, "y")
    assert [label for _, label in pairs] == ["2.5%", "7.5%", "12.5%", "17.5%"]


def _series(label: str, rates: list[tuple[float, float, float]]) -> Series:
    start = date(2025, 3, 3)
    return Series(
        label,
        [Point(start + timedelta(days=7 * i), r, lo, hi) for i, (r, lo, hi) in enumerate(rates)],
    )


def test_each_panel_is_scaled_to_its_own_data_with_the_interval_visible() -> None:
    low = _series("vk", [(0.02, 0.012, 0.031), (0.025, 0.016, 0.037), (0.018, 0.011, 0.029)])
    high = _series("web", [(0.4, 0.25, 0.57), (0.5, 0.33, 0.66)])
    fig = charts.rate_figure([low, high], title="t", ylabel="flagged posts")
    axes: list[Axes] = [ax for ax in fig.axes if ax.get_visible()]
    tops = [ax.get_ylim()[1] for ax in axes]
    assert 0.037 <= tops[0] <= 0.06  # the ~2% panel is not flattened by the other's 66%
    assert 0.66 <= tops[1] <= 1.0
    for pairs in _labels(fig, "y"):
        _exact(pairs)
