"""One pool job's crawl: one target (or one search) of one source, in a process of its own.

`python -m crawler.pool_job CONFIG SOURCE UNIT` is what a worker of the pool (crawler.pool)
starts for each job: Scrapy's Twisted reactor cannot restart inside the long-lived worker.
UNIT is a target of the source, or `search:QUERY` for one of its searches. The crawl is the
ordinary one (`run_crawl`) on a copy of the config that holds only that unit, so resume
points, idempotent storage and the run record are the same code path as `vemeter crawl`.

The process dies with its worker: it asks the kernel for SIGKILL when its parent dies
(Linux), so a worker killed with -9 leaves no crawl behind that would race the job's retry.
On a PostgreSQL database its rate limits are the pool's (crawler.ratelimit: one budget per
token and host in the database, for every worker on every machine).

The last line on stdout is a JSON summary: status, posts new / seen, the crawl run's id.
Exit code 0 when the crawl stored what it could (ok or partial), 1 when it failed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

SEARCH_PREFIX = "search:"
PARENT_ENV = "VEMETER_POOL_PARENT"  # the worker's pid: a job whose worker is gone stops


def die_with_parent() -> None:
    """SIGKILL this process when its parent (the worker) dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the retry still holds
            pass
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        sys.exit(3)  # the worker died before the request above took effect


def units_of(source: object) -> list[str]:
    """A source's job units: each target, then each search as `search:QUERY`."""
    targets = list(getattr(source, "targets", []) or [])
    searches = list(getattr(source, "searches", []) or [])
    return targets + [SEARCH_PREFIX + q for q in searches]


def narrowed(config: object, source_name: str, unit: str) -> object:
    """A copy of the project config whose only source is `source_name` with only `unit`."""
    from crawler.config import ProjectConfig

    assert isinstance(config, ProjectConfig)
    source = config.source(source_name)
    if unit.startswith(SEARCH_PREFIX) and unit[len(SEARCH_PREFIX) :] in source.searches:
        only = source.model_copy(update={"targets": [], "searches": [unit[len(SEARCH_PREFIX) :]]})
    elif unit in source.targets:
        only = source.model_copy(update={"targets": [unit], "searches": []})
    else:
        from crawler.errors import ConfigError

        raise ConfigError(
            [f"{config.path}: source {source_name!r} has no target or search {unit!r} (any more)"]
        )
    return config.model_copy(update={"sources": [only]})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m crawler.pool_job CONFIG SOURCE UNIT", file=sys.stderr)
        return 2
    die_with_parent()
    from rich.console import Console

    from crawler.config import ProjectConfig, load_config
    from crawler.errors import VemeterError
    from crawler.runner import run_crawl

    config_path, source, unit = Path(args[0]), args[1], args[2]
    err = Console(stderr=True, soft_wrap=True)
    try:
        cfg = load_config(config_path)
        if cfg.database_url.startswith("postgresql"):
            os.environ.setdefault("VEMETER_RATELIMIT_DATABASE", cfg.database_url)
        one = narrowed(cfg, source, unit)
        assert isinstance(one, ProjectConfig)
        summary = run_crawl(one, source=source, console=err)
    except VemeterError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        print(json.dumps({"status": "failed", "error": str(exc)[:300]}))
        return 1
    targets = [
        {"target": t.target, "status": t.status, "reason": t.reason} for t in summary.targets
    ]
    print(
        json.dumps(
            {
                "status": summary.status,
                "posts_new": summary.new,
                "posts_seen": summary.seen,
                "runs": [r.id for r in summary.runs],
                "targets": targets,
            }
        ),
        flush=True,
    )
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
