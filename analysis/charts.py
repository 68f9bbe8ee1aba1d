"""The report's charts as PNG bytes: matplotlib without pyplot, fixed size and DPI, same bytes each run.

Every percentage axis uses one formatter (`PercentTicks`): each tick with as many decimals as
the ticks need to differ and be exact (2.5%, never "2%").
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # never a window: reports are written by servers and CI

from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator
from numpy.typing import NDArray

__all__ = [
    "COLOURS",
    "Bar",
    "Interval",
    "PercentTicks",
    "Point",
    "Series",
    "coverage_chart",
    "estimates_chart",
    "estimates_figure",
    "rate_figure",
    "rate_panels",
    "save",
    "top_bars",
]

# Okabe–Ito: distinguishable with the common colour-vision deficiencies and in greyscale.
COLOURS = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "grey": "#999999",
    "black": "#000000",
}
STATUS_COLOURS = {
    "ok": COLOURS["blue"],
    "inaccessible": COLOURS["vermillion"],
    "rate_limited": COLOURS["orange"],
    "error": COLOURS["purple"],
}
DPI = 110
WIDTH = 9.0  # inches: 990 pixels, legible at 100% zoom in a 1,000-pixel column
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib, covers Cyrillic target names
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,  # grid lines behind bars, not across them
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "svg.hashsalt": "vemeter",
}


@dataclass(frozen=True, slots=True)
class Point:
    """One time bin of a rate series: the estimate and its 95% interval, as fractions."""

    start: date
    rate: float
    low: float
    high: float

    @classmethod
    def gap(cls, start: date) -> Point:
        """A break in the line: a bin that is not plotted."""
        return cls(start, math.nan, math.nan, math.nan)

    @property
    def is_gap(self) -> bool:
        return math.isnan(self.rate)


@dataclass(frozen=True, slots=True)
class Series:
    """One panel of a small-multiples chart: a name, its posts, and a rate per time bin."""

    label: str
    points: list[Point]
    model: list[Point] = field(default_factory=list)  # model-based reviewed figures, if any
    # (start, end) of bins not plotted because a count in them is suppressed
    hidden: list[tuple[date, date]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar; a None value is a suppressed count, drawn as text, not as a bar."""

    label: str
    value: int | None
    mark: str = ""  # written instead of a suppressed value, e.g. "<10 (suppressed)"


@dataclass(frozen=True, slots=True)
class Interval:
    """One estimate drawn as a point with its 95% interval; upper_only draws "≤ high"."""

    domain: str
    method: str
    rate: float | None
    low: float
    high: float
    upper_only: bool = False


def _rc() -> AbstractContextManager[Any]:
    """The report's style for one figure, without touching matplotlib's global settings."""
    return matplotlib.rc_context(STYLE)  # type: ignore[arg-type]  # the stubs want Literal keys


def _figure(height: float) -> Figure:
    with _rc():
        fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    return fig


def save(fig: Figure, path: Path | None = None) -> bytes:
    """A PNG without the matplotlib version stamp, so equal data gives equal bytes; written to
    path too when one is given."""
    buffer = io.BytesIO()
    with _rc():
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    data = buffer.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


class PercentTicks(Formatter):
    """Fractions as percentages, every tick with the fewest decimals that show it exactly.

    The ticks of one axis share their decimals: 0%, 2.5%, 5.0%, 7.5% (MaxNLocator puts ticks
    on steps of 1, 2, 2.5 or 5 times a power of ten, so at most 4 decimals are ever needed).
    """

    def __init__(self) -> None:
        self.decimals = 0

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        self.decimals = decimals_for([float(v) for v in locs])

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x * 100:.{self.decimals}f}%"


def decimals_for(fractions: Sequence[float]) -> int:
    """The fewest decimals (0-4) with which every value, as a percentage, is written exactly."""
    for decimals in range(5):
        if all(abs(round(v * 100, decimals) - v * 100) < 1e-9 for v in fractions):
            return decimals
    return 4


def percent(x: float) -> str:
    """A single fraction as a percentage for a label: 2 significant decimals below 10%."""
    return f"{x * 100:.2f}%" if x < 0.1 else f"{x * 100:.1f}%"


def _percent_axis(ax: Axes, top: float, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    if axis == "y":
        ax.set_ylim(0, top)
    else:
        ax.set_xlim(0, top)
    target.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10], min_n_ticks=3))
    target.set_major_formatter(PercentTicks())


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    # Every label carries its own month and year: no offset text that names the wrong year.
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
            locator,
            formats=["%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
            zero_formats=["", "%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M"],
            show_offset=False,
        )
    )


def _axis_top(series: Series) -> float:
    """A panel's own y-limit: its highest interval end with a margin, so every band shows.

    Bins too small to publish are not in the series (suppressed), so they cannot flatten it.
    """
    highs = [p.high for p in (*series.points, *series.model) if not p.is_gap]
    if not highs:
        return 0.01
    return min(1.0, _nice(max(max(highs) * 1.08, 0.001)))


def _nice(value: float) -> float:
    """The next round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) at or above value."""
    exp = math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * 10**exp >= value:
            return float(step * 10**exp)
    return float(10 ** (exp + 1))


def rate_panels(
    series: Sequence[Series],
    path: Path | None = None,
    *,
    title: str,
    ylabel: str,
    model_label: str = "",
) -> bytes:
    """Small multiples, one panel per series, each on its own y-axis: a line with its band."""
    return save(rate_figure(series, title=title, ylabel=ylabel, model_label=model_label), path)


def rate_figure(
    series: Sequence[Series], *, title: str, ylabel: str, model_label: str = ""
) -> Figure:
    """The figure of rate_panels (tests read its axes)."""
    columns = 2 if len(series) > 1 else 1
    rows = max(1, math.ceil(len(series) / columns))
    fig = _figure(height=1.2 + 2.3 * rows)
    with _rc():
        axes = fig.subplots(rows, columns, sharex=True, sharey=False, squeeze=False)
        for ax, s in zip(axes.flat, series, strict=False):
            _rate_panel(ax, s, model_label)
            _percent_axis(ax, _axis_top(s))
            _date_axis(ax)
        for ax in list(axes.flat)[len(series) :]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel(ylabel)
        fig.suptitle(_wrap(title, 80), fontsize=13, fontweight="bold")
        legend: dict[str, Any] = {}
        for ax in axes.flat:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
        fig.legend(
            list(legend.values()), list(legend), loc="outside lower center",
            ncols=min(len(legend), 3), frameon=False,
        )  # fmt: skip
    return fig


def _days(points: Sequence[Point]) -> NDArray[np.datetime64]:
    return np.array([p.start for p in points], dtype="datetime64[D]")


def _rate_panel(ax: Axes, s: Series, model_label: str) -> None:
    blue, red = COLOURS["blue"], COLOURS["vermillion"]
    days = _days(s.points)
    # The band is a light tint of the line's colour, drawn first, so the line stays on top.
    ax.fill_between(
        days, [p.low for p in s.points], [p.high for p in s.points],
        color=blue, alpha=0.18, linewidth=0, label="95% Wilson interval",
    )  # fmt: skip
    marker = "o" if len(days) <= 40 else None
    ax.plot(days, [p.rate for p in s.points], color=blue, lw=1.8, marker=marker, ms=3.5,
            label="flag rate")  # fmt: skip
    _whiskers(ax, s.points, blue)
    if s.model:
        mdays = _days(s.model)
        # Hatched, not filled: two overlapping tints would be hard to tell apart.
        ax.fill_between(
            mdays, [p.low for p in s.model], [p.high for p in s.model],
            facecolor="none", edgecolor=red, hatch="///", alpha=0.45, linewidth=0,
            label=f"{model_label}, 95% interval",
        )  # fmt: skip
        ax.plot(mdays, [p.rate for p in s.model], color=red, lw=1.8, ls="--", marker="s",
                ms=3.5, label=model_label)  # fmt: skip
        _whiskers(ax, s.model, red)
    for i, (start, end) in enumerate(s.hidden):
        # Centred on the bin's start, where its point would be.
        middle = mdates.date2num(start)  # type: ignore[no-untyped-call]
        half = (mdates.date2num(end) - middle) / 2  # type: ignore[no-untyped-call]
        ax.axvspan(
            middle - half, middle + half, color=COLOURS["grey"], alpha=0.15, linewidth=0,
            label="not published (small counts)" if i == 0 else None,
        )  # fmt: skip
    ax.set_title(s.label, loc="left", fontsize=11)


def _whiskers(ax: Axes, points: Sequence[Point], colour: str) -> None:
    """Each point's interval as a thin vertical line: visible also where a bin stands alone."""
    shown = [p for p in points if not p.is_gap]
    if shown:
        ax.vlines(
            _days(shown), [p.low for p in shown], [p.high for p in shown],
            color=colour, linewidth=1.0, alpha=0.7,
        )  # fmt: skip


def top_bars(
    bars: Sequence[Bar],
    path: Path | None = None,
    *,
    title: str,
    xlabel: str,
    suppressed_text: str,
) -> bytes:
    """Horizontal bars, largest first; suppressed counts are written out instead of drawn."""
    fig = _figure(height=1.3 + 0.36 * max(len(bars), 2))
    with _rc():
        ax = fig.subplots()
        ys = list(range(len(bars)))[::-1]
        shown = [b.value or 0 for b in bars]
        ax.barh(ys, shown, color=COLOURS["blue"], height=0.65)
        ax.set_yticks(ys, [_short(b.label) for b in bars])
        top = max(shown, default=0) or 1
        ax.set_xlim(0, top * 1.15)
        for y, b in zip(ys, bars, strict=True):
            text = (b.mark or suppressed_text) if b.value is None else f"{b.value:,}"
            ax.text((b.value or 0) + top * 0.01, y, text, va="center", fontsize=10, color="#222222")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(xlabel)
        ax.set_title(_wrap(title, 72), loc="left", fontweight="bold")
    return save(fig, path)


def _wrap(title: str, width: int) -> str:
    """Titles longer than the figure is wide (at 12-13 pt bold) go onto a second line."""
    return textwrap.fill(title, width, break_long_words=False)


def _short(label: str, limit: int = 38) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def estimates_chart(
    intervals: Sequence[Interval], path: Path | None = None, *, title: str, note: str = ""
) -> bytes:
    """Each domain's estimates side by side, one colour and marker per method, 95% intervals."""
    return save(estimates_figure(intervals, title=title, note=note), path)


def estimates_figure(intervals: Sequence[Interval], *, title: str, note: str = "") -> Figure:
    """The figure of estimates_chart (tests read its axes)."""
    methods = list(dict.fromkeys(i.method for i in intervals))
    domains = list(dict.fromkeys(i.domain for i in intervals))
    palette = [COLOURS["blue"], COLOURS["vermillion"], COLOURS["green"], COLOURS["purple"]]
    markers = ["o", "s", "D", "^"]
    fig = _figure(height=1.9 + 0.55 * len(domains) * max(1, len(methods)) ** 0.5)
    with _rc():
        ax = fig.subplots()
        width = 0.6 / max(1, len(methods))
        top = max([i.high for i in intervals] + [0.001])
        for m, method in enumerate(methods):
            offset = (m - (len(methods) - 1) / 2) * width
            for i in intervals:
                if i.method != method:
                    continue
                y = len(domains) - 1 - domains.index(i.domain) - offset
                colour = palette[m % len(palette)]
                if i.upper_only or i.rate is None:
                    # Only the upper limit is published: a dotted line from 0, no point, no lower end.
                    ax.plot([0, i.high], [y, y], color=colour, lw=2.2, ls=":")
                    ax.plot([i.high], [y], marker="|", ms=14, mew=2.2, color=colour)
                    ax.text(
                        i.high + top * 0.01,
                        y + width * 0.3,
                        f"≤ {percent(i.high)}",
                        fontsize=10,
                        color=colour,
                    )
                    continue
                ax.plot([i.low, i.high], [y, y], color=colour, lw=2.2, solid_capstyle="butt")
                ax.plot([i.rate], [y], marker=markers[m % 4], ms=8, color=colour, ls="none")
            ax.plot([], [], marker=markers[m % 4], color=palette[m % len(palette)], label=method)
        ax.set_yticks(range(len(domains)), list(reversed(domains)))
        ax.set_ylim(-0.7, len(domains) - 0.3)
        _percent_axis(ax, _nice(top * 1.12), axis="x")
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("share of collected posts (%), with 95% interval")
        ax.set_title(_wrap(title, 72), loc="left", fontweight="bold")
        fig.legend(loc="outside lower center", ncols=max(1, len(methods)), frameon=False)
        if note:
            ax.text(
                0.99, 0.98, note, transform=ax.transAxes, ha="right", va="top", fontsize=10,
                bbox={"facecolor": "#fff4e0", "edgecolor": COLOURS["orange"], "pad": 5},
            )  # fmt: skip
    return fig


def coverage_chart(
    by_platform: dict[str, dict[str, int]], path: Path | None = None, *, title: str
) -> bytes:
    """Targets per platform, stacked by the status of the latest run that reached each."""
    platforms = sorted(by_platform)
    statuses = sorted(
        {s for counts in by_platform.values() for s in counts},
        key=lambda s: (list(STATUS_COLOURS).index(s) if s in STATUS_COLOURS else 99, s),
    )
    fig = _figure(height=1.6 + 0.5 * max(len(platforms), 2))
    with _rc():
        ax = fig.subplots()
        ys = list(range(len(platforms)))[::-1]
        left = [0] * len(platforms)
        extra = iter([COLOURS["green"], COLOURS["sky"], COLOURS["grey"], COLOURS["black"]])
        for status in statuses:
            values = [by_platform[p].get(status, 0) for p in platforms]
            colour = STATUS_COLOURS.get(status) or next(extra, COLOURS["grey"])
            hatch = None if status == "ok" else "//"
            ax.barh(ys, values, left=left, color=colour, hatch=hatch, edgecolor="white",
                    height=0.6, label=status)  # fmt: skip
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_yticks(ys, platforms)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, max(left, default=1) * 1.05 or 1)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("targets (communities, channels, sites)")
        ax.set_title(_wrap(title, 72), loc="left", fontweight="bold")
        fig.legend(loc="outside lower center", ncols=max(1, len(statuses)), frameon=False)
    return save(fig, path)
