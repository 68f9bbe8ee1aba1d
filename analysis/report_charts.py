"""Which charts a report draws from its gathered data, and what each one's bars and lines are.

Charts are drawn only from published figures: a count hidden by small-cell suppression has no
bar (its marker is written instead), no rank, no point and no interval.
"""

from __future__ import annotations

from collections import defaultdict

from analysis import charts
from analysis.estimate import Estimate
from analysis.report_model import TOP_SOURCES, Group, Report
from analysis.report_review import ALL, DESIGN, MODEL
from analysis.suppression import Hidden

__all__ = ["CHART_FILES", "CHART_NAMES", "all_platforms_note", "chart_data", "draw_charts"]

NAIVE = "flag rate (classify-and-count)"
CHART_NAMES = (
    "rate_by_platform",
    "rate_by_language",
    "topics",
    "top_sources",
    "estimates",
    "coverage",
)
# The PNG files reports of earlier versions wrote beside index.html.
CHART_FILES = tuple(f"{name}.png" for name in CHART_NAMES)


def _bar(label: str, value: int | Hidden) -> charts.Bar:
    if isinstance(value, Hidden):
        return charts.Bar(label, None, f"{value} (suppressed)" if value.below else "x (hidden)")
    return charts.Bar(label, value)


def top_sources(report: Report) -> list[Group]:
    """The targets with most flagged posts, among those whose flagged count is published."""
    return [g for g in report.sources if not isinstance(g.flagged, Hidden) and g.flagged > 0][
        :TOP_SOURCES
    ]


def chart_data(report: Report) -> dict[str, object]:
    """What each chart draws, by chart name (for the charts and for tests that audit them)."""
    from classifiers.base import TOPICS

    data: dict[str, object] = {}
    if report.by_platform:
        data["rate_by_platform"] = report.by_platform
    if report.by_language:
        data["rate_by_language"] = report.by_language
    counts: dict[str, int | Hidden] = {g.key[0]: g.flagged for g in report.topics}
    names = [*TOPICS, *sorted(set(counts) - set(TOPICS))]
    visible = {t: v for t in names if not isinstance(v := counts.get(t, 0), Hidden)}
    shown = sorted(visible, key=lambda t: (-visible[t], t))
    hidden = sorted(t for t in names if t not in visible)
    data["topics"] = [_bar(t, counts.get(t, 0)) for t in [*shown, *hidden]]
    top = top_sources(report)
    if top:
        data["top_sources"] = [_bar(f"{g.key[0]} · {g.key[2]}", g.flagged) for g in top]
    intervals = _intervals(report)
    if intervals:
        data["estimates"] = intervals
    if report.targets:
        per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for t in report.targets:
            per[t.platform][t.status] += 1
        data["coverage"] = {k: dict(v) for k, v in per.items()}
    return data


def draw_charts(report: Report) -> dict[str, bytes]:
    """Every chart the data allows, as PNG bytes by chart name."""
    data = chart_data(report)
    drawn: dict[str, bytes] = {}
    unit = report.bin_unit
    for name, what in (("rate_by_platform", "platform"), ("rate_by_language", "language")):
        series = data.get(name)
        if not isinstance(series, list):
            continue
        modelled = any(s.model for s in series)
        drawn[name] = charts.rate_panels(
            series,
            title=(
                f"Flag rate and model-based reviewed prevalence by {what}, per {unit}"
                if modelled
                else f"Flag rate (classify-and-count) by {what}, per {unit}"
            ),
            ylabel="share of posts" if modelled else "flagged posts",
            model_label="reviewed, model-based",
        )
    mark = f"<{report.min_cell} (suppressed)"
    for name, title in (
        ("topics", "Flagged posts per topic (a post counts under each topic it carries)"),
        ("top_sources", f"Top {len(top_sources(report))} targets by flagged posts"),
    ):
        bars = data.get(name)
        if isinstance(bars, list):
            drawn[name] = charts.top_bars(
                bars, title=title, xlabel="flagged posts (count)", suppressed_text=mark
            )
    intervals = data.get("estimates")
    if isinstance(intervals, list):
        drawn["estimates"] = charts.estimates_chart(
            intervals,
            title="Flag rate and reviewed prevalence, with 95% intervals",
            note="" if report.review.available else "no review sample yet",
        )
    coverage = data.get("coverage")
    if isinstance(coverage, dict):
        drawn["coverage"] = charts.coverage_chart(
            coverage, title="Targets by status in the latest run that reached them"
        )
    return drawn


def _domains(report: Report) -> list[tuple[str, Group]]:
    domains = [(ALL, report.total)]
    if len(report.platforms) > 1:  # one platform's figures are the same as the total's
        domains += [(g.key[0], g) for g in report.platforms]
    return domains


def _intervals(report: Report) -> list[charts.Interval]:
    """Naive and reviewed estimates per domain; a domain with a hidden count has neither."""
    out: list[charts.Interval] = []
    for name, group in _domains(report):
        if group.hidden:
            continue
        naive = group.naive
        if naive is not None:
            out.append(_interval(name, NAIVE, naive))
        reviewed = report.estimates.get(name)
        if reviewed is not None:
            out.append(_interval(name, DESIGN, reviewed))
    return out


def _interval(domain: str, method: str, e: Estimate) -> charts.Interval:
    if e.method == "model-based":
        method = MODEL
    rate = None if e.upper_bound_only else e.prevalence
    low = 0.0 if e.upper_bound_only else e.ci_low
    return charts.Interval(domain, method, rate, low, e.ci_high, e.upper_bound_only)


def all_platforms_note(report: Report) -> str:
    """Why "all platforms" may differ from the platforms drawn, or "" when it does not.

    The total is not an average of the figures shown when platforms are left out (hidden
    counts, no estimate) or when it and they come from different estimators.
    """
    if len(report.platforms) <= 1:
        return ""
    reasons = []
    hidden = [g.key[0] for g in report.platforms if g.hidden]
    if hidden:
        reasons.append(
            f"it includes the posts of {', '.join(hidden)}, whose counts are not published "
            "(too small, or hidden so that a small one cannot be worked out), so their figures "
            "are not drawn"
        )
    total = report.estimates.get(ALL)
    parts = {g.key[0]: report.estimates.get(g.key[0]) for g in report.platforms if not g.hidden}
    if total is not None:
        missing = [name for name, e in parts.items() if e is None]
        if missing:
            reasons.append(f"{', '.join(missing)} has no reviewed estimate of its own")
        methods = {e.method for e in parts.values() if e is not None}
        if "model-based" in methods:
            reasons.append(
                "its reviewed figure is design-based, from the whole stratified sample, while "
                "the per-platform figures are model-based (the pooled classifier error rates "
                "applied to each platform's flag rate): different estimators, which need not "
                "average to it"
            )
        if report.review.mismatch:
            reasons.append(
                "the reviewed figures cover the review sample's period, the flag rates this "
                "report's"
            )
        shown = [e.prevalence for e in parts.values() if e is not None and not e.upper_bound_only]
        if (
            shown
            and not total.upper_bound_only
            and not (min(shown) <= total.prevalence <= max(shown))
        ):
            reasons.insert(
                0,
                f"the reviewed “all platforms” estimate ({charts.percent(total.prevalence)}) lies "
                "outside the range of the per-platform estimates",
            )
    if not reasons:
        return ""
    return "“All platforms” is not an average of the platforms drawn: " + "; ".join(reasons) + "."
