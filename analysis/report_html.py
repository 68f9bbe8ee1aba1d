"""The report's single HTML page: inline CSS, charts embedded as PNG data URIs, nothing fetched.

Every count comes from the published (suppressed) tables of analysis.report; a hidden count is
written as its marker and its rate, interval and estimate are left out.
"""

from __future__ import annotations

import base64
import html
from collections import Counter
from collections.abc import Sequence
from string import Template
from typing import Any

from analysis.report_charts import all_platforms_note, top_sources
from analysis.report_model import MAX_PANELS, Group, Report
from analysis.report_review import NO_SAMPLE
from analysis.suppression import Hidden, suppress

__all__ = ["render_html"]

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vemeter report: $project</title>
<style>
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 16px; line-height: 1.45;
       color: #1a1a1a; margin: 0 auto; max-width: 1040px; padding: 0 20px 40px; }
h1 { font-size: 1.7em; margin: 1em 0 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.95em; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0.8em 0; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
figure { margin: 1em 0 1.6em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e5e5e5; }
figcaption { font-size: 0.93em; color: #333; margin-top: 0.4em; }
.note { background: #fff4e0; border-left: 4px solid #E69F00; padding: 8px 14px; margin: 1em 0; }
.empty { background: #eef5fb; border-left: 4px solid #0072B2; padding: 8px 14px; font-weight: bold; }
footer { margin-top: 3em; font-size: 0.9em; color: #444; }
</style>
</head>
<body>
<header>
<h1>vemeter report: $project</h1>
<p>Posts published $period. Generated $generated.</p>
<dl class="meta">
$provenance
</dl>
</header>
<div class="note">
<p><strong>How to read these figures.</strong> Every figure describes the posts vemeter
collected from the listed public sources, not a platform as a whole. The <em>flag rate</em>
is classify-and-count: the share of posts the classifiers flagged. It is not a prevalence:
when violent-extremist content is rare, false positives outnumber it and the flag rate
overstates it several times over. Only the <em>reviewed</em> estimate, from a stratified
sample of human-reviewed posts, is a prevalence estimate. All intervals are 95%.</p>
</div>
<h2>Summary</h2>
$summary
<h2>Flag rate over time</h2>
$time_charts
<h2>Languages</h2>
$languages
<h2>Topics</h2>
$topics
<h2>Top targets by flagged posts</h2>
$sources
<h2>Flag rate and reviewed prevalence</h2>
$estimates
<h2>Review status</h2>
$review
<h2>Coverage</h2>
$coverage
<footer>
<p>$suppression Aggregates only: this report holds no post text and no author pseudonyms.
Written by vemeter $version; it needs no network connection.</p>
</footer>
</body>
</html>
""")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _count(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _figure(report: Report, name: str, alt: str, caption: str) -> str:
    if name not in report.charts:
        return ""
    data = base64.b64encode(report.charts[name]).decode("ascii")
    return (
        f'<figure>\n<img src="data:image/png;base64,{data}" alt="{_e(alt)}" id="{_e(name)}">\n'
        f"<figcaption>{caption}</figcaption>\n</figure>"
    )


def _rows(report: Report, groups: Sequence[Group], labels: Sequence[str]) -> list[dict[str, Any]]:
    """Published counts and flag rates: a group with a hidden count shows no rate or estimate."""
    rows = []
    for label, g in zip(labels, groups, strict=True):
        naive = g.naive
        reviewed = report.estimates.get(label)
        rows.append({
            "label": label, "posts": g.posts, "flagged": g.flagged, "hidden": g.hidden,
            "rate": "suppressed" if g.hidden else naive.published() if naive else "no posts",
            "reviewed": "" if g.hidden else reviewed.published() if reviewed else "",
        })  # fmt: skip
    return rows


def _summary(report: Report) -> str:
    from analysis.report_review import ALL

    groups = [report.total, *report.platforms]
    rows = _rows(report, groups, [ALL] + [g.key[0] for g in report.platforms])
    reviewed_note = (
        "reviewed prevalence (95% CI)" if report.review.available else "reviewed prevalence"
    )
    table = _table(
        ["platform", "posts", "flagged", "flag rate (95% Wilson CI)", reviewed_note],
        [
            [r["label"], _count(r["posts"]), _count(r["flagged"]), r["rate"],
             "suppressed" if r["hidden"] else r["reviewed"]
             or ("not estimated" if report.review.available else "no review sample")]
            for r in rows
        ],
        {1, 2},
    )  # fmt: skip
    return table + (
        "<p>Figures written “≤ x%” rest on fewer than 5 positives: only their upper limit is "
        "published.</p>"
    )


def _time_charts(report: Report) -> str:
    unit = {"day": "day", "week": "week (Monday to Sunday)", "month": "calendar month"}
    bin_text = unit[report.bin_unit]
    parts = []
    for name, what in (("rate_by_platform", "platform"), ("rate_by_language", "language")):
        caption = (
            f"Share of collected posts flagged by the classifiers per {bin_text}, one panel per "
            f"{what} (title: posts in the period). Line: flag rate (classify-and-count); lighter "
            "band: its 95% Wilson interval, which reflects only the binomial noise of the flags, "
            "not the classifier's errors. Each panel has its own y-axis, scaled to its highest "
            "interval: compare panels by their tick labels, not by height."
        )
        if report.min_cell > 1:
            caption += (
                f" A {report.bin_unit} with fewer than {report.min_cell} posts or flagged posts "
                "(or hidden so that such a one cannot be worked out) is not plotted: its rate "
                "and interval would give its counts back."
            )
        left_out = report.unplotted.get(what, [])
        if left_out:
            caption += (
                f" Not charted, as none of their {report.bin_unit}s can be published: "
                f"{_e(', '.join(left_out))}."
            )
        series = report.by_platform if what == "platform" else report.by_language
        if any(s.model for s in series):
            caption += (
                " Dashed line with hatched band: reviewed prevalence per bin, <strong>model-based"
                "</strong> (adjusted classify-and-count with the classifier's error rates from the "
                "pooled review sample, methods §8). It assumes the classifier errs at the same "
                "rates in every bin and group, and is shown only for bins inside the review "
                "sample's period."
            )
        if what == "language":
            caption += (
                f" Up to {MAX_PANELS} languages with most posts (among those whose count is "
                "published) get a panel; language codes are ISO 639-1, und = undetermined."
            )
        parts.append(_figure(report, name, f"Flag rate over time by {what}", caption))
    if any(parts):
        return "\n".join(p for p in parts if p)
    if report.first_day is None:
        return "<p>No posts in this period.</p>"
    return (
        f"<p>No {report.bin_unit} of any platform or language has counts large enough to "
        f"publish (fewer than {report.min_cell} posts or flagged posts, or hidden so that such "
        "a count cannot be worked out); try a longer time unit (--per week or --per month).</p>"
    )


def _languages(report: Report) -> str:
    rows = _rows(report, report.languages, [g.key[0] for g in report.languages])
    return _table(
        ["language", "posts", "flagged", "flag rate (95% Wilson CI)"],
        [[r["label"], _count(r["posts"]), _count(r["flagged"]), r["rate"] or "suppressed"]
         for r in rows],
        {1, 2},
    )  # fmt: skip


def _topics(report: Report) -> str:
    rows = [{"topic": g.key[0], "flagged": g.flagged, "posts": g.posts} for g in report.topics]
    caption = (
        "Flagged posts per topic of the project's taxonomy, from the topic lexicons (classifier "
        "versions above). A post carrying several topics counts under each, so the bars add up "
        "to more than the flagged posts. Counts below the suppression threshold are written, "
        "not drawn."
    )
    table = _table(
        ["topic", "flagged posts", "posts tagged"],
        [[r["topic"], _count(r["flagged"]), _count(r["posts"])] for r in rows],
        {1, 2},
    )
    return _figure(report, "topics", "Flagged posts per topic", caption) + "\n" + table


def _sources(report: Report) -> str:
    top = top_sources(report)
    unranked = [g for g in report.sources if isinstance(g.flagged, Hidden)]
    if not top:
        return "<p>No published count of flagged posts per target in this period.</p>"
    labels = [" · ".join(g.key) for g in top]
    rows = _rows(report, top, labels)
    caption = (
        f"The {len(top)} targets (communities, channels, sites) with the most flagged posts in "
        "the period; bar labels are platform · target. Flagged = the classifiers' flags "
        "(classify-and-count), not reviewed."
    )
    if unranked:
        caption += (
            f" {len(unranked)} more targets have a flagged count too small to publish (or hidden "
            "so that such a one cannot be worked out); they are not ranked."
        )
    table = _table(
        ["platform", "source", "target", "posts", "flagged", "flag rate (95% Wilson CI)"],
        [[*g.key, _count(r["posts"]), _count(r["flagged"]), r["rate"] or "suppressed"]
         for g, r in zip(top, rows, strict=True)],
        {3, 4},
    )  # fmt: skip
    return _figure(report, "top_sources", "Top targets by flagged posts", caption) + table


def _estimates(report: Report) -> str:
    review = report.review
    caption = "Each domain's flag rate (classify-and-count) with its 95% Wilson interval"
    if review.available:
        per_platform = (
            "design-based per platform too, as the sample was drawn per platform"
            if "platform" in review.by
            else "per platform <strong>model-based</strong> (methods §8: the pooled review's "
            "classifier error rates applied to each platform's flag rate)"
        )
        caption += (
            ", beside the reviewed prevalence: the stratified estimate from human review with "
            f"its 95% hybrid Monte Carlo interval, {per_platform}. A dotted line ending in a bar "
            "is an upper bound only (fewer than 5 positives reviewed)."
        )
    else:
        caption += ". No reviewed estimate exists yet."
    caption += " Domains with a suppressed count have neither figure here."
    text = "" if review.available else f'<p class="empty">{_e(review.message or NO_SAMPLE)}</p>'
    if review.mismatch:
        text += f'<p class="note">{_e(review.mismatch)}</p>'
    note = all_platforms_note(report)
    if note:
        text += f'<p class="note">{_e(note)}</p>'
    return text + _figure(report, "estimates", "Flag rate and reviewed prevalence", caption)


def _review(report: Report) -> str:
    review = report.review
    if review.sample_id is None:
        return f'<p class="empty">{_e(NO_SAMPLE)}</p>'
    rows = suppress(
        [{"stratum": s.stratum, "size": s.size, "sampled": s.sampled, "reviewed": s.reviewed,
          "positives": s.positives, "open": s.unsure + s.disputed + s.unlabelled}
         for s in review.strata],
        ("size", "sampled", "reviewed", "positives", "open"),
        report.min_cell,
        sums=(("sampled", ("reviewed", "open")),),
        at_most=(("positives", "reviewed"), ("sampled", "size")),
    )  # fmt: skip
    by = ", ".join(review.by) or "the whole period as one cell"
    intro = (
        f"<p>Review sample {review.sample_id}, drawn from posts published {_e(review.window)}, "
        f"stratified by classifier flag within cells of {_e(by)}.</p>"
    )
    if not review.available:
        intro += f'<p class="empty">{_e(review.message)}</p>'
    table = _table(
        ["design stratum", "posts in stratum", "sampled", "reviewed (yes/no)", "positives",
         "unsure, disputed or unlabelled"],
        [[r["stratum"], *(_count(r[k]) for k in ("size", "sampled", "reviewed", "positives", "open"))]
         for r in rows],
        {1, 2, 3, 4, 5},
    )  # fmt: skip
    return intro + table


def _coverage(report: Report) -> str:
    if not report.targets:
        return "<p>No crawl or import runs are recorded.</p>"
    counts = Counter((t.platform, t.status) for t in report.targets)
    statuses = sorted({s for _, s in counts}, key=lambda s: (s != "ok", s))
    platforms = sorted({p for p, _ in counts})
    table = _table(
        ["platform", *statuses, "targets"],
        [[p, *(counts[(p, s)] for s in statuses), sum(counts[(p, s)] for s in statuses)]
         for p in platforms],
        set(range(1, len(statuses) + 2)),
    )  # fmt: skip
    caption = (
        "Targets per platform by their status in the latest run (crawl or import) that reached "
        "them. Posts of inaccessible or failed targets are missing from every figure above."
    )
    problems = [t for t in report.targets if t.status != "ok"]
    listing = (
        "<p>Targets not collected in their latest run:</p>"
        + _table(
            ["platform", "source", "target", "status", "reason", "run"],
            [
                [t.platform, t.source, t.target, t.status, t.reason or "", t.run_id]
                for t in problems
            ],
            {5},
        )
        if problems
        else "<p>Every target was collected in its latest run.</p>"
    )
    return (
        _figure(report, "coverage", "Targets by status", caption) + table + listing + _gaps(report)
    )


def _gaps(report: Report) -> str:
    """The schedule's gap ledger in the report's window: a series never hides a hole."""
    gaps = report.origin.coverage.gaps
    if not gaps:
        return ""
    missed = sum(int(g["periods"]) for g in gaps)
    return (
        f"<p>Scheduled periods not run on time: {missed:,} in {len(gaps):,} gap(s). A catch-up "
        "run collects what the platform still shows, so counts of those periods may be low "
        "(posts deleted in between are missed).</p>"
        + _table(
            ["source", "reason", "first period", "last period", "periods", "status"],
            [
                [g["source"], g["reason"], g["first"], g["last"], g["periods"], g["status"]]
                for g in gaps
            ],
            {4},
        )
    )


def _provenance(report: Report) -> str:
    o = report.origin
    classifiers = "; ".join(f"{k} {', '.join(v)}" for k, v in o.classifiers.items())
    review = report.review
    items = [
        ("project", o.project),
        ("config hash", o.config_hash),
        ("config hashes of the runs", ", ".join(o.config_hashes_of_runs) or "none"),
        ("classifier versions", classifiers or "none recorded"),
        ("crawl and import runs", f"{o.runs:,}"),
        ("review window", review.window or "no review sample"),
        ("estimate", "reviewed (stratified)" if review.available else "flag rate only (naive)"),
        ("vemeter version", o.vemeter_version),
    ]
    return "\n".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)


def render_html(report: Report) -> str:
    """The whole page; every value from the database is escaped."""
    if report.first_day is None:
        period = "in no period: there are no posts in this window"
    else:
        period = f"from {report.first_day:%Y-%m-%d} to {report.last_day:%Y-%m-%d} (UTC days)"
    suppression = (
        f"Counts from 1 to {report.min_cell - 1} are shown as “&lt;{report.min_cell}”; “x” "
        f"hides a larger count so that a &lt;{report.min_cell} count cannot be worked out from "
        "totals. Wherever a count is hidden, so is every figure computed from it: rate, "
        "interval, estimate, rank, bar and chart point."
        if report.min_cell > 1
        else "No counts are suppressed."
    )
    if report.warnings:
        suppression += " " + " ".join(_e(w[:1].upper() + w[1:]) + "." for w in report.warnings)
    return PAGE.substitute(
        project=_e(report.project),
        period=_e(period),
        generated=_e(report.origin.exported_at),
        provenance=_provenance(report),
        summary=_summary(report),
        time_charts=_time_charts(report),
        languages=_languages(report),
        topics=_topics(report),
        sources=_sources(report),
        estimates=_estimates(report),
        review=_review(report),
        coverage=_coverage(report),
        suppression=suppression,
        version=_e(report.origin.vemeter_version),
    )
