"""Source health: is a target's yield a likely break, was the source quiet, was its token refused?

Each crawl records per target the posts it stored (`posts_new`), the posts the platform showed
on the pages read (`observed`: new, already stored or outside the window) and the answers read
(`pages`). Against the median of the target's last `health.history` good runs:

- **likely-break, nothing-matched**: the target answered (pages read) but showed no post, or
  fewer than `health.min_share` of its median: a changed page or API shape, a lost scope;
- **likely-break, no-answer**: no page of the target was read where there used to be posts;
- **likely-break, layout-changed**: the spider itself found an answer of an unknown shape;
- **quiet**: the pages showed posts as usual, but none (or few) were new: the source was
  quiet, nothing is broken;
- **token-rejected**: the platform refused the source's token; the service switches the source
  off until the credentials change or `vemeter schedule resume` (no run fails every period).

A zero where the previous good run showed posts is a likely break from the first good run on;
the share of the median needs `health.min_runs` good runs. A likely break is a row of
`target_problems` from its first run until a run without it: one alert per row.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from crawler.config import HealthSettings, ProjectConfig
from crawler.targets import LAYOUT_CHANGED, OK, TOKEN_REJECTED
from storage import health as store
from storage import scheduling
from storage.health import TargetRun

__all__ = [
    "LIKELY_BREAK", "NEW", "NOTHING_MATCHED", "NO_ANSWER", "OK", "QUIET", "TargetHealth", "assess",
    "assess_all", "credentials_fingerprint", "disable", "fix_hint", "reenable_if_fixed", "review_run",
]  # fmt: skip

LIKELY_BREAK = "likely-break"
QUIET = "quiet"
NEW = "new"  # fewer good runs than a baseline needs
NOTHING_MATCHED, NO_ANSWER = "nothing-matched", "no-answer"
# A note the storage pipeline gives a target that showed nothing after showing posts: it is
# the same finding as nothing-matched, so that run is judged by its counts, not its status.
PIPELINE_BREAK = "likely break:"


@dataclass(frozen=True)
class TargetHealth:
    """One target's latest crawl against its baseline."""

    source: str
    target: str
    last_run: int | None
    last_started: datetime | None
    target_status: str
    new: int | None  # posts stored by the latest crawl
    shown: int | None  # posts its pages showed
    pages: int | None
    baseline_new: float | None  # median over the good runs before it
    baseline_shown: float | None
    baseline_runs: int
    health: str  # ok, new, quiet, likely-break, token-rejected, or the target's own status
    kind: str | None
    detail: str | None

    @property
    def problem(self) -> bool:
        return self.health in (LIKELY_BREAK, TOKEN_REJECTED)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _good(run: TargetRun) -> bool:
    return run.status == OK and run.signal is None


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def assess(
    source: str, target: str, history: list[TargetRun], settings: HealthSettings
) -> TargetHealth:
    """The health of a target from its crawls, oldest first (the last one is judged)."""
    if not history:
        return TargetHealth(
            source, target, None, None, "", None, None, None, None, None, 0, NEW, None,
            "not crawled yet",
        )  # fmt: skip
    last, before = history[-1], [r for r in history[:-1] if _good(r)][-settings.history :]
    base_new = _median([r.posts_new for r in before])
    base_shown = _median([r.observed for r in before])

    def result(health: str, kind: str | None, detail: str | None) -> TargetHealth:
        return TargetHealth(
            source, target, last.run_id, last.started_at, last.status, last.posts_new,
            last.observed, last.pages, base_new, base_shown, len(before), health, kind, detail,
        )  # fmt: skip

    if last.signal == TOKEN_REJECTED:
        return result(TOKEN_REJECTED, TOKEN_REJECTED, last.reason)
    if last.status == LAYOUT_CHANGED:
        return result(LIKELY_BREAK, LAYOUT_CHANGED, last.reason)
    judged = last.status == OK or (last.reason or "").startswith(PIPELINE_BREAK)
    if not judged:  # inaccessible, rate-limited, error: the target's own status says it
        return result(last.status, None, last.reason)
    enough = len(before) >= settings.min_runs
    share = settings.min_share
    median = f"the median of its last {len(before)} good run(s)"
    previous_shown = before[-1].observed if before else 0
    shown_low = (last.observed == 0 and previous_shown > 0) or (
        enough and base_shown is not None and base_shown > 0 and last.observed < share * base_shown
    )
    if shown_low:
        if last.pages == 0:
            return result(
                LIKELY_BREAK, NO_ANSWER,
                f"no page of the target was read, where {median} showed {base_shown:g} posts",
            )  # fmt: skip
        return result(
            LIKELY_BREAK, NOTHING_MATCHED,
            f"the page answered ({last.pages} read) but nothing matched: {last.observed} posts "
            f"shown where {median} is {base_shown:g} (a changed page or API answer, or a lost "
            "scope: check the target in a browser, and the parser)",
        )  # fmt: skip
    new_low = (
        base_new is not None
        and base_new > 0
        and (last.posts_new == 0 or (enough and last.posts_new < share * base_new))
    )
    if new_low:
        return result(
            QUIET, None,
            f"the source was quiet: its pages showed {last.observed} posts as usual, "
            f"{last.posts_new} new where {median} is {base_new:g}",
        )  # fmt: skip
    if not enough:
        return result(
            NEW, None, f"baseline after {settings.min_runs} good runs ({len(before)} so far)"
        )
    return result(OK, None, None)


def assess_all(
    engine: Engine, config: ProjectConfig, sources: Iterable[str] | None = None
) -> list[TargetHealth]:
    """Every crawled target of the config's sources (or of `sources`), by source and target."""
    names = [s.name for s in config.sources] if sources is None else list(sources)
    history = store.target_history(engine, config.health.history + 1, names)
    order = {n: i for i, n in enumerate(names)}
    return [
        assess(source, target, runs, config.health)
        for (source, target), runs in sorted(
            history.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][1])
        )
        if source in order
    ]


# --- after a run: problems opened and closed, sources switched off --------------------------


def credentials_fingerprint(config: ProjectConfig, source: str) -> str | None:
    """A SHA-256 prefix of the source's secrets as now set (never the secrets), or None."""
    names = sorted(config.source(source).secret_envs())
    if not names:
        return None
    joined = "\0".join(f"{n}={os.environ.get(n, '')}" for n in names)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def event(what: str, config: ProjectConfig, now: datetime, **fields: Any) -> dict[str, Any]:
    """An alert's JSON summary: what happened, to which project, when (UTC)."""
    return {
        "event": what,
        "project": config.project,
        "at": now.isoformat(timespec="seconds") + "Z",
        **fields,
    }


@dataclass(frozen=True)
class Finding:
    """Something new to alert on once: `key` names it across processes and restarts."""

    key: str
    source: str
    payload: dict[str, Any]


def review_run(engine: Engine, config: ProjectConfig, run_id: int, now: datetime) -> list[Finding]:
    """Judge the targets a finished crawl ran; open, extend or close their problems, switch
    off a source whose token was refused. Returns what is new (to alert on)."""
    known = {s.name for s in config.sources}
    history = store.target_history(engine, config.health.history + 1, known)
    ran = {k: v for k, v in history.items() if v and v[-1].run_id == run_id}
    problems = store.open_problems(engine)
    found: list[Finding] = []
    refused: dict[str, str] = {}
    for (source, target), runs in sorted(ran.items()):
        h = assess(source, target, runs, config.health)
        if h.health == TOKEN_REJECTED:
            refused.setdefault(source, h.detail or "the platform rejected the token")
        current = problems.get((source, target))
        if h.health == LIKELY_BREAK:
            if current is not None and current.kind == h.kind:
                store.extend_problem(engine, current.id, run_id, h.detail)
                continue
            if current is not None:
                store.resolve_problem(engine, current.id, now)
            pid = store.open_problem(
                engine, source, target, problem=LIKELY_BREAK, kind=h.kind or "", detail=h.detail,
                run_id=run_id, now=now,
            )  # fmt: skip
            found.append(
                Finding(
                    f"likely-break:{pid}", source,
                    event(
                        LIKELY_BREAK, config, now, source=source, target=target, kind=h.kind,
                        detail=h.detail, run=run_id, shown=h.shown, pages=h.pages,
                        baseline_shown=h.baseline_shown,
                    ),
                )
            )  # fmt: skip
        elif current is not None and h.health in (OK, QUIET, NEW):
            # Posts shown again: the break is over. An error or a refused token says nothing
            # about the page, so the problem stays open (and alerts no second time).
            store.resolve_problem(engine, current.id, now)
    for source, reason in refused.items():
        found.extend(disable(engine, config, source, reason, run_id=run_id, now=now))
    return found


def disable(
    engine: Engine, config: ProjectConfig, source: str, reason: str, *, run_id: int | None,
    now: datetime,
) -> list[Finding]:  # fmt: skip
    """Switch a source off until its credentials change (or `vemeter schedule resume`)."""
    why = f"token rejected: {reason}"
    if not store.disable_source(
        engine, source, why, run_id=run_id,
        credentials=credentials_fingerprint(config, source), now=now,
    ):  # fmt: skip
        return []
    scheduling.set_disabled(engine, source, why, now)
    return [
        Finding(
            f"source-disabled:{source}:{run_id}", source,
            event("source-disabled", config, now, source=source, detail=why, run=run_id,
                  fix=fix_hint(config, source)),
        )
    ]  # fmt: skip


def fix_hint(config: ProjectConfig, source: str) -> str:
    names = ", ".join(sorted(config.source(source).secret_envs())) or "its credentials"
    return (
        f"set a valid token in {names} for the service (it switches the source on again by "
        f"itself), or run: vemeter schedule resume {config.path.name} {source}"
    )


def reenable_if_fixed(
    engine: Engine, config: ProjectConfig, source: str, now: datetime
) -> str | None:
    """Switch a source on again when its credentials changed, or when it was resumed by hand
    (`vemeter schedule resume` cleared its pause); returns why, or None when it stays off."""
    off = store.disabled_sources(engine).get(source)
    if off is None:
        return None
    state = scheduling.get_state(engine, source)
    if state is not None and state.disabled_reason is None:
        store.enable_source(engine, source)
        return "resumed by hand"
    fingerprint = credentials_fingerprint(config, source)
    if fingerprint is not None and fingerprint != off.credentials:
        store.enable_source(engine, source)
        if state is not None and state.disabled_reason != off.reason:
            return None  # paused by hand since, for another reason: that pause stays
        scheduling.set_disabled(engine, source, None, now)
        return "its credentials changed"
    return None
