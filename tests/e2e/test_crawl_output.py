"""`vemeter crawl`: a table of every target on stdout, a JSON summary with --json, a reason
shared by several targets said once; `crawl --full` fills the text keep_text now allows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from spiders.fakes.telegram import FakeTelegram
from spiders.fakes.telegram_data import Scenario
from tests.e2e.conftest import Project
from tests.e2e.test_import_identity import IDS, channel

pytestmark = pytest.mark.e2e


@pytest.fixture
def fake_tg() -> Iterator[FakeTelegram]:
    closed = [channel("closed_one"), channel("closed_two")]
    for c in closed:
        c.restricted = True
    server = FakeTelegram(Scenario([channel("alpha_news"), channel("beta_news"), *closed])).start()
    yield server
    server.stop()


def project(directory: Path, base_url: str, keep_text: str) -> Project:
    path = directory / "p.yaml"
    path.write_text(
        "\n".join([
            "project: output",
            "storage: {url: 'sqlite:///out.db'}",
            f"privacy: {{keep_text: {keep_text}}}",
            "sources:",
            "  - name: tg",
            "    platform: telegram",
            f"    base_url: {base_url}",
            "    requests_per_second: 0",
            "    targets: [alpha_news, beta_news, closed_one, closed_two]",
        ]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    return Project(directory, path)


def texts(db: Path) -> list[str | None]:
    with closing(sqlite3.connect(db)) as conn:
        return [r[0] for r in conn.execute("select text from posts order by post_id")]


def test_every_target_in_the_table_and_the_json_and_full_fills_text(
    tmp_path: Path, fake_tg: FakeTelegram
) -> None:
    p = project(tmp_path, fake_tg.base_url, "none")
    first = p.crawl("--json", "summary.json")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Crawl finished: 22 new posts, 0 already stored" in out
    for name in ("alpha_news", "beta_news", "closed_one", "closed_two"):
        assert name in out  # every target, not only the ones with problems
    # The two closed channels share one reason: said once, with both targets.
    assert "[1] inaccessible on 2 targets (tg/closed_one, tg/closed_two):" in out
    assert out.count("[1] below") == 2
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "ok"
    assert summary["totals"] == {
        "posts_new": 22, "posts_seen": 0, "posts_flagged": 0, "targets": 4, "targets_ok": 2,
        "text_filled": 0,
    }  # fmt: skip
    rows = {t["target"]: t for t in summary["targets"]}
    assert rows["alpha_news"]["posts_new"] == len(IDS) and rows["alpha_news"]["status"] == "ok"
    assert rows["alpha_news"]["problem"] is None and rows["closed_one"]["problem"] == 1
    (problem,) = summary["problems"]
    assert problem["status"] == "inaccessible" and len(problem["targets"]) == 2
    assert texts(tmp_path / "out.db") == [None] * 22

    # keep_text: all now; a full crawl gives the stored posts their text.
    p = project(tmp_path, fake_tg.base_url, "all")
    full = p.crawl("--full", "--json", "-")
    assert full.returncode == 0, full.stderr
    again = json.loads(full.stdout)  # stdout is the JSON alone; the table went to stderr
    assert again["totals"]["posts_new"] == 0 and again["totals"]["posts_seen"] == 22
    assert again["totals"]["text_filled"] == 22
    assert "Text filled for 22 stored posts" in full.stderr
    assert all(t and "завтра снег" in t for t in texts(tmp_path / "out.db"))
