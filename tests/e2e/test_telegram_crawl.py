"""Crawls of the local fake Telegram web preview through the real `vemeter` command, end to end."""

from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.telegram import PAGE_SIZE, FakeTelegram
from spiders.fakes.telegram_data import ErrorRule, FakeChannel, Scenario, synthetic_scenario
from spiders.telegram.parse import NO_PREVIEW
from tests.e2e.conftest import Project, copy_project

pytestmark = pytest.mark.e2e


def write_config(
    directory: Path, base_url: str, targets: list[str], *, rps: float = 0, extra: str = ""
) -> Project:
    lines = [
        "project: e2e-telegram",
        "storage: {url: 'sqlite:///e2e.db'}",
        "privacy: {keep_text: flagged}",
        "sources:",
        "  - name: tg-test",
        "    platform: telegram",
        f"    base_url: {base_url}",
        f"    requests_per_second: {rps}",
        "    targets: [" + ", ".join(json.dumps(t) for t in targets) + "]",
    ]
    lines.extend("    " + line for line in extra.strip().splitlines())
    path = directory / "project.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Project(directory, path)


@pytest.fixture
def fake_tg() -> Iterator[Any]:
    servers: list[FakeTelegram] = []

    def start(scenario: Scenario) -> FakeTelegram:
        server = FakeTelegram(scenario).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def statuses(db: Path) -> dict[str, tuple[str, str]]:
    """Each target's status and reason in the latest run."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "select target, status, coalesce(reason, '') from run_targets "
        "where run_id = (select max(run_id) from run_targets)"
    ).fetchall()
    conn.close()
    return {t: (s, r) for t, s, r in rows}


def pages(channel: FakeChannel) -> int:
    return -(-len(channel.messages) // PAGE_SIZE)


@dataclass
class Crawled:
    """One crawl of a fake Telegram, shared by the tests of a module that only read its result."""

    project: Project
    scenario: Scenario
    server: FakeTelegram
    done: subprocess.CompletedProcess[str]
    calls: int  # page requests the server received during that crawl


@contextmanager
def crawled(directory: Path, scenario: Scenario, targets: list[str]) -> Iterator[Crawled]:
    server = FakeTelegram(scenario).start()
    try:
        project = write_config(directory, server.base_url, targets)
        done = project.crawl()
        yield Crawled(project, scenario, server, done, server.calls())
    finally:
        server.stop()


def recrawl(base: Crawled, directory: Path, fake_tg: Any) -> tuple[FakeTelegram, Project]:
    """A server of its own with a copy of `base`'s channels, and a copy of its project."""
    server = fake_tg(copy.deepcopy(base.scenario))
    replace = {base.server.base_url: server.base_url}
    return server, copy_project(base.project, directory, replace)


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """Three open channels, a restricted one, one without history and one with a changed
    layout, crawled once; the tests that crawl again do it on a copy."""
    scenario = synthetic_scenario(channels=3, messages_per_channel=65, seed=1, changed_layout=1)
    # Targets written the ways people write them; all normalise to the bare username.
    written = ["@demo_tg_1", "t.me/demo_tg_2", f"https://t.me/s/{scenario.channels[2].username}"]
    written += [c.username for c in scenario.channels[3:]]
    with crawled(tmp_path_factory.mktemp("channels"), scenario, written) as crawl:
        yield crawl


def test_two_runs_store_every_post_once_and_report_unreachable_channels(
    channels: Crawled, tmp_path: Path, fake_tg: Any
) -> None:
    scenario, done, project = channels.scenario, channels.done, channels.project
    open_channels = [c for c in scenario.channels if c.reachable]
    assert len(open_channels) == 3
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    truth = {c.username: c.posts for c in open_channels}
    rows = project.stats("platform,target")
    assert {r["target"]: r["posts"] for r in rows} == {k: len(v) for k, v in truth.items()}
    assert {r["platform"] for r in rows} == {"telegram"}
    for row in rows:
        assert row["flagged"] >= sum(p.flagged for p in truth[row["target"]]), row
    result = statuses(project.dir / "e2e.db")
    assert result["restricted_tg_1"] == ("inaccessible", NO_PREVIEW)
    assert result["no_history_tg_1"] == ("inaccessible", NO_PREVIEW)
    assert result["changed_layout_tg_1"][0] == "layout-changed"
    assert all(result[name][0] == "ok" for name in truth)
    # One request per page, a redirect and its landing page, one page for each other channel.
    assert channels.calls == sum(pages(c) for c in open_channels) + 2 + 1 + 1

    # The second run, on a copy: news in two channels, served by a server of this test's own.
    server, project = recrawl(channels, tmp_path, fake_tg)
    server.publish("demo_tg_1", 3)
    server.publish("demo_tg_2", PAGE_SIZE + 5)  # more than one page of news between runs
    second = project.crawl()
    assert second.returncode == 0, second.stderr
    assert f"{3 + PAGE_SIZE + 5} new posts" in second.stdout
    after = {r["target"]: r["posts"] for r in project.stats("platform,target")}
    now_open = [c for c in server.scenario.channels if c.reachable]
    assert after == {c.username: len(c.posts) for c in now_open}  # truth includes new posts
    assert after["demo_tg_1"] == len(truth["demo_tg_1"]) + 3
    # Incremental: channel 2 needed two pages, the others one; unreachable ones are retried.
    assert server.calls() == (1 + 2 + 1) + 2 + 1 + 1

    db = sqlite3.connect(tmp_path / "e2e.db")
    total, distinct = db.execute("select count(*), count(distinct post_id) from posts").fetchone()
    assert total == distinct == sum(len(c.posts) for c in now_open)
    authors = {a for (a,) in db.execute("select author from posts where author is not null")}
    db.close()
    signatures = {p.signature for c in now_open for p in c.posts if p.signature}
    assert len(authors) == len(signatures) and not authors & signatures


def test_rate_limited_page_is_retried(tmp_path: Path, fake_tg: Any) -> None:
    scenario = synthetic_scenario(
        channels=1, messages_per_channel=45, seed=2, restricted=0, no_history=0
    )
    scenario.errors.append(ErrorRule(nth={2}, status=429, retry_after=1))
    server = fake_tg(scenario)
    project = write_config(tmp_path, server.base_url, ["demo_tg_1"])
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert project.stats()[0]["posts"] == len(scenario.channels[0].posts)
    pages_log = [r for r in server.request_log if r.path != "/robots.txt"]
    assert [r.status for r in pages_log] == [200, 429, 200, 200]
    assert pages_log[1].query == pages_log[2].query  # the same page again
    assert pages_log[2].time - pages_log[1].time >= 0.9  # Retry-After: 1 honoured
    assert statuses(tmp_path / "e2e.db") == {"demo_tg_1": ("ok", "")}


def test_rate_limited_until_retries_run_out(tmp_path: Path, fake_tg: Any) -> None:
    scenario = synthetic_scenario(
        channels=2, messages_per_channel=30, seed=3, restricted=0, no_history=0
    )
    scenario.errors.append(ErrorRule(nth=range(1, 100), retry_after=0, channel="demo_tg_2"))
    server = fake_tg(scenario)
    project = write_config(tmp_path, server.base_url, ["demo_tg_1", "demo_tg_2"])
    done = project.crawl()
    assert done.returncode == 0, done.stderr  # one target ended ok
    result = statuses(tmp_path / "e2e.db")
    assert result["demo_tg_1"] == ("ok", "")
    status, reason = result["demo_tg_2"]
    assert status == "rate-limited" and "HTTP 429" in reason, reason
    assert server.calls("demo_tg_2") == 6  # the first try and five retries


@pytest.fixture(scope="module")
def robots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """Four channels, two of them disallowed by robots.txt, crawled once for read-only tests."""
    scenario = synthetic_scenario(
        channels=4, messages_per_channel=10, seed=6, restricted=0, no_history=0
    )
    scenario.robots_disallow.extend(["/s/demo_tg_2", "/s/demo_tg_4"])
    targets = ["demo_tg_1", "demo_tg_2", "demo_tg_3", "demo_tg_4"]
    with crawled(tmp_path_factory.mktemp("robots"), scenario, targets) as crawl:
        yield crawl


def test_robots_txt_disallow_is_honoured(robots: Crawled) -> None:
    assert robots.done.returncode == 0, robots.done.stderr
    result = statuses(robots.project.dir / "e2e.db")
    assert result["demo_tg_1"][0] == "ok"
    for name in ("demo_tg_2", "demo_tg_4"):
        assert result[name][0] == "inaccessible" and "robots.txt" in result[name][1]
        assert robots.server.calls(name) == 0
    assert [r["target"] for r in robots.project.stats("target")] == ["demo_tg_1", "demo_tg_3"]


def test_window_and_rate_limit(tmp_path: Path, fake_tg: Any) -> None:
    scenario = synthetic_scenario(
        channels=2, messages_per_channel=90, seed=5, restricted=0, no_history=0
    )
    server = fake_tg(scenario)
    since, until = datetime(2025, 12, 1, tzinfo=UTC), datetime(2025, 12, 20, tzinfo=UTC)
    extra = f"since: {since:%Y-%m-%d}\nuntil: {until:%Y-%m-%d}"
    project = write_config(
        tmp_path, server.base_url, ["demo_tg_1", "demo_tg_2"], rps=4, extra=extra
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr

    def in_window(c: FakeChannel) -> int:
        return sum(since.timestamp() <= p.date < until.timestamp() for p in c.posts)

    expected = {c.username: in_window(c) for c in scenario.channels}
    assert all(
        0 < n < len(c.posts) for n, c in zip(expected.values(), scenario.channels, strict=True)
    )
    assert {r["target"]: r["posts"] for r in project.stats("target")} == expected
    # Paging stopped at the window's start instead of walking back to the first message.
    for channel in scenario.channels:
        assert server.calls(channel.username) < pages(channel)
    assert server.max_requests_in_window(1.0) <= 4


def test_robots_txt_is_checked_for_every_first_request_to_a_host(robots: Crawled) -> None:
    # Several channels start at once: each first request waits for the same robots.txt.
    assert robots.done.returncode == 0, robots.done.stderr
    assert robots.server.calls("demo_tg_2") == 0 and robots.server.calls("demo_tg_4") == 0
    assert [r["target"] for r in robots.project.stats("target")] == ["demo_tg_1", "demo_tg_3"]


def test_a_second_run_with_nothing_new_is_ok_not_a_likely_break(
    channels: Crawled, tmp_path: Path, fake_tg: Any
) -> None:
    assert channels.done.returncode == 0, channels.done.stderr
    _, project = recrawl(channels, tmp_path, fake_tg)
    again = project.crawl()
    assert again.returncode == 0, again.stderr
    assert "likely break" not in again.stderr
    assert "Crawl finished: 0 new posts," in again.stdout + again.stderr
    result = statuses(tmp_path / "e2e.db")
    assert all(result[c.username][0] == "ok" for c in channels.scenario.channels if c.reachable)
