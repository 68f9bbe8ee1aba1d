"""A target made to return empty pages: the service's real crawls against a fake VK API find
it a likely break, `vemeter status` says so, and the alert command is run exactly once.

The service runs in this process with a fake clock (periods pass when the test says so); its
crawls are real `vemeter crawl` processes against 127.0.0.1.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from threading import Event
from typing import Any

import pytest

from crawler.config import load_config
from crawler.service import CrawlProcess, Service
from spiders.fakes.vk_data import synthetic_scenario
from tests.e2e.conftest import KEY, TOKEN, write_config

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 3, 2, 10, 0, 0)
MINUTE = timedelta(minutes=1)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float, stop: Event) -> None:
        self.t += timedelta(seconds=seconds)


def alert_command(path: Path) -> str:
    """A hook that appends the JSON it reads on stdin to `path`, one alert a line."""
    script = (
        "import sys; data = sys.stdin.read(); "
        f"open({str(path)!r}, 'a', encoding='utf-8').write(data.replace(chr(10), ' ') + chr(10))"
    )
    return json.dumps([sys.executable, "-c", script])


def test_empty_pages_are_a_likely_break_in_status_and_one_alert(
    tmp_path: Path, fake_vk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=60, seed=7, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    alerts = tmp_path / "alerts.jsonl"
    project = write_config(
        tmp_path, server.api_base, [c.screen_name for c in scenario.communities],
        extra="schedule: '* * * * *'",
    )  # fmt: skip
    with project.config.open("a", encoding="utf-8") as f:
        f.write(f"health: {{min_share: 0.2, history: 10, min_runs: 3}}\n"
                f"alerts: {{command: {alert_command(alerts)}, timeout: 30}}\n")  # fmt: skip
    monkeypatch.setenv("VK_TOKEN", TOKEN)
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", KEY)
    cfg = load_config(project.config)
    clock = FakeClock(T0 + timedelta(seconds=30))
    said: list[str] = []
    svc = Service(
        cfg, clock=clock, spawn=lambda source: CrawlProcess(project.config, source),
        say=said.append,
    )  # fmt: skip
    svc.step()  # new to the schedule: first run at 10:01

    def cycle(minute: int) -> None:
        clock.t = T0 + minute * MINUTE + timedelta(seconds=1)
        svc.step()
        assert len(svc.active) == 1, said
        deadline = time.monotonic() + 120
        while svc.active and time.monotonic() < deadline:
            time.sleep(0.1)
            svc.step()
        assert not svc.active, said

    broken = scenario.communities[0]
    for minute in range(1, 4):  # three good runs: a baseline
        cycle(minute)
    wall = server._walls[broken.id]
    wall.posts, wall.rendered = [], []  # the page still answers, with nothing in it
    for minute in range(4, 6):  # two runs with empty pages: one alert
        cycle(minute)
    svc.watch.wait()
    svc.engine.dispose()

    lines = [json.loads(line) for line in alerts.read_text(encoding="utf-8").splitlines()]
    assert [a["event"] for a in lines] == ["likely-break"], said
    (alert,) = lines
    assert alert["target"] == broken.screen_name and alert["kind"] == "nothing-matched"
    assert alert["source"] == "vk-test" and alert["project"] == "e2e" and alert["shown"] == 0
    status = project.run("status", str(project.config), "--format", "json")
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    health = {t["target"]: t for t in body["targets"]}
    assert health[broken.screen_name]["health"] == "likely-break"
    assert health[broken.screen_name]["kind"] == "nothing-matched"
    assert health[broken.screen_name]["baseline_shown"] > 0
    other = scenario.communities[1].screen_name
    assert health[other]["health"] in ("ok", "quiet")
    (source,) = body["sources"]
    assert source["problems"] == [f"likely-break: {broken.screen_name} (nothing-matched)"]


def test_a_refused_token_switches_the_source_off_until_the_token_changes(
    tmp_path: Path, fake_vk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=30, seed=8, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    alerts = tmp_path / "alerts.jsonl"
    project = write_config(
        tmp_path, server.api_base, [c.screen_name for c in scenario.communities],
        extra="schedule: '* * * * *'",
    )  # fmt: skip
    with project.config.open("a", encoding="utf-8") as f:
        f.write(f"alerts: {{command: {alert_command(alerts)}, timeout: 30}}\n")
    monkeypatch.setenv("VK_TOKEN", "a-revoked-token-000000")
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", KEY)
    clock = FakeClock(T0 + timedelta(seconds=30))
    said: list[str] = []
    started: list[str] = []

    def spawn(source: str) -> CrawlProcess:
        started.append(source)
        return CrawlProcess(project.config, source)

    svc = Service(load_config(project.config), clock=clock, spawn=spawn, say=said.append)
    svc.step()

    def at(minute: int) -> None:
        clock.t = T0 + minute * MINUTE + timedelta(seconds=1)
        svc.step()
        deadline = time.monotonic() + 120
        while svc.active and time.monotonic() < deadline:
            time.sleep(0.1)
            svc.step()
        assert not svc.active, said

    at(1)  # the token is refused: the source is switched off
    at(2)
    at(3)  # two periods off: no crawl, one gap
    assert started == ["vk-test"], said
    status = project.run("status", str(project.config), "--format", "json")
    (source,) = json.loads(status.stdout)["sources"]
    assert "token rejected" in source["problems"][0] and "VK_TOKEN" in source["problems"][0]
    monkeypatch.setenv("VK_TOKEN", TOKEN)  # fixed: the next period runs again
    at(4)
    svc.watch.wait()
    svc.engine.dispose()
    assert started == ["vk-test", "vk-test"], said
    assert any("switched on again (its credentials changed)" in line for line in said)
    events = [json.loads(line)["event"] for line in alerts.read_text().splitlines()]
    assert sorted(events) == ["gap-opened", "source-disabled"], events  # delivered in parallel
    assert "a-revoked-token" not in alerts.read_text()
    total = sum(len(c.posts) for c in scenario.communities)
    body = json.loads(project.run("status", str(project.config), "--format", "json").stdout)
    assert body["sources"][0]["problems"] == []
    assert sum(t["new"] for t in body["targets"]) == total


def test_refused_ok_credentials_carry_the_token_rejected_signal(tmp_path: Path) -> None:
    import sqlite3

    from spiders.fakes.ok import FakeOK
    from spiders.fakes.ok_data import synthetic_scenario as ok_scenario
    from tests.e2e.test_ok_crawl import OK_ENV, crawl
    from tests.e2e.test_ok_crawl import project as ok_project

    scenario = ok_scenario(groups=2, topics_per_group=5, seed=4, closed=0, with_errors=False)
    server = FakeOK(
        scenario, app_key=OK_ENV["OK_APP_KEY"], app_secret=OK_ENV["OK_APP_SECRET"],
        token=OK_ENV["OK_TOKEN"],
    ).start()  # fmt: skip
    try:
        p = ok_project(tmp_path, server.api_base, [g.uid for g in scenario.groups])
        crawl(p, env={"OK_TOKEN": "a-revoked-ok-token"})
        good = crawl(p)
        assert good.returncode == 0, good.stderr
    finally:
        server.stop()
    with sqlite3.connect(tmp_path / "e2e.db") as con:
        rows = con.execute(
            "SELECT run_id, signal, pages FROM run_targets ORDER BY run_id"
        ).fetchall()
    assert [(r, s) for r, s, _ in rows] == [
        (1, "token-rejected"),
        (1, "token-rejected"),
        (2, None),
        (2, None),
    ]
    assert all(pages >= 1 for run, _, pages in rows if run == 2)
