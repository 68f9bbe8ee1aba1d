"""`vemeter run`: the scheduling service, in the foreground (systemd, a container)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg
from crawler.config import load_config
from crawler.errors import ConfigError

err = Console(stderr=True, soft_wrap=True)


def run(
    config: ConfigArg,
    tolerance: Annotated[
        float | None,
        typer.Option(
            "--tolerance",
            min=0,
            help="Seconds a period may start late before it counts as a gap "
            "(default: half the period, at most 600).",
        ),
    ] = None,
    stop_timeout: Annotated[
        float,
        typer.Option(
            "--stop-timeout",
            min=0,
            help="On SIGTERM, seconds a running crawl gets to finish before it is killed.",
        ),
    ] = 60.0,
    tick: Annotated[
        float | None,
        typer.Option(
            "--tick",
            min=0.05,
            hidden=True,
            help="Tests: one minute of the schedule lasts this many real seconds.",
        ),
    ] = None,
    max_runs: Annotated[
        int | None,
        typer.Option("--max-runs", min=1, hidden=True, help="Tests: stop after this many runs."),
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.01, hidden=True, help="Real seconds between looks.")
    ] = 1.0,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=1,
            max=64,
            help="PostgreSQL worker pool: crawl jobs this worker runs at once (each a process).",
        ),
    ] = 1,
    no_schedule: Annotated[
        bool,
        typer.Option(
            "--no-schedule",
            hidden=True,
            help="PostgreSQL worker pool: run jobs only, never take the scheduler role.",
        ),
    ] = False,
) -> None:
    """Run the scheduled crawls of CONFIG until stopped (SIGTERM, Ctrl-C). Example: vemeter run configs/example.yaml"""
    from crawler.service import ScaledClock, Service, SystemClock

    cfg = load_config(config)
    if not any(s.schedule for s in cfg.sources):
        raise ConfigError(
            [
                f"{cfg.path}: no source has a `schedule` (add one, e.g. "
                'schedule: "0 */6 * * *", to each source `vemeter run` should crawl)'
            ]
        )
    clock = ScaledClock(60.0 / tick) if tick else SystemClock()
    if cfg.database_url.startswith("postgresql"):
        # PostgreSQL: this process is one worker of a pool (crawler.pool), on any machine.
        from crawler.pool import Pool

        pool = Pool(
            cfg, clock=clock, tolerance=tolerance, poll=poll, stop_timeout=stop_timeout,
            concurrency=jobs, max_runs=max_runs, schedule=not no_schedule,
            say=lambda line: err.print(line, highlight=False, markup=False),
        )  # fmt: skip
        pstats = pool.run()
        ended = ", ".join(f"{n} {s}" for s, n in sorted(pstats.finished.items())) or "none"
        err.print(
            f"vemeter run stopped: {pstats.jobs_run} job(s) run here, ended: {ended}; "
            f"{pstats.deferred_runs} run(s) with {pstats.deferred_jobs} job(s) queued, "
            f"{pstats.stalled_retried} stalled job(s) retried, {pstats.gaps} gap(s) written",
            highlight=False,
        )
        return
    service = Service(
        cfg, clock=clock, tolerance=tolerance, poll=poll, stop_timeout=stop_timeout,
        max_runs=max_runs, say=lambda line: err.print(line, highlight=False, markup=False),
    )  # fmt: skip
    stats = service.run()
    ended = ", ".join(f"{n} {s}" for s, n in sorted(stats.finished.items())) or "none"
    err.print(
        f"vemeter run stopped: {stats.started} run(s) started, ended: {ended}; "
        f"{stats.gaps} gap(s) written",
        highlight=False,
    )
