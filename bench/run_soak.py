"""Soak: `vemeter run` on a one-minute cron against a local fake VK API, for ten minutes.

Kept out of the test suite (it takes as long as it is told to). The fake API publishes new
posts on every wall each minute; after `--minutes` the service gets SIGTERM, one last
`vemeter crawl` fetches what was published since its last run, and the script reports:
scheduled runs by status, crawl runs, posts stored against posts published (exact), duplicate
posts, overlapping runs of the source, and the gap ledger.

    python bench/run_soak.py [--minutes 10] [--communities 3] [--posts 300] [--new 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spiders.fakes.vk import FakeVK  # noqa: E402
from spiders.fakes.vk_data import synthetic_scenario  # noqa: E402

TOKEN = "soak-token-1234567890"
ENV = {
    **os.environ,
    "VK_TOKEN": TOKEN,
    "VEMETER_PSEUDONYM_KEY": "soak-pseudonym-key-0123456789abcdef",
}


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute(sql).fetchall()


def overlaps(intervals: list[tuple[str, str | None]]) -> int:
    """Pairs of consecutive intervals (sorted by start) where one starts before the other ends."""
    ordered = sorted(intervals)
    return sum(
        1 for (_, end), (start, _) in itertools.pairwise(ordered) if end is None or start < end
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--communities", type=int, default=3)
    parser.add_argument("--posts", type=int, default=300, help="posts per wall at the start")
    parser.add_argument("--new", type=int, default=5, help="posts published per wall per minute")
    args = parser.parse_args()

    scenario = synthetic_scenario(
        communities=args.communities, posts_per_community=args.posts, seed=7, closed=0,
        deleted=0, with_errors=False,
    )  # fmt: skip
    server = FakeVK(scenario, token=TOKEN).start()
    folder = Path(tempfile.mkdtemp(prefix="vemeter-soak-"))
    config = folder / "soak.yaml"
    targets = ", ".join(c.screen_name for c in scenario.communities)
    config.write_text(
        "project: soak\nstorage: {url: 'sqlite:///soak.db'}\nsources:\n"
        f"  - {{name: vk-soak, platform: vk, api_base: '{server.api_base}', "
        f"requests_per_second: 20, targets: [{targets}], schedule: '* * * * *'}}\n",
        encoding="utf-8",
    )
    db = folder / "soak.db"
    log = (folder / "service.log").open("w")
    began = time.monotonic()
    service = subprocess.Popen(
        [sys.executable, "-m", "crawler.commands", "run", str(config)],
        cwd=folder, env=ENV, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    published = 0
    try:
        next_publish = began + 60
        while time.monotonic() - began < args.minutes * 60:
            time.sleep(1)
            if service.poll() is not None:
                raise SystemExit(f"the service exited early ({service.returncode}); see {log.name}")
            if time.monotonic() >= next_publish:
                with server._lock:  # the fake's own wall objects: new posts on every wall
                    for wall in server._walls.values():
                        wall.publish(args.new)
                published += args.new * len(scenario.communities)
                next_publish += 60
    finally:
        service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=120)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
    stopped = time.monotonic()
    final = subprocess.run(
        [sys.executable, "-m", "crawler.commands", "crawl", str(config)],
        cwd=folder, env=ENV, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    server.stop()
    total = args.posts * args.communities + published
    jobs = query(db, "SELECT status, count(*) FROM scheduled_runs GROUP BY status")
    runs = query(db, "SELECT started_at, finished_at FROM crawl_runs ORDER BY id")
    scheduled = query(db, "SELECT started_at, finished_at FROM scheduled_runs ORDER BY id")
    posts, distinct = query(db, "SELECT count(*), count(DISTINCT post_id) FROM posts")[0]
    gaps = query(
        db, "SELECT reason, periods, first_slot, last_slot, closed_at IS NULL FROM schedule_gaps"
    )
    kinds = query(db, "SELECT kind, count(*) FROM scheduled_runs GROUP BY kind")
    figures = {
        "minutes": round((stopped - began) / 60, 2),
        "scheduled_runs": dict(jobs),
        "kinds": dict(kinds),
        "crawl_runs": len(runs),  # the scheduled ones and the final manual crawl
        "posts_published": total,
        "posts_stored": posts,
        "duplicates": posts - distinct,
        "overlapping_crawl_runs": overlaps([(s, f) for s, f in runs]),
        "overlapping_scheduled_runs": overlaps([(s, f) for s, f in scheduled]),
        "gaps": [
            {"reason": r, "periods": p, "first": f, "last": la, "open": bool(o)}
            for r, p, f, la, o in gaps
        ],
        "final_crawl_exit": final.returncode,
        "folder": str(folder),
    }
    print(json.dumps(figures, indent=2))
    ok = posts == total and posts == distinct and not figures["overlapping_crawl_runs"]
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
