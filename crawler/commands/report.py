"""`vemeter report`: an offline HTML report, one file with its charts embedded."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg, SinceOpt, UntilOpt, parse_date
from crawler.config import load_config

err = Console(stderr=True, soft_wrap=True)


class Per(StrEnum):
    auto = "auto"
    day = "day"
    week = "week"
    month = "month"


def report(
    config: ConfigArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder to write index.html into.")
    ],
    since: SinceOpt = None,
    until: UntilOpt = None,
    min_cell: Annotated[
        int | None,
        typer.Option(
            min=0,
            help='Show counts below this as "<N" (default: export.min_cell if the config sets '
            "it, else 10; 0 shows every count).",
        ),
    ] = None,
    per: Annotated[
        Per,
        typer.Option(
            "--per",
            help="Time unit of the rate charts: day, week (Monday to Sunday) or month; auto "
            "picks by the length of the period.",
        ),
    ] = Per.auto,
) -> None:
    """Write an HTML report with charts that opens offline: one file, charts embedded.

    Example: vemeter report configs/example.yaml --output report/ --per week
    """
    from analysis.report import DEFAULT_MIN_CELL, write_report
    from storage.engine import open_database

    cfg = load_config(config)
    start, stop = parse_date(since), parse_date(until)
    if min_cell is None:
        # A report is for publication: suppress by default unless the project chose otherwise.
        explicit = "min_cell" in cfg.export.model_fields_set
        min_cell = cfg.export.min_cell if explicit else DEFAULT_MIN_CELL
    engine = open_database(cfg.database_url)
    try:
        with err.status("writing the report…"):
            files = write_report(
                engine, cfg, output, since=start, until=stop, min_cell=min_cell,
                unit=None if per is Per.auto else per.value,
            )  # fmt: skip
    finally:
        engine.dispose()
    err.print(
        f"Wrote {files.index} with {len(files.charts)} charts embedded; open it in a browser "
        "(no network needed).",
        highlight=False,
    )
    typer.echo(str(files.index))
