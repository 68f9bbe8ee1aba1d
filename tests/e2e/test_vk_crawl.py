"""Crawls of the local fake VK API through the real `vemeter` command, end to end."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.vk_data import FakeCommunity, FakePost, Scenario, synthetic_scenario
from tests.e2e.conftest import TOKEN, Crawled, Project, copy_project, crawled_vk, write_config

pytestmark = pytest.mark.e2e


def reachable(scenario: Scenario) -> dict[str, list[FakePost]]:
    return {
        c.screen_name: c.posts
        for c in scenario.communities
        if not c.is_closed and not c.deactivated and c.wall_error is None
    }


MISSING = ["club999999", "no_such_name"]  # an id and a screen name VK does not know


@pytest.fixture(scope="module")
def walls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """Six communities, one closed and one deleted, errors 6 and 503 injected, and two targets
    that do not exist: crawled once for the tests that only read the result."""
    scenario = synthetic_scenario(communities=6, posts_per_community=450, seed=1)
    targets = [c.screen_name for c in scenario.communities] + MISSING
    with crawled_vk(tmp_path_factory.mktemp("walls"), scenario, targets) as crawl:
        yield crawl


@pytest.fixture(scope="module")
def quiet_walls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """Three open communities without injected errors, one named by its id, crawled once;
    the tests that crawl again do it on a copy, against a server of their own."""
    scenario = synthetic_scenario(
        communities=3, posts_per_community=250, seed=2, closed=0, deleted=0, with_errors=False
    )
    first, *others = scenario.communities
    targets = [f"club{first.id}"] + [c.screen_name for c in others]
    with crawled_vk(tmp_path_factory.mktemp("quiet"), scenario, targets) as crawl:
        yield crawl


def test_six_communities_every_reachable_post_once(walls: Crawled) -> None:
    done, scenario = walls.done, walls.scenario
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    truth = reachable(scenario)
    by_target = {row["target"]: row for row in walls.project.stats("target")}
    assert set(by_target) == set(truth)
    for name, posts in truth.items():
        assert by_target[name]["posts"] == len(posts), name
        assert by_target[name]["flagged"] >= sum(p.flagged for p in posts) * 0.9, name
    # Closed and deleted communities are reported with their reason; the crawl still succeeds.
    assert (
        "demo_news_6" in done.stdout + done.stderr
        and "closed community" in done.stdout + done.stderr
    )
    assert "demo_news_5" in done.stdout + done.stderr and "deleted" in done.stdout + done.stderr
    # Injected error 6 and HTTP 503 were retried transparently (on the six communities' walls).
    wall_calls = [
        r
        for r in walls.requests
        if r.method == "wall.get" and r.params.get("owner_id") != "-999999"
    ]
    assert len(wall_calls) > sum(len(p) // 100 + 1 for p in truth.values())


def test_second_run_fetches_only_new_posts(
    quiet_walls: Crawled, tmp_path: Path, fake_vk: Any
) -> None:
    assert quiet_walls.done.returncode == 0, quiet_walls.done.stderr
    first = quiet_walls.project.stats()
    calls_first = quiet_walls.calls("wall.get")

    # Two posts appear on the first wall between runs.
    scenario = copy.deepcopy(quiet_walls.scenario)
    community = scenario.communities[0]
    top = max(p.id for p in community.posts)
    for k in (1, 2):
        community.posts.insert(
            1,
            FakePost(
                id=top + k,
                owner_id=-community.id,
                from_id=-community.id,
                date=community.posts[1].date + 60 * k,
                text="Новости города",
                views=1,
                likes=0,
                reposts=0,
                comments=0,
            ),
        )
    server = fake_vk(scenario)
    project = copy_project(
        quiet_walls.project, tmp_path, {quiet_walls.server.api_base: server.api_base}
    )
    second = project.crawl()
    assert second.returncode == 0, second.stderr
    assert "2 new posts" in second.stdout + second.stderr
    assert project.stats()[0]["posts"] == first[0]["posts"] + 2
    # One page per community: paging stopped at the newest post of the first run.
    assert server.calls("wall.get") == 3 < calls_first


def test_posts_published_while_paging_are_stored_once(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=1,
        posts_per_community=420,
        seed=3,
        closed=0,
        deleted=0,
        with_errors=False,
        new_posts=(2, 7),
    )
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, ["demo_news_1"])
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    # The 420 posts that existed when paging began are all there, once; the 7 newer ones
    # shifted the offsets and are left for the next run (or caught on the shifted page).
    stored = project.stats()[0]["posts"]
    assert 420 <= stored <= 427
    rerun = project.crawl()
    assert rerun.returncode == 0
    assert project.stats()[0]["posts"] == 427


def test_old_pinned_post_does_not_stop_a_since_window(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=1, posts_per_community=300, seed=4, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    posts = scenario.communities[0].posts
    assert posts[0].is_pinned
    project = write_config(tmp_path, server.api_base, ["demo_news_1"], since="2025-12-01")
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    from datetime import UTC, datetime

    cutoff = datetime(2025, 12, 1, tzinfo=UTC).timestamp()
    in_window = [p for p in posts if not p.is_pinned and p.date >= cutoff]
    assert 0 < len(in_window) < len(posts) - 1
    assert project.stats()[0]["posts"] == len(in_window)
    # Paging stopped at the window: not the whole wall.
    assert server.calls("wall.get") <= len(in_window) // 100 + 2


def test_errors_5_15_18_100_each_end_only_their_target(walls: Crawled, tmp_path: Path) -> None:
    done = walls.done
    assert done.returncode == 0, done.stderr
    for needle in ("closed community", "deleted", "club999999", "not found", "no_such_name"):
        assert needle in done.stdout + done.stderr, needle
    targets = {r["target"] for r in walls.project.stats("target")}
    assert targets == set(reachable(walls.scenario)) == {f"demo_news_{i}" for i in range(1, 5)}

    project = copy_project(walls.project, tmp_path)  # this run is recorded too
    bad_token = project.crawl("--full", env={"VK_TOKEN": "wrong-token-000"})
    assert bad_token.returncode == 1
    assert (
        "VK error 5" in bad_token.stdout + bad_token.stderr
        and "VK_TOKEN" in bad_token.stdout + bad_token.stderr
    )
    assert "wrong-token-000" not in bad_token.stderr
    assert "Traceback" not in bad_token.stderr


def test_rate_limit_three_per_second_per_token(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=3, posts_per_community=300, seed=6, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(
        tmp_path, server.api_base, [c.screen_name for c in scenario.communities], rps=3
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert len(server.request_log) >= 10
    assert server.max_requests_in_window(window=1.0) <= 3


def test_reposts_and_empty_posts_are_counted(tmp_path: Path, fake_vk: Any) -> None:
    base = 1_767_000_000
    community = FakeCommunity(
        id=5550001,
        screen_name="reposts",
        name="Reposts",
        posts=[
            FakePost(
                id=3,
                owner_id=-5550001,
                from_id=-5550001,
                date=base + 3,
                text="",
                views=5,
                likes=0,
                reposts=0,
                comments=0,
                copy_history=[
                    {
                        "id": 9,
                        "owner_id": -777,
                        "from_id": -777,
                        "date": base,
                        "text": "Суд рассмотрел дело о членстве в ИГИЛ",
                    }
                ],
            ),
            FakePost(
                id=2,
                owner_id=-5550001,
                from_id=-5550001,
                date=base + 2,
                text="",
                views=5,
                likes=0,
                reposts=0,
                comments=0,
                attachments=[{"type": "photo", "photo": {"id": 1}}],
            ),
            FakePost(
                id=1,
                owner_id=-5550001,
                from_id=123456,
                date=base + 1,
                text="Погода: завтра снег",
                views=None,
                likes=0,
                reposts=0,
                comments=0,
            ),
        ],
    )
    server = fake_vk(Scenario(communities=[community], errors=[], search_posts={}))
    project = write_config(tmp_path, server.api_base, ["reposts"])
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert project.stats() == [{"posts": 3, "flagged": 1}]
    db = sqlite3.connect(tmp_path / "e2e.db")
    rows = dict(db.execute("select post_id, coalesce(text, '') from posts").fetchall())
    authors = [a for (a,) in db.execute("select author from posts")]
    assert "ИГИЛ" in rows["-5550001_3"]  # flagged: text kept, with the reposted original
    assert rows["-5550001_1"] == ""  # not flagged: text not kept (keep_text: flagged)
    assert all(a is None or (len(a) == 32 and "123456" not in a) for a in authors)
    db.close()
    # Neither the token nor a raw author id is anywhere in the database files.
    for path in tmp_path.glob("e2e.db*"):
        content = path.read_bytes()
        assert TOKEN.encode() not in content and b"123456" not in content, path


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "project: x\nsources:\n  - {name: a, platform: vk, targets: [club1], rate: 3}\n",
        encoding="utf-8",
    )
    done = Project(tmp_path, path).run("crawl", str(path))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"Error: {path}: sources.0.rate: unknown key (check its spelling against configs/example.yaml)"
    )
    missing_key = Project(tmp_path, path).run("config", "check", str(tmp_path / "nope.yaml"))
    assert missing_key.returncode == 2 and "file not found" in missing_key.stderr


def test_missing_token_is_one_clear_line(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=1, posts_per_community=10, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, ["demo_news_1"])
    # In-process: the check comes before any crawl starts (tests.cli refuses to start one).
    done = project.run("crawl", str(project.config), env={"VK_TOKEN": ""})
    assert done.returncode == 1
    assert done.stderr.startswith("Error: environment variable VK_TOKEN is not set")
    assert len(done.stderr.strip().splitlines()) == 1
    assert server.calls("*") == 0


def test_a_target_that_falls_silent_is_a_likely_break(
    quiet_walls: Crawled, tmp_path: Path, fake_vk: Any
) -> None:
    assert quiet_walls.done.returncode == 0, quiet_walls.done.stderr
    with closing(sqlite3.connect(quiet_walls.project.dir / "e2e.db")) as db:
        (classifiers,) = db.execute("select classifiers from crawl_runs").fetchone()
    assert "py3langid@" in classifiers and "lexicon@" in classifiers  # every figure is reproducible

    # The second wall now answers with no posts at all (a changed API, a lost scope, a ban).
    scenario = copy.deepcopy(quiet_walls.scenario)
    scenario.communities[1].posts.clear()
    server = fake_vk(scenario)
    project = copy_project(
        quiet_walls.project, tmp_path, {quiet_walls.server.api_base: server.api_base}
    )
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert (
        "likely break" in done.stdout + done.stderr and "demo_news_2" in done.stdout + done.stderr
    )
    with closing(sqlite3.connect(tmp_path / "e2e.db")) as db:
        rows = dict(db.execute("select target, status from run_targets where run_id = 2"))
    first = f"club{scenario.communities[0].id}"
    assert rows == {first: "ok", "demo_news_2": "error", "demo_news_3": "ok"}
