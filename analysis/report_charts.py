"""Which charts a report draws from its gathered data, and what each one's bars and lines are."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from analysis import charts
from analysis.estimate import Estimate
from analysis.report_model import TOP_SOURCES, Report
from analysis.report_review import ALL, DESIGN, MODEL
from analysis.suppression import is_hidden

__all__ = ["CHART_FILES", "draw_charts"]

NAIVE = "flag rate (classify-and-count)"
CHART_FILES = (
    "rate_by_platform.png",
    "rate_by_language.png",
    "topics.png",
    "top_sources.png",
    "estimates.png",
    "coverage.png",
)


def draw_charts(report: Report, directory: Path) -> dict[str, Path]:
    """Write every chart the data allows into directory; returns them by file name."""
    from classifiers.base import TOPICS

    written: dict[str, Path] = {}
    unit = report.bin_unit  # the captions say that weeks run from Monday
    for name, series, what in (
        ("rate_by_platform.png", report.by_platform, "platform"),
        ("rate_by_language.png", report.by_language, "language"),
    ):
        if not series:
            continue
        modelled = any(s.model for s in series)
        charts.rate_panels(
            series,
            directory / name,
            title=(
                f"Flag rate and model-based reviewed prevalence by {what}, per {unit}"
                if modelled
                else f"Flag rate (classify-and-count) by {what}, per {unit}"
            ),
            ylabel="share of posts (%)" if modelled else "flagged posts (%)",
            model_label="reviewed, model-based",
        )
        written[name] = directory / name
    counts = {g.key[0]: g.flagged for g in report.topics}
    names = [*TOPICS, *sorted(set(counts) - set(TOPICS))]
    topic_bars = [
        charts.Bar(t, None if is_hidden(counts.get(t, 0), report.min_cell) else counts.get(t, 0))
        for t in sorted(names, key=lambda t: (-counts.get(t, 0), t))
    ]
    mark = f"<{report.min_cell} (suppressed)"
    charts.top_bars(
        topic_bars,
        directory / "topics.png",
        title="Flagged posts per topic (a post counts under each topic it carries)",
        xlabel="flagged posts (count)",
        suppressed_text=mark,
    )
    written["topics.png"] = directory / "topics.png"
    top = [g for g in report.sources if g.flagged > 0][:TOP_SOURCES]
    if top:
        charts.top_bars(
            [
                charts.Bar(f"{g.key[0]} · {g.key[2]}", None if is_hidden(g.flagged, report.min_cell) else g.flagged)
                for g in top
            ],
            directory / "top_sources.png",
            title=f"Top {len(top)} targets by flagged posts",
            xlabel="flagged posts (count)",
            suppressed_text=mark,
        )  # fmt: skip
        written["top_sources.png"] = directory / "top_sources.png"
    intervals = _intervals(report)
    if intervals:
        charts.estimates_chart(
            intervals,
            directory / "estimates.png",
            title="Flag rate and reviewed prevalence, with 95% intervals",
            note="" if report.review.available else "no review sample yet",
        )
        written["estimates.png"] = directory / "estimates.png"
    if report.targets:
        per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for t in report.targets:
            per[t.platform][t.status] += 1
        charts.coverage_chart(
            {k: dict(v) for k, v in per.items()},
            directory / "coverage.png",
            title="Targets by status in the latest run that reached them",
        )
        written["coverage.png"] = directory / "coverage.png"
    return written


def _intervals(report: Report) -> list[charts.Interval]:
    """Naive and reviewed estimates per domain; domains whose counts are suppressed are left out."""
    out: list[charts.Interval] = []
    domains = [(ALL, report.total)]
    if len(report.platforms) > 1:  # one platform's figures are the same as the total's
        domains += [(g.key[0], g) for g in report.platforms]
    for name, group in domains:
        naive = group.naive
        if naive is not None and not is_hidden(group.flagged, report.min_cell):
            out.append(_interval(name, NAIVE, naive))
        reviewed = report.review.estimates.get(name)
        if reviewed is not None:
            out.append(_interval(name, DESIGN, reviewed))
    return out


def _interval(domain: str, method: str, e: Estimate) -> charts.Interval:
    if e.method == "model-based":
        method = MODEL
    return charts.Interval(domain, method, e.prevalence, e.ci_low, e.ci_high, e.upper_bound_only)
