"""VK errors that stop a method or park a token, search paging, and the other entry points."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.vk_data import ErrorRule, synthetic_scenario
from tests.e2e.conftest import KEY, TOKEN, Project, write_config

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def statuses(db: Path) -> dict[str, tuple[str, str]]:
    rows = sqlite3.connect(db).execute(
        "select target, status, coalesce(reason, '') from run_targets"
    )
    return {t: (s, r) for t, s, r in rows}


def test_daily_quota_stops_the_method_for_the_token_and_keeps_what_was_collected(
    tmp_path: Path, fake_vk: Any
) -> None:
    scenario = synthetic_scenario(
        communities=3, posts_per_community=300, seed=7, closed=0, deleted=0, with_errors=False
    )
    # One wall fits one page, so one target ends ok before the quota runs out whatever the
    # timing (every first page goes out before any second one): the crawl itself succeeds.
    del scenario.communities[1].posts[60:]
    scenario.errors.append(ErrorRule("wall.get", code=29, nth={5}))
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, [c.screen_name for c in scenario.communities])
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    result = statuses(tmp_path / "e2e.db")
    assert result["demo_news_2"] == ("ok", "")
    limited = [t for t, (s, _) in result.items() if s == "rate-limited"]
    assert limited, result
    assert all("quota" in result[t][1] and "VK_TOKEN" in result[t][1] for t in limited)
    # Only requests already in flight (one per other target) went out after the error.
    pages = [r.params for r in server.request_log if r.method == "wall.get"]
    assert 5 <= len(pages) <= 5 + 2
    # Every page that did arrive is kept: nothing collected is lost.
    size = {-c.id: len(c.posts) for c in scenario.communities}
    arrived = pages[:4] + pages[5:]  # the fifth answered with the quota error
    expected = sum(min(100, size[int(p["owner_id"])] - int(p["offset"])) for p in arrived)
    assert project.stats()[0]["posts"] == expected


def test_captcha_parks_the_token_and_is_never_solved(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=250, seed=8, closed=0, deleted=0, with_errors=False
    )
    scenario.errors.append(ErrorRule("wall.get", code=14, nth={2}))
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, [c.screen_name for c in scenario.communities])
    done = project.crawl()
    assert done.returncode == 1  # no target finished: nothing usable
    assert "captcha" in done.stdout + done.stderr and "never solves" in done.stdout + done.stderr
    assert all(p.get("key") != "captcha_key" for rec in server.request_log for p in [rec.params])
    assert all(s == "rate-limited" for s, _ in statuses(tmp_path / "e2e.db").values())


def test_too_many_requests_is_retried_and_the_rate_lowered(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=1, posts_per_community=300, seed=9, closed=0, deleted=0, with_errors=False
    )
    scenario.errors.append(ErrorRule("wall.get", code=6, nth={1, 2}))
    scenario.errors.append(ErrorRule("wall.get", http_status=503, nth={4}))
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, ["demo_news_1"])
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert project.stats()[0]["posts"] == 300
    assert server.calls("wall.get") == 3 + 3  # three pages, two error-6 retries, one 503 retry


def test_keyword_search_pages_with_next_from(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=4, posts_per_community=400, seed=10, closed=0, deleted=0, with_errors=False
    )
    query, hits = max(scenario.search_posts.items(), key=lambda kv: len(kv[1]))
    assert len(hits) > 5
    server = fake_vk(scenario)
    extra = f"searches: [{query!r}]\nsearch_page_size: 3"
    project = write_config(tmp_path, server.api_base, [], extra=extra, since="2025-06-01")
    done = project.crawl()
    assert done.returncode == 0, done.stderr
    assert project.stats("target") == [
        {"target": f"search:{query}", "posts": len(hits), "flagged": len(hits)}
    ]
    pages = -(-len(hits) // 3)
    assert server.calls("newsfeed.search") in (pages, pages + 1)  # + an empty last page


def test_scrapy_crawl_from_the_repository_root(tmp_path: Path, fake_vk: Any) -> None:
    scenario = synthetic_scenario(
        communities=2, posts_per_community=120, seed=11, closed=0, deleted=0, with_errors=False
    )
    server = fake_vk(scenario)
    project = write_config(tmp_path, server.api_base, ["demo_news_1", "demo_news_2"])
    env = {
        "VK_TOKEN": TOKEN,
        "VEMETER_PSEUDONYM_KEY": KEY,
        "PATH": str(Path(sys.executable).parent),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "vk",
            "-a",
            f"config={project.config}",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert project.stats() == [
        {"posts": 240, "flagged": sum(p.flagged for c in scenario.communities for p in c.posts)}
    ]


def test_demo_runs_offline_and_prints_counts(tmp_path: Path) -> None:
    # A subprocess: the demo crawls, and a crawl needs a reactor of its own.
    done = Project(tmp_path, tmp_path / "unused.yaml").process(
        "demo", "--dir", str(tmp_path / "demo"), "--communities", "3", "--posts", "40"
    )
    assert done.returncode == 0, done.stderr
    assert "Posts per target" in done.stdout and "Posts per topic" in done.stdout
    assert "designated_org" in done.stdout
    assert (tmp_path / "demo" / "demo.db").exists()
    assert "closed community" in done.stdout + done.stderr
