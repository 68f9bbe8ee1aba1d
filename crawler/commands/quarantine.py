"""`vemeter quarantine`: the posts the database or validation refused, with line or post id and
reason (never their text)."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.commands.options import ConfigArg
from crawler.commands.output import Format, render
from crawler.config import load_config

COLUMNS = ("run", "line", "platform", "source", "target", "post_id", "field", "reason", "at")


def quarantine(
    config: ConfigArg,
    run: Annotated[int | None, typer.Option("--run", help="Only the rows of this run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many rows to show.")] = 100,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Rows refused by validation or the database, oldest first: where each came from (import line or post id) and why. Example: vemeter quarantine configs/example.yaml --run 12"""
    from storage.engine import open_database
    from storage.quarantine import list_quarantine

    cfg = load_config(config)
    engine = open_database(cfg.database_url)
    rows = [
        {
            "run": row.run_id,
            "line": row.line,
            "platform": row.platform,
            "source": row.source,
            "target": row.target,
            "post_id": row.post_id,
            "field": row.field,
            "reason": row.reason,
            "at": row.created_at.isoformat(timespec="seconds"),
        }
        for row in list_quarantine(engine, run_id=run, limit=limit)
    ]
    render(rows, COLUMNS, fmt, title="quarantined rows")
