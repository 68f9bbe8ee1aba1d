"""`vemeter status`: each source's last and next run, open gaps and problems (a source switched
off, targets that likely broke); each target's yield against its baseline; the latest runs, with
those in flight and their heartbeat, and killed ones marked interrupted; the key period."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg
from crawler.commands.output import Format, render, to_json
from crawler.config import load_config

err = Console(stderr=True, soft_wrap=True)

COLUMNS = (
    "run", "status", "started", "finished", "new", "seen", "flagged", "requests", "process",
    "heartbeat", "message",
)  # fmt: skip
SOURCE_COLUMNS = (
    "source", "schedule", "last_run", "last_status", "last_started", "next_run", "in_flight",
    "open_gaps", "missed_periods", "paused", "problems",
)  # fmt: skip
TARGET_COLUMNS = (
    "source", "target", "last_run", "last_started", "target_status", "new", "shown", "pages",
    "baseline_new", "baseline_shown", "health", "detail",
)  # fmt: skip
TARGET_TABLE = (
    "source", "target", "last_run", "target_status", "new", "shown", "baseline_new",
    "baseline_shown", "health",
)  # fmt: skip
GAP_COLUMNS = ("gap", "source", "reason", "first", "last", "periods", "status", "detail")


class View(StrEnum):
    all = "all"
    sources = "sources"
    targets = "targets"
    runs = "runs"
    gaps = "gaps"


def _when(value: Any, fmt: Format) -> str:
    if value is None:
        return ""
    return f"{value:%Y-%m-%d %H:%M}" if fmt == Format.table else value.isoformat()


def status(
    config: ConfigArg,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs to show.")] = 20,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    view: Annotated[
        View,
        typer.Option(
            "--view",
            help="What to show: all (CSV needs one of the others), sources, targets, runs, gaps.",
        ),
    ] = View.all,
) -> None:
    """Sources (last run, next run, open gaps, problems), each target's yield against its baseline (likely breaks, quiet sources), then the latest runs, newest first; runs in flight show their heartbeat, runs whose process was killed are marked interrupted. Example: vemeter status configs/example.yaml"""
    from crawler.health import LIKELY_BREAK, assess_all, fix_hint
    from crawler.schedule import Cron
    from storage.engine import open_database, utc_naive, utc_now
    from storage.gaps import list_gaps
    from storage.health import disabled_sources
    from storage.keys import key_periods
    from storage.runs import RUNNING, mark_interrupted, recent_runs
    from storage.scheduling import all_states, scheduled_runs

    if fmt == Format.csv and view == View.all:
        raise typer.BadParameter(
            "CSV holds one table: add --view sources, --view targets, --view runs or --view gaps",
            param_hint="--view",
        )
    cfg = load_config(config)
    engine = open_database(cfg.database_url)
    try:
        interrupted = mark_interrupted(engine)
        runs = recent_runs(engine, limit)
        periods = key_periods(engine)
        states = all_states(engine)
        gaps = list_gaps(engine)
        jobs = {s.name: scheduled_runs(engine, s.name, limit=1) for s in cfg.sources}
        healths = assess_all(engine, cfg)
        switched_off = disabled_sources(engine)
    finally:
        engine.dispose()
    now = utc_now()
    rows: list[dict[str, Any]] = [
        {
            "run": r.id,
            "status": r.status,
            "started": f"{r.started_at:%Y-%m-%d %H:%M}",
            "finished": f"{r.finished_at:%Y-%m-%d %H:%M}" if r.finished_at else "",
            "new": r.posts_new,
            "seen": r.posts_seen,
            "flagged": r.posts_flagged,
            "requests": r.requests,
            "process": (
                f"{r.pid} on {(r.host or '?').split('#')[0]}"
                if r.status == RUNNING and r.pid
                else ""
            ),
            "heartbeat": (
                f"{max(0, round((now - utc_naive(r.heartbeat_at)).total_seconds()))} s ago"
                if r.status == RUNNING and r.heartbeat_at
                else ""
            ),
            "message": r.message or "",
        }
        for r in runs
    ]
    targets: list[dict[str, Any]] = [
        {
            **{k: v for k, v in h.as_dict().items() if k in TARGET_COLUMNS},
            "last_started": _when(h.last_started, fmt),
            "kind": h.kind,
        }
        for h in healths
    ]
    if fmt == Format.table:
        for t in targets:
            t["health"] = f"{t['health']} ({t.pop('kind')})" if t["kind"] else t["health"]
    sources: list[dict[str, Any]] = []
    for s in cfg.sources:
        state = states.get(s.name)
        off = switched_off.get(s.name)
        if off is not None and state is not None and state.disabled_reason is None:
            off = None  # resumed by hand; the service clears the record when it next looks
        broken = [h for h in healths if h.source == s.name and h.health == LIKELY_BREAK]
        problems = ([f"disabled since {_when(off.since, Format.table)}: {off.reason}; to fix: "
                     f"{fix_hint(cfg, s.name)}"] if off else []) + [
            f"likely-break: {h.target} ({h.kind})" for h in broken
        ]  # fmt: skip
        last = jobs[s.name][-1] if jobs[s.name] else None
        open_gaps = [g for g in gaps if g.source == s.name and g.open]
        next_run = None
        if s.schedule:
            after = now
            if state is not None and state.cron == s.schedule:
                after = max(after, state.accounted_until)
            next_run = Cron(s.schedule).next_after(after)
        sources.append(
            {
                "source": s.name,
                "schedule": s.schedule or "",
                "last_run": last.id if last else None,
                "last_status": last.status if last else "",
                "last_started": _when(last.started_at if last else None, fmt),
                "next_run": _when(next_run, fmt) if next_run else "",
                "in_flight": bool(last and last.status == RUNNING),
                "open_gaps": len(open_gaps),
                "missed_periods": sum(g.periods for g in open_gaps),
                "paused": (state.disabled_reason or "") if state and not off else "",
                "problems": problems if fmt == Format.json else "; ".join(problems),
            }
        )
    gap_rows: list[dict[str, Any]] = [
        {
            "gap": g.id,
            "source": g.source,
            "reason": g.reason,
            "first": _when(g.first_slot, fmt),
            "last": _when(g.last_slot, fmt),
            "periods": g.periods,
            "status": "open" if g.open else f"covered by run {g.covered_by}",
            "detail": g.detail or "",
        }
        for g in gaps
        if g.open or view == View.gaps
    ]
    if fmt == Format.json and view == View.all:
        print(to_json({"sources": sources, "targets": targets, "runs": rows, "gaps": gap_rows}))
    elif fmt == Format.table:
        if view in (View.all, View.sources) and any(
            s["schedule"] or s["problems"] for s in sources
        ):
            render(
                sources,
                SOURCE_COLUMNS[:-1],
                fmt,
                title=f"sources of {cfg.project} (UTC; open gaps: periods not run on time)",
                notes=[f"{s['source']}: {s['problems']}" for s in sources if s["problems"]],
            )
        if view in (View.all, View.targets) and targets:
            render(
                targets,
                TARGET_TABLE,
                fmt,
                title=(
                    f"targets of {cfg.project} (latest crawl; baseline: median of the last "
                    f"{cfg.health.history} good ones; shown: posts its pages showed)"
                ),
                notes=[
                    f"{t['source']} {t['target']}: {t['detail']}"
                    for t in targets
                    if t["detail"] and t["health"] not in ("ok", "new")
                ],
            )
        if view in (View.all, View.gaps) and gap_rows:
            render(gap_rows, GAP_COLUMNS[:-1], fmt, title="gaps", notes=[
                f"gap {g['gap']}: {g['detail']}" for g in gap_rows
            ])  # fmt: skip
        if view in (View.all, View.runs):
            notes = [
                f"run {r['run']}: {r['message']}"
                for r in rows
                if r["message"] and r["status"] not in ("ok", RUNNING)
            ]
            render(
                rows,
                COLUMNS[:-1],
                fmt,
                title=f"runs of {cfg.project} (newest first, UTC)",
                notes=notes,
            )
    else:
        table, columns = {
            View.sources: (sources, SOURCE_COLUMNS),
            View.targets: (targets, (*TARGET_COLUMNS[:-1], "kind", "detail")),
            View.runs: (rows, COLUMNS),
            View.gaps: (gap_rows, GAP_COLUMNS),
        }[view]
        render(table, columns, fmt)
    if interrupted:
        err.print(
            f"Marked {len(interrupted)} run(s) interrupted (their process is gone): "
            + ", ".join(str(i) for i in interrupted),
            highlight=False,
        )
    if periods:
        p = periods[-1]
        err.print(
            f"Pseudonym key: period {p.period} since {p.started_at:%Y-%m-%d %H:%M} UTC "
            f"(fingerprint {p.fingerprint[:8]}…)",
            highlight=False,
        )
