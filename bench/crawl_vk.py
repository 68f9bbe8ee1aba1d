"""Benchmark: a full vemeter crawl of the local fake VK API against the same spider with no pipelines.

Both crawl the same synthetic walls (served by a separate process, rate limits lifted), in the
same run, alternating. Reports posts/s and peak RSS of each, and writes docs/benchmarks.md's
VK section.

    python bench/crawl_vk.py [--posts 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from docsection import write_section

ROOT = Path(__file__).resolve().parents[1]
POSTS_PER_COMMUNITY = 450
ENV = {
    **os.environ,
    "VK_TOKEN": "bench-token",
    "VEMETER_PSEUDONYM_KEY": "bench-pseudonym-key-0123456789",
}


def start_server(communities: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spiders.fakes.vk",
            "--port",
            "0",
            "--communities",
            str(communities),
            "--posts",
            str(POSTS_PER_COMMUNITY),
            "--closed",
            "0",
            "--deleted",
            "0",
            "--no-errors",
            "--token",
            "bench-token",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    assert proc.stdout is not None
    api_base = proc.stdout.readline().strip()
    if not api_base.startswith("http://127.0.0.1"):
        proc.kill()
        raise SystemExit(f"fake server did not start: {api_base!r}")
    return proc, api_base


def write_config(directory: Path, api_base: str, communities: int) -> Path:
    targets = ", ".join(f"club{5550001 + i}" for i in range(communities))
    path = directory / "bench.yaml"
    path.write_text(
        "project: bench\nstorage: {url: 'sqlite:///bench.db', batch_size: 1000}\n"
        "privacy: {keep_text: flagged}\nsources:\n"
        f"  - name: vk-bench\n    platform: vk\n    api_base: {api_base}\n"
        f"    requests_per_second: 0\n    targets: [{targets}]\n",
        encoding="utf-8",
    )
    return path


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (the writer process included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run(cmd: list[str], stats_file: Path) -> dict[str, float]:
    """Run one crawl; returns posts, seconds (crawl, from Scrapy's open to close) and peak RSS."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    wall = time.monotonic() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"crawl failed: {' '.join(cmd)}\n{stderr[-2000:]}")
    stats = json.loads(stats_file.read_text())
    return {
        "posts": float(stats.get("item_scraped_count", 0)),
        "seconds": float(stats["vemeter/elapsed_seconds"]),
        "wall": wall,
        "rss_mb": max(peak[0], usage.ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone"
    )
    args = parser.parse_args()
    communities = max(1, round(args.posts / POSTS_PER_COMMUNITY))

    server, api_base = start_server(communities)
    results: dict[str, list[dict[str, float]]] = {"bare": [], "full": []}
    try:
        for round_no in range(args.rounds):
            for kind in ("bare", "full"):
                with tempfile.TemporaryDirectory() as tmp:
                    config = write_config(Path(tmp), api_base, communities)
                    stats_file = Path(tmp) / "stats.json"
                    common = ["-s", f"VEMETER_STATS_FILE={stats_file}", "-s", "LOG_LEVEL=WARNING"]
                    if kind == "bare":
                        cmd = [
                            sys.executable,
                            "-m",
                            "scrapy",
                            "crawl",
                            "vk",
                            "-a",
                            f"config={config}",
                            "-s",
                            "ITEM_PIPELINES={}",
                            *common,
                        ]
                    else:
                        cmd = [
                            sys.executable,
                            "-m",
                            "scrapy",
                            "crawl",
                            "vk",
                            "-a",
                            f"config={config}",
                            *common,
                        ]
                    r = run(cmd, stats_file)
                    results[kind].append(r)
                    print(
                        f"round {round_no + 1} {kind:4}: {r['posts']:,.0f} posts in {r['seconds']:.2f}s "
                        f"= {r['posts'] / r['seconds']:,.0f} posts/s, peak RSS {r['rss_mb']:.0f} MB",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait()

    def rate(kind: str) -> float:
        return statistics.median(r["posts"] / r["seconds"] for r in results[kind])

    bare, full = rate("bare"), rate("full")
    rss = max(r["rss_mb"] for r in results["full"])
    bare_rss = max(r["rss_mb"] for r in results["bare"])
    posts = results["full"][0]["posts"]
    ratio = full / bare
    print(
        f"\nbare spider {bare:,.0f} posts/s · full pipeline {full:,.0f} posts/s · ratio {ratio:.2f} · "
        f"peak RSS {rss:.0f} MB for {posts:,.0f} posts"
    )
    if not args.no_write:
        write_doc(bare, full, ratio, rss, bare_rss, posts, args.rounds)


def write_doc(
    bare: float, full: float, ratio: float, rss: float, bare_rss: float, posts: float, rounds: int
) -> None:
    body = f"""
## VK crawl: full pipeline against the bare spider (`bench/crawl_vk.py`)

{posts:,.0f} posts from the local fake VK API (separate process, rate limits lifted), median of
{rounds} rounds, {os.cpu_count()} cores, Python {sys.version.split()[0]}, measured {time.strftime("%Y-%m-%d")}.
Bare = the same VK spider with `ITEM_PIPELINES={{}}`; full = normalise, de-duplicate,
classify (language + lexicon) and store in SQLite, as `vemeter crawl` does.

| run | posts/s | peak RSS (all processes) |
|---|---:|---:|
| bare spider (baseline) | {bare:,.0f} | {bare_rss:.0f} MB |
| full pipeline | {full:,.0f} | {rss:.0f} MB |
| **ratio full / bare** | **{ratio:.2f}×** | |
"""
    write_section("bench/crawl_vk.py", body)


if __name__ == "__main__":
    main()
