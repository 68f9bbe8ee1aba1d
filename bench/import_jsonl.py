"""Benchmark: `vemeter import` of a 100,000-row JSON-lines file with 1% malformed rows.

Baseline in the same run: `vemeter import --check` on the same file (read, parse and validate
every row, store nothing), the floor any import pays. Figures go to docs/benchmarks.md.

    python bench/import_jsonl.py [--rows 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docsection import write_section

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "VEMETER_PSEUDONYM_KEY": "bench-pseudonym-key-0123456789"}
TEXTS = [
    "Погода в Бишкеке: завтра снег и сильный ветер, водителям советуют быть осторожнее",
    "Алматыда жаңа мектеп ашылды, оқушылар қуанышты",
    "Ertaga Toshkentda havo issiq bo'ladi, yomg'ir kutilmayapti",
    "Court hears case about ISIS membership; the hearing continues next week",
    "Душанбе: дар бозор нархи меваҳо арзон шуд",
    "Суд рассмотрел дело о членстве в ИГИЛ, заседание продолжится завтра",
    "City council approves new bus routes for the winter season",
]


def make_file(path: Path, rows: int) -> int:
    """Write `rows` lines, 1% of them malformed in one of four ways; returns the bad count."""
    rng = random.Random(0)
    bad = 0
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            if i % 100 == 50:
                bad += 1
                fh.write(
                    [
                        "{broken",
                        "[1, 2]",
                        json.dumps({"text": "no id"}),
                        json.dumps({"id": i, "published_at": "soon"}),
                    ][i % 4]
                    + "\n"
                )
                continue
            fh.write(json.dumps({
                "id": f"chan{i % 40}/{i}", "text": rng.choice(TEXTS), "published_at": 1735700000 + i * 30,
                "author": f"user{rng.randrange(5000)}", "views": rng.randrange(10_000),
                "platform": "telegram", "source": "tg-export", "target": f"chan{i % 40}",
            }, ensure_ascii=False) + "\n")  # fmt: skip
    return bad


def run(args: list[str], cwd: Path) -> float:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "crawler.commands", *args], cwd=cwd, env=ENV,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"import failed: {done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    check: list[float] = []
    full: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data = directory / "posts.jsonl"
        bad = make_file(data, args.rows)
        for round_no in range(args.rounds):
            config = directory / f"bench{round_no}.yaml"
            config.write_text(
                f"project: bench\nstorage: {{url: 'sqlite:///bench{round_no}.db'}}\n",
                encoding="utf-8",
            )
            check.append(run(["import", str(data), "--config", str(config), "--check"], directory))
            full.append(run(["import", str(data), "--config", str(config)], directory))
            print(f"round {round_no + 1}: check {args.rows / check[-1]:,.0f} rows/s, "
                  f"import {args.rows / full[-1]:,.0f} rows/s "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
    check_rate = args.rows / statistics.median(check)
    full_rate = args.rows / statistics.median(full)
    print(
        f"\n--check {check_rate:,.0f} rows/s · import {full_rate:,.0f} rows/s ({bad:,} bad rows quarantined)"
    )
    if not args.no_write:
        write_doc(args.rows, bad, check_rate, full_rate, args.rounds)


def write_doc(rows: int, bad: int, check_rate: float, full_rate: float, rounds: int) -> None:
    body = f"""
## Import: `vemeter import` of JSON lines (`bench/import_jsonl.py`)

{rows:,} rows ({bad:,} malformed, reported by line and quarantined), short multilingual posts, median of
{rounds} rounds, wall time of the whole command (start-up included), {os.cpu_count()} cores,
measured {time.strftime("%Y-%m-%d")}. Baseline: `--check` reads and validates every row and
stores nothing; the import also classifies and stores, in two writer processes (the second
forked from the first once its classifier is built). Load average at the end:
{os.getloadavg()[0]:.1f} (other work on the machine slows the import more than the baseline).

| run | rows/s |
|---|---:|
| `vemeter import --check` (baseline) | {check_rate:,.0f} |
| `vemeter import` | {full_rate:,.0f} |
"""
    write_section("bench/import_jsonl.py", body)


if __name__ == "__main__":
    main()
