"""Crawls of the local fake OK REST API through the real `vemeter` command, end to end."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.ok import FakeOK
from spiders.fakes.ok_data import (
    MISSING_GROUP_ID,
    ErrorRule,
    FakeGroup,
    Scenario,
    make_new_topics,
    synthetic_scenario,
)
from tests.cli import Outcome
from tests.e2e.conftest import KEY, Project

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
APP_KEY, APP_SECRET, TOKEN = "CBAOKTESTKEY", "ok-app-secret-5f3a9c", "ok-token-7d2e41b8c0"
OK_ENV = {"OK_APP_KEY": APP_KEY, "OK_APP_SECRET": APP_SECRET, "OK_TOKEN": TOKEN}
SECRETS = (APP_SECRET, TOKEN)


@pytest.fixture
def fake_ok() -> Iterator[Any]:
    servers: list[FakeOK] = []

    def start(scenario: Scenario, **kwargs: Any) -> FakeOK:
        server = FakeOK(scenario, app_key=APP_KEY, app_secret=APP_SECRET, token=TOKEN, **kwargs)
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def project(directory: Path, api_base: str, targets: list[str], extra: str = "") -> Project:
    lines = [
        "project: e2e-ok",
        "storage: {url: 'sqlite:///e2e.db'}",
        "privacy: {keep_text: flagged}",
        "sources:",
        "  - name: ok-test",
        "    platform: ok",
        f"    api_base: {api_base}",
        "    requests_per_second: 0",
        "    page_size: 40",
        "    targets: [" + ", ".join(json.dumps(t) for t in targets) + "]",
        *("    " + line for line in extra.strip().splitlines()),
    ]
    path = directory / "project.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Project(directory, path)


def crawl(
    p: Project, *args: str, env: dict[str, str] | None = None, in_process: bool = False
) -> subprocess.CompletedProcess[str] | Outcome:
    """`vemeter crawl`, in a subprocess; `in_process` for runs that must stop at the checks."""
    env = {**OK_ENV, **(env or {})}
    done = p.run("crawl", str(p.config), *args, env=env) if in_process else p.crawl(*args, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    for secret in SECRETS:
        assert secret not in done.stderr and secret not in done.stdout
    return done


def targets_table(db: Path) -> dict[str, tuple[str, str]]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select target, status, coalesce(reason, '') from run_targets "
        "where run_id = (select max(id) from crawl_runs)"
    ).fetchall()
    con.close()
    return {t: (s, r) for t, s, r in rows}


def stored_posts(db: Path) -> list[str]:
    con = sqlite3.connect(db)
    rows = [pid for (pid,) in con.execute("select post_id from posts where platform = 'ok'")]
    con.close()
    return rows


def truth(groups: list[FakeGroup]) -> list[dict[str, Any]]:
    rows = [
        {
            "platform": "ok",
            "target": g.uid,
            "posts": len(g.topics),
            "flagged": sum(t.flagged for t in g.topics),
        }
        for g in groups
    ]
    return sorted(rows, key=lambda r: r["target"])


def test_two_runs_store_every_topic_once_and_report_closed_and_missing_groups(
    tmp_path: Path, fake_ok: Any
) -> None:
    scenario = synthetic_scenario(groups=4, topics_per_group=130, seed=1, closed=1)
    server = fake_ok(scenario)  # with an injected SERVICE error and an HTTP 503, both retried
    open_groups, closed = scenario.public(), scenario.groups[-1]
    p = project(tmp_path, server.api_base, [g.uid for g in scenario.groups] + [MISSING_GROUP_ID])
    first = crawl(p)
    assert first.returncode == 0, first.stderr
    pages = sum(-(-len(g.topics) // 40) for g in open_groups)
    assert server.calls("mediatopic.getTopics") == pages + 2  # the two injected errors, retried
    assert p.stats("platform,target") == truth(open_groups)
    status = targets_table(tmp_path / "e2e.db")
    assert status[closed.uid][0] == "inaccessible" and "closed group" in status[closed.uid][1]
    assert status[MISSING_GROUP_ID] == (
        "inaccessible",
        f"group {MISSING_GROUP_ID} not found (deleted, or a wrong id)",
    )
    assert (
        "closed group" in first.stdout + first.stderr
        and MISSING_GROUP_ID in first.stdout + first.stderr
    )
    assert all(status[g.uid][0] == "ok" for g in open_groups)

    # New topics between the runs: the second run stops at the newest stored topic.
    added = {g.uid: make_new_topics(g, n) for g, n in zip(open_groups, (3, 1, 0), strict=True)}
    for g in open_groups:
        top = sum(t.is_sticky for t in g.topics)
        g.topics[top:top] = added[g.uid]  # newest first, below a sticky topic
    calls_before = server.calls("mediatopic.getTopics")
    second = crawl(p)
    assert second.returncode == 0, second.stderr
    assert "4 new posts" in second.stdout + second.stderr
    assert server.calls("mediatopic.getTopics") - calls_before == len(open_groups)
    assert p.stats("platform,target") == truth(open_groups)
    posts = stored_posts(tmp_path / "e2e.db")
    assert len(posts) == len(set(posts)) == sum(len(g.topics) for g in open_groups)
    assert not any(r.token_in_url for r in server.request_log)
    for path in tmp_path.glob("e2e.db*"):
        content = path.read_bytes()
        assert all(s.encode() not in content for s in SECRETS), path


def test_short_names_and_group_urls_resolve(tmp_path: Path, fake_ok: Any) -> None:
    scenario = synthetic_scenario(
        groups=2, topics_per_group=30, seed=2, closed=0, with_errors=False
    )
    server = fake_ok(scenario)
    a, b = scenario.groups
    targets = [
        f"https://ok.ru/{a.shortname}",
        f"https://ok.ru/group/{b.uid}",
        "ok.ru/no.such.group",
    ]
    p = project(tmp_path, server.api_base, targets)
    done = crawl(p)
    assert done.returncode == 0, done.stderr
    assert {r["target"]: r["posts"] for r in p.stats("target")} == {a.shortname: 30, b.uid: 30}
    reason = targets_table(tmp_path / "e2e.db")["no.such.group"]
    assert reason[0] == "inaccessible" and "no group at https://ok.ru/no.such.group" in reason[1]
    assert server.calls("url.getInfo") == 2


def test_topics_published_while_paging_are_stored_once(tmp_path: Path, fake_ok: Any) -> None:
    scenario = synthetic_scenario(
        groups=1, topics_per_group=150, seed=3, closed=0, with_errors=False, new_topics=(2, 6)
    )
    server = fake_ok(scenario)
    p = project(tmp_path, server.api_base, [scenario.groups[0].uid])
    assert crawl(p).returncode == 0
    assert p.stats() == [
        {"posts": 150, "flagged": sum(t.flagged for t in scenario.groups[0].topics[6:])}
    ]
    assert crawl(p).returncode == 0
    assert p.stats("target")[0]["posts"] == 156
    posts = stored_posts(tmp_path / "e2e.db")
    assert len(posts) == len(set(posts)) == 156


def test_bad_secret_is_a_clear_error_and_a_failed_crawl(tmp_path: Path, fake_ok: Any) -> None:
    scenario = synthetic_scenario(
        groups=2, topics_per_group=20, seed=4, closed=0, with_errors=False
    )
    server = fake_ok(scenario)
    p = project(tmp_path, server.api_base, [g.uid for g in scenario.groups])
    wrong = "wrong-secret-000111"
    done = crawl(p, env={"OK_APP_SECRET": wrong})
    assert done.returncode == 1
    assert (
        "OK error 104" in done.stdout + done.stderr and "OK_APP_SECRET" in done.stdout + done.stderr
    )
    assert wrong not in done.stderr
    assert server.calls("mediatopic.getTopics") == 0  # the source stopped at the first answer

    missing = crawl(p, env={"OK_APP_KEY": ""}, in_process=True)
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: environment variable OK_APP_KEY is not set")
    assert len(missing.stderr.strip().splitlines()) == 1
    assert server.calls("*") == 1


def test_flood_parks_the_key_and_keeps_what_was_collected(tmp_path: Path, fake_ok: Any) -> None:
    scenario = synthetic_scenario(
        groups=2, topics_per_group=100, seed=5, closed=0, with_errors=False
    )
    scenario.errors.append(ErrorRule("mediatopic.getTopics", code=8, nth={3}))
    server = fake_ok(scenario)
    p = project(tmp_path, server.api_base, [g.uid for g in scenario.groups])
    done = crawl(p)
    assert done.returncode == 1  # no target finished
    status = targets_table(tmp_path / "e2e.db")
    assert {s for s, _ in status.values()} == {"rate-limited"}
    assert all("OK_APP_KEY is parked" in r for _, r in status.values())
    calls = server.calls("mediatopic.getTopics")
    assert 3 <= calls <= 4  # at most the one request already in flight went out after
    assert p.stats()[0]["posts"] == (calls - 1) * 40  # every page that arrived is kept


def test_rate_limit_per_application_key(tmp_path: Path, fake_ok: Any) -> None:
    scenario = synthetic_scenario(
        groups=2, topics_per_group=60, seed=6, closed=0, with_errors=False
    )
    server = fake_ok(scenario, rps_limit=2)  # answers FLOOD_BLOCKED above 2 requests/s
    p = project(tmp_path, server.api_base, [g.uid for g in scenario.groups], "")
    p.config.write_text(
        p.config.read_text().replace("requests_per_second: 0", "requests_per_second: 2")
    )
    done = crawl(p)
    assert done.returncode == 0, done.stderr
    assert len(server.request_log) == 5 and server.max_requests_in_window(1.0) <= 2
    assert p.stats() == [
        {"posts": 120, "flagged": sum(t.flagged for g in scenario.groups for t in g.topics)}
    ]


def test_scrapy_crawl_at_debug_level_never_prints_a_secret(tmp_path: Path, fake_ok: Any) -> None:
    scenario = synthetic_scenario(
        groups=1, topics_per_group=50, seed=7, closed=0, with_errors=False
    )
    server = fake_ok(scenario)
    p = project(tmp_path, server.api_base, [scenario.groups[0].uid])
    env = {**OK_ENV, "VEMETER_PSEUDONYM_KEY": KEY, "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "ok", "-a", f"config={p.config}",
         "-s", "LOG_LEVEL=DEBUG"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "POST http://127.0.0.1" in done.stderr  # DEBUG really logged the requests
    for secret in SECRETS:
        assert secret not in done.stderr and secret not in done.stdout
    assert p.stats()[0]["posts"] == 50
