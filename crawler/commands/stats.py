"""`vemeter stats`: counts and prevalence per group, with provenance and small-cell suppression."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from crawler.commands.options import ConfigArg, SinceOpt, UntilOpt, parse_by, parse_date
from crawler.commands.output import ExportFormat, render
from crawler.config import load_config

COUNT_COLUMNS = ("posts", "flagged", "reviewed", "positives")
# Figures computed from a row's counts: hidden with them, and rounded to RATE_PLACES decimals.
RATE_COLUMNS = ("prevalence", "ci_low", "ci_high", "view_prevalence", "view_ci_low", "view_ci_high")
DERIVED_COLUMNS = (*RATE_COLUMNS, "published")
RATE_PLACES = 6


class Estimate(StrEnum):
    none = "none"
    naive = "naive"
    reviewed = "reviewed"


def stats(
    config: ConfigArg,
    by: Annotated[
        str,
        typer.Option(
            help="Comma-separated keys: platform,source,target,language,topic and one time "
            "unit: day, week (Monday to Sunday, shown as its Monday) or month (YYYY-MM)."
        ),
    ] = "",
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Output format.")] = (
        ExportFormat.table
    ),
    estimate: Annotated[
        Estimate,
        typer.Option(
            help="Add prevalence with a 95% interval: naive = classify-and-count (biased for "
            "rare content), reviewed = corrected with the labelled review sample."
        ),
    ] = Estimate.none,
    since: SinceOpt = None,
    until: UntilOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    min_cell: Annotated[
        int | None,
        typer.Option(min=0, help='Show counts below this as "<N" (default: export.min_cell).'),
    ] = None,
) -> None:
    """Count stored and flagged posts, optionally with prevalence estimates.

    Example: vemeter stats configs/example.yaml --by platform,week --estimate reviewed --format json
    """
    from analysis.counts import KEYS, protected_counts, time_key
    from analysis.provenance import provenance
    from analysis.suppression import Exposed, exposed_note, hide_derived, marker
    from storage.engine import open_database

    keys = parse_by(by, KEYS, "group")
    try:
        time_key(keys)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--by") from None
    if estimate is Estimate.naive and "topic" in keys:
        raise typer.BadParameter(
            "a topic is what makes a post flagged, so the flag rate by topic is 1 or 0 by "
            "construction: drop topic from --by, or drop --estimate to count posts per topic",
            param_hint="--by",
        )
    cfg = load_config(config)
    start, stop = parse_date(since), parse_date(until)
    threshold = cfg.export.min_cell if min_cell is None else min_cell
    engine = open_database(cfg.database_url)
    try:
        sample = None
        if estimate is Estimate.reviewed:
            from analysis.reviewed import latest_sample

            sample = latest_sample(engine)
            # The estimate describes the sample's period: count the same posts unless told.
            if since is None and until is None:
                start, stop = sample.since, sample.until
        exposed: list[Exposed] = []
        true_rows, shown = protected_counts(
            engine, keys, threshold, since=start, until=stop, exposed=exposed
        )
        rows: list[dict[str, Any]] = [dict(r) for r in true_rows]
        columns = [*keys, "posts", "flagged"]
        review: dict[str, Any] | None = None
        if estimate is Estimate.naive:
            from analysis.stratified import NAIVE_COLUMNS, naive_columns

            rows = [
                {**row, **naive_columns(int(row["flagged"]), int(row["posts"]))} for row in rows
            ]
            columns += NAIVE_COLUMNS
        elif sample is not None:
            from analysis.reviewed import protect_review_counts, reviewed_rows

            rows, extra, review = reviewed_rows(engine, sample, keys, rows)
            shown = protect_review_counts(engine, sample, keys, rows, shown, threshold)
            columns += extra
        origin = provenance(
            engine,
            project=cfg.project,
            config_hash=cfg.config_hash,
            since=start,
            until=stop,
            estimate=estimate.value,
            min_cell=threshold,
            review=review,
        )
    finally:
        engine.dispose()
    # The published counts (some hidden), every other column from the estimate.
    rows = [
        {**row, **{c: p[c] for c in COUNT_COLUMNS if c in p}}
        for row, p in zip(rows, shown, strict=True)
    ]
    notes = origin.lines()
    if threshold > 1:
        rows = hide_derived(rows, COUNT_COLUMNS, DERIVED_COLUMNS)
        columns.append("suppressed")
        notes.append(marker(threshold))
        if exposed:
            notes.append(exposed_note(exposed, threshold))
    rows = [{k: _fixed(k, v) for k, v in row.items()} for row in rows]
    meta = origin.as_dict()
    if exposed:
        meta["warnings"] = [exposed_note(exposed, threshold)]
    render(
        rows,
        columns,
        fmt,
        title=cfg.project,
        provenance=meta,
        notes=notes,
        output=output,
    )


def _fixed(column: str, value: Any) -> Any:
    """A rate as a decimal with RATE_PLACES places (0.000000, never 5.551e-17)."""
    if column in RATE_COLUMNS and isinstance(value, float):
        fixed = Decimal(value).quantize(Decimal(1).scaleb(-RATE_PLACES), ROUND_HALF_EVEN)
        return abs(fixed) if fixed.is_zero() else fixed  # -5.551e-17 is 0.000000, not -0
    return value
