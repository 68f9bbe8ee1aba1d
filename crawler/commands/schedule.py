"""`vemeter schedule`: each scheduled source's next runs; pause and resume a source."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg
from crawler.commands.output import Format, render
from crawler.config import load_config

schedule_app = typer.Typer(help="Scheduled crawls: next runs, pause, resume.", no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

SourceArg = Annotated[str, typer.Argument(help="The source's name in CONFIG.")]


@schedule_app.command("show")
def show(
    config: ConfigArg,
    count: Annotated[int, typer.Option("--next", min=1, max=100, help="Runs per source.")] = 3,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Each scheduled source's next runs (UTC). Example: vemeter schedule show configs/example.yaml"""
    from crawler.service import next_runs

    cfg = load_config(config)
    rows: list[dict[str, Any]] = []
    for name, expression, times in next_runs(cfg, count):
        for n, when in enumerate(times, 1):
            rows.append(
                {
                    "source": name,
                    "schedule": expression,
                    "n": n,
                    "run_at": f"{when:%Y-%m-%d %H:%M} UTC"
                    if fmt == Format.table
                    else when.isoformat() + "Z",
                }
            )
    unscheduled = [s.name for s in cfg.sources if not s.schedule]
    notes = [f"not scheduled (no `schedule`): {', '.join(unscheduled)}"] if unscheduled else []
    render(
        rows,
        ["source", "schedule", "n", "run_at"],
        fmt,
        title=f"next runs of {cfg.project}",
        notes=notes if fmt == Format.table else (),
    )


def _set(config: ConfigArg, source: str, reason: str | None) -> None:
    from crawler.errors import VemeterError
    from storage.engine import open_database, utc_now
    from storage.scheduling import put_state, set_disabled

    cfg = load_config(config)
    src = cfg.source(source)
    if not src.schedule:
        raise VemeterError(f"source {source!r} has no `schedule` in {cfg.path}")
    engine = open_database(cfg.database_url)
    try:
        now = utc_now()
        if not set_disabled(engine, source, reason, now):
            put_state(engine, source, src.schedule, now, now)
            set_disabled(engine, source, reason, now)
    finally:
        engine.dispose()


@schedule_app.command("pause")
def pause(
    config: ConfigArg,
    source: SourceArg,
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with every gap.")] = "paused",
) -> None:
    """Pause a source: `vemeter run` runs none of its periods and writes them as gaps (disabled)."""
    _set(config, source, reason)
    err.print(
        f"Paused {source}: its periods are written as gaps until `vemeter schedule resume`.",
        highlight=False,
    )


@schedule_app.command("resume")
def resume(config: ConfigArg, source: SourceArg) -> None:
    """Resume a paused source: its next period runs as a catch-up run covering the gap."""
    _set(config, source, None)
    err.print(f"Resumed {source}.", highlight=False)
