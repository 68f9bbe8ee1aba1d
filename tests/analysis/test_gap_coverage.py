"""Gaps are data: the schedule's gap ledger in `stats` provenance and the report's coverage, so a
prevalence series never hides a hole."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from analysis.provenance import provenance
from storage.engine import open_database
from storage.gaps import record_gap
from tests.analysis.test_report import build, html_only, tables
from tests.cli import vemeter

MARCH = datetime(2025, 3, 5, 6, 0)


def ledger(engine: Engine) -> None:
    record_gap(
        engine, "vk-src", first_slot=MARCH, last_slot=datetime(2025, 3, 5, 18), periods=3,
        reason="downtime", detail="no service", now=MARCH,
    )  # fmt: skip
    record_gap(
        engine, "vk-src", first_slot=datetime(2026, 1, 1), last_slot=datetime(2026, 1, 1),
        periods=1, reason="failed", detail="exit code 1", now=MARCH,
    )  # fmt: skip


def test_provenance_lists_the_gaps_in_its_window(engine: Engine) -> None:
    ledger(engine)
    whole = provenance(engine, project="p", config_hash="h", since=None, until=None,
                       estimate="naive")  # fmt: skip
    assert [(g["reason"], g["periods"], g["status"]) for g in whole.coverage.gaps] == [
        ("downtime", 3, "open"), ("failed", 1, "open"),
    ]  # fmt: skip
    assert whole.coverage.gaps[0]["first"] == "2025-03-05T06:00:00Z"
    (line,) = [ln for ln in whole.lines() if ln.startswith("gaps:")]
    assert line.startswith("gaps: 4 scheduled period(s) not run on time: vk-src downtime")
    march = provenance(engine, project="p", config_hash="h", since=datetime(2025, 3, 1),
                       until=datetime(2025, 4, 1), estimate="naive")  # fmt: skip
    assert [g["reason"] for g in march.coverage.gaps] == ["downtime"]


def test_stats_and_the_report_show_the_gaps(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    build(engine)
    ledger(engine)
    page = html_only(engine, tmp_path)
    assert "Scheduled periods not run on time: 4 in 2 gap(s)." in page
    rows = [r for table in tables(page).get("Coverage", []) for r in table]
    assert [
        "vk-src",
        "downtime",
        "2025-03-05T06:00:00Z",
        "2025-03-05T18:00:00Z",
        "3",
        "open",
    ] in rows
    engine.dispose()
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    out = vemeter("stats", str(config), "--format", "json")
    assert out.returncode == 0, out.stderr
    gaps = json.loads(out.stdout)["provenance"]["coverage"]["gaps"]
    assert [g["reason"] for g in gaps] == ["downtime", "failed"]
    table = vemeter("stats", str(config))
    assert "gaps: 4 scheduled period(s) not run on time" in table.stdout + table.stderr
