"""`vemeter stats`: counts and prevalence per group, with provenance and small-cell suppression."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from crawler.commands.options import ConfigArg, SinceOpt, UntilOpt, parse_by, parse_date
from crawler.commands.output import ExportFormat, render
from crawler.config import load_config

COUNT_COLUMNS = ("posts", "flagged", "reviewed", "positives")


class Estimate(StrEnum):
    none = "none"
    naive = "naive"
    reviewed = "reviewed"


def stats(
    config: ConfigArg,
    by: Annotated[
        str, typer.Option(help="Comma-separated keys: platform,source,target,language,topic,day.")
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

    Example: vemeter stats configs/example.yaml --by platform,language --estimate reviewed --format json
    """
    from analysis.provenance import provenance
    from analysis.suppression import suppress
    from storage.engine import open_database
    from storage.stats import GROUP_KEYS, count_posts

    keys = parse_by(by, GROUP_KEYS, "group")
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
        rows: list[dict[str, Any]] = count_posts(engine, keys, since=start, until=stop)
        columns = [*keys, "posts", "flagged"]
        review: dict[str, Any] | None = None
        if estimate is Estimate.naive:
            from analysis.stratified import NAIVE_COLUMNS, naive_columns

            rows = [
                {**row, **naive_columns(int(row["flagged"]), int(row["posts"]))} for row in rows
            ]
            columns += NAIVE_COLUMNS
        elif sample is not None:
            from analysis.reviewed import reviewed_rows

            rows, extra, review = reviewed_rows(engine, sample, keys, rows)
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
    if threshold > 1:
        rows = suppress(rows, COUNT_COLUMNS, threshold, derived=("prevalence", "published"))
        columns.append("suppressed")
    render(
        rows,
        columns,
        fmt,
        title=cfg.project,
        provenance=origin.as_dict(),
        notes=origin.lines(),
        output=output,
    )
