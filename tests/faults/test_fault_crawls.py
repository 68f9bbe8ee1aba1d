"""Real crawls of fake platforms that misbehave on purpose (spiders.fakes.http.Fault).

Answers cut off mid-body, declared whole and sent in part, connections reset, stalls past the
download timeout, bursts of 429 and 503, NUL bytes, bodies over the size limit: each crawl must
retry what can be retried, store every post it could reach, record what it could not as its
target's problem with a reason, and never crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.http import Fault
from spiders.fakes.ok import FakeOK
from spiders.fakes.ok_data import synthetic_scenario as ok_scenario
from spiders.fakes.telegram import FakeTelegram
from spiders.fakes.telegram_data import synthetic_scenario as telegram_scenario
from spiders.fakes.vk import FakeVK
from spiders.fakes.vk_data import FIRST_GROUP_ID
from spiders.fakes.vk_data import synthetic_scenario as vk_scenario
from spiders.fakes.web import PATHS, FakeWeb
from spiders.fakes.web_data import default_site

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "fault-test-token-0123456789"
OK_KEYS = {"OK_APP_KEY": "CBAFAULTKEY", "OK_APP_SECRET": "fault-secret-5f3a9c", "OK_TOKEN": TOKEN}
ENV = {"VK_TOKEN": TOKEN, "VEMETER_PSEUDONYM_KEY": "fault-test-pseudonym-key-0123456789", **OK_KEYS}
RETRIES = 4
LIMIT = 256 * 1024  # DOWNLOAD_MAXSIZE of these crawls: "huge" answers are 1 MiB
# Fast back-off, a short timeout for the stalls, a small size limit for the huge bodies.
SETTINGS = {
    "VEMETER_RETRY_TIMES": RETRIES,
    "VEMETER_RETRY_BACKOFF_BASE": 0.05,
    "VEMETER_RETRY_BACKOFF_MAX": 0.2,
    "DOWNLOAD_TIMEOUT": 1,
    "DOWNLOAD_MAXSIZE": LIMIT,
    "DOWNLOAD_WARNSIZE": LIMIT // 2,
}


@dataclass
class Crawl:
    returncode: int
    stderr: str
    targets: dict[str, dict[str, Any]]
    runs: list[dict[str, Any]]


def crawl(directory: Path, source: str, settings: dict[str, Any] = SETTINGS) -> Crawl:
    config = directory / "project.yaml"
    config.write_text(
        "project: faults\nstorage: {url: 'sqlite:///faults.db'}\nprivacy: {keep_text: all}\n"
        "sources:\n" + source,
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.crawl", str(config), json.dumps(settings)],
        cwd=ROOT, env={**os.environ, **ENV}, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    targets = {line["target"]: line for line in lines if "target" in line}
    runs = [line for line in lines if "run" in line]
    return Crawl(done.returncode, done.stderr, targets, runs)


# ---- VK: JSON answers ------------------------------------------------------------------------

POSTS = 150  # two wall pages of 100
GROUPS = [FIRST_GROUP_ID + i for i in range(7)]


def wall(gid: int, offset: int) -> str:
    return f"owner_id=-{gid}&offset={offset}&"


@pytest.fixture(scope="module")
def vk_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Crawl, FakeVK]]:
    scenario = vk_scenario(len(GROUPS), POSTS, seed=3, closed=0, deleted=0, with_errors=False)
    fake = FakeVK(scenario, token=TOKEN)
    c1, c2, c3, c4, c5, c6, c7 = GROUPS
    for fault in (
        Fault("cut", match=wall(c1, 0)),  # well-formed HTTP, JSON cut off: asked again
        Fault("short", match=wall(c2, 100)),  # Content-Length longer than what came
        Fault("reset", match=wall(c3, 0)),
        Fault("status", match=wall(c3, 100), times=(1, 2), status=503),
        Fault("stall", match=wall(c4, 0), seconds=3),  # past the 1 s download timeout
        Fault("status", match=wall(c4, 100), times=(1, 2), status=429),
        Fault("nul", match=wall(c4, 100), times=(3,)),  # a raw NUL makes JSON unreadable
        Fault("cut", match=wall(c5, 0), times=()),  # every time: given up, an error
        Fault("huge", match=wall(c6, 0), size=4 * LIMIT),
        Fault("huge", match=wall(c7, 0), size=4 * LIMIT, declared=False),
    ):
        fake.faults.add(fault)
    with fake:
        targets = ", ".join(f"club{g}" for g in GROUPS)
        source = (
            f"  - {{name: vk-faults, platform: vk, api_base: '{fake.api_base}', "
            f"requests_per_second: 0, targets: [{targets}]}}\n"
        )
        yield crawl(tmp_path_factory.mktemp("vk"), source), fake


def wall_calls(fake: FakeVK, gid: int, offset: int) -> int:
    return sum(
        1
        for r in fake.request_log
        if r.method == "wall.get"
        and r.params.get("owner_id") == f"-{gid}"
        and r.params.get("offset") == str(offset)
    )


def test_vk_a_faulty_crawl_ends_normally_without_a_traceback(
    vk_crawl: tuple[Crawl, FakeVK],
) -> None:
    done, _ = vk_crawl
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Spider error" not in done.stderr
    assert [r["run"] for r in done.runs] == ["partial"]  # some targets failed, the run did not


def test_vk_recoverable_faults_are_retried_and_every_post_stored(
    vk_crawl: tuple[Crawl, FakeVK],
) -> None:
    done, fake = vk_crawl
    for gid in GROUPS[:4]:
        target = done.targets[f"club{gid}"]
        assert (target["status"], target["posts"]) == ("ok", POSTS), target
    c1, c2, c3, c4 = GROUPS[:4]
    assert wall_calls(fake, c1, 0) == 2  # cut, then whole
    assert wall_calls(fake, c2, 100) == 2  # short, then whole
    assert (wall_calls(fake, c3, 0), wall_calls(fake, c3, 100)) == (2, 3)
    assert (wall_calls(fake, c4, 0), wall_calls(fake, c4, 100)) == (2, 4)  # 429 ×2, NULs, whole
    assert fake.faults.count("stall") == 1 and fake.faults.count("nul") == 1


def test_vk_a_body_cut_off_every_time_is_an_error_after_the_cap_not_a_layout_change(
    vk_crawl: tuple[Crawl, FakeVK],
) -> None:
    done, fake = vk_crawl
    target = done.targets[f"club{GROUPS[4]}"]
    assert target["status"] == "error" and target["posts"] == 0
    assert target["reason"].startswith("wall.get at offset 0: answer is not whole JSON (cut off?")
    assert target["reason"].endswith(f"after {RETRIES + 1} attempts")
    assert wall_calls(fake, GROUPS[4], 0) == RETRIES + 1


def test_vk_an_answer_over_the_size_limit_is_an_error_and_never_asked_again(
    vk_crawl: tuple[Crawl, FakeVK],
) -> None:
    done, fake = vk_crawl
    for gid in GROUPS[5:]:
        target = done.targets[f"club{gid}"]
        assert target["status"] == "error" and target["posts"] == 0
        assert target["reason"] == (
            "wall.get: answer over the size limit of 256 KiB (DOWNLOAD_MAXSIZE)"
        ), target
        assert wall_calls(fake, gid, 0) == 1


# ---- Telegram: HTML pages --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tg_crawl(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Crawl, FakeTelegram, dict[str, int]]]:
    scenario = telegram_scenario(channels=5, messages_per_channel=30, seed=5, restricted=0,
                                 no_history=0)  # fmt: skip
    posts = {c.username: sum(not m.service for m in c.messages) for c in scenario.channels}
    fake = FakeTelegram(scenario)
    t1, t2, t3, t4, t5 = (f"/s/{c.username}" for c in scenario.channels)
    for fault in (
        Fault("cut", match=t1, keep=0.6),  # the newest page cut before </html>: asked again
        Fault("nul", match=t2, times=()),  # NULs in every page: read as U+FFFD, never a crash
        Fault("reset", match=t3),
        Fault("status", match=t3 + "?", times=(1, 2), status=503),
        Fault("cut", match=t4, times=()),  # every time: given up, an error
        Fault("huge", match=t5, size=4 * LIMIT),
    ):
        fake.faults.add(fault)
    with fake:
        channels = ", ".join(c.username for c in scenario.channels)
        source = (
            f"  - {{name: tg-faults, platform: telegram, base_url: '{fake.origin}', "
            f"requests_per_second: 0, targets: [{channels}]}}\n"
        )
        yield crawl(tmp_path_factory.mktemp("tg"), source), fake, posts


def test_telegram_faulty_pages_are_retried_recovered_or_recorded(
    tg_crawl: tuple[Crawl, FakeTelegram, dict[str, int]],
) -> None:
    done, fake, posts = tg_crawl
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Spider error" not in done.stderr
    names = list(posts)
    for name in (names[0], names[2]):  # cut once; reset, then 503 twice
        assert (done.targets[name]["status"], done.targets[name]["posts"]) == ("ok", posts[name])
    assert fake.faults.count("cut", f"/s/{names[0]}") == 1
    assert fake.faults.count("status", f"/s/{names[2]}") == 2
    # NUL bytes land anywhere in the markup: what they spoil is skipped with a reason, the rest
    # of the channel is stored.
    spoiled = done.targets[names[1]]
    assert spoiled["status"] == "ok" and spoiled["posts"] >= posts[names[1]] - 6, spoiled
    cut = done.targets[names[3]]
    assert cut["status"] == "error" and cut["posts"] == 0
    assert "page cut off before </html>" in cut["reason"]
    assert cut["reason"].endswith(f"after {RETRIES + 1} attempts")
    huge = done.targets[names[4]]
    assert huge["status"] == "error" and "over the size limit of 256 KiB" in huge["reason"]
    assert fake.faults.count("huge") == 1


# ---- OK: signed POST forms -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ok_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Crawl, FakeOK, list[str]]]:
    scenario = ok_scenario(groups=3, topics_per_group=60, seed=7, closed=0, with_errors=False)
    gids = [g.uid for g in scenario.groups]
    fake = FakeOK(scenario, app_key=OK_KEYS["OK_APP_KEY"], app_secret=OK_KEYS["OK_APP_SECRET"],
                  token=TOKEN)  # fmt: skip

    def topics(gid: str) -> str:
        return f"gid={gid}&method=mediatopic.getTopics"

    for fault in (
        Fault("cut", match=topics(gids[0]), keep=0.7),
        Fault("nul", match=topics(gids[0]), times=(2,)),
        Fault("reset", match="method=group.getInfo"),
        Fault("cut", match=topics(gids[1]), times=()),
        Fault("huge", match=topics(gids[2]), size=4 * LIMIT),
    ):
        fake.faults.add(fault)
    with fake:
        source = (
            f"  - {{name: ok-faults, platform: ok, api_base: '{fake.api_base}', "
            f"requests_per_second: 0, page_size: 40, targets: {json.dumps(gids)}}}\n"
        )
        yield crawl(tmp_path_factory.mktemp("ok"), source), fake, gids


def test_ok_faulty_answers_are_retried_recovered_or_recorded(
    ok_crawl: tuple[Crawl, FakeOK, list[str]],
) -> None:
    done, fake, gids = ok_crawl
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Spider error" not in done.stderr
    first, always_cut, huge = (done.targets[g] for g in gids)
    assert (first["status"], first["posts"]) == ("ok", 60), first
    assert fake.faults.count("cut", f"gid={gids[0]}") == 1 and fake.faults.count("nul") == 1
    assert fake.faults.count("reset") == 1  # group.getInfo, asked again
    assert always_cut["status"] == "error" and always_cut["posts"] == 0
    assert always_cut["reason"].startswith("mediatopic.getTopics: answer is not whole JSON")
    assert always_cut["reason"].endswith(f"after {RETRIES + 1} attempts")
    assert fake.faults.count("cut", f"gid={gids[1]}") == RETRIES + 1
    assert huge["status"] == "error" and huge["posts"] == 0
    assert huge["reason"] == (
        "mediatopic.getTopics: answer over the size limit of 256 KiB (DOWNLOAD_MAXSIZE)"
    )
    for secret in (OK_KEYS["OK_APP_SECRET"], TOKEN):  # reasons never carry a secret
        assert all(secret not in (t["reason"] or "") for t in done.targets.values())


# ---- web: feeds, sitemaps, article pages -----------------------------------------------------


def web_source(fake: FakeWeb, name: str, targets: list[str], selectors: dict[str, Any]) -> str:
    urls = json.dumps([fake.url(t) for t in targets])
    return (
        f"  - {{name: {name}, platform: web, requests_per_second: 0, targets: {urls}, "
        f"selectors: {json.dumps(selectors)}}}\n"
    )


SELECTORS = {"title": "article h1.headline", "body": "div.article-body", "date": "article time"}


def test_web_faulty_feeds_sitemaps_and_pages_are_retried_recovered_or_recorded(
    tmp_path: Path,
) -> None:
    site = default_site()
    huge = site.news[1].path
    fake = FakeWeb(site)
    for fault in (
        Fault("cut", match=PATHS["rss"]),  # the feed cut off: asked again
        Fault("status", match=PATHS["index"], times=(1, 2), status=503),
        Fault("reset", match=PATHS["news_sitemap"]),
        Fault("cut", match=PATHS["archive_sitemap"], times=()),  # every time: given up
        Fault("short", match=site.news[0].path),
        Fault("nul", match=site.news[2].path),
        Fault("huge", match=huge, size=4 * LIMIT),  # one page over the limit: a note
    ):
        fake.faults.add(fault)
    with fake:
        done = crawl(tmp_path, web_source(fake, "web-faults", ["rss", "index"], SELECTORS))
        url = {name: fake.url(name) for name in ("rss", "index", "archive_sitemap")}
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Spider error" not in done.stderr
    rss, index = done.targets[url["rss"]], done.targets[url["index"]]
    assert rss["status"] == "ok", rss
    assert "1 article pages over the size limit (DOWNLOAD_MAXSIZE), not read" in rss["reason"]
    assert index["status"] == "error", index
    assert index["reason"].startswith(
        f"child sitemap {url['archive_sitemap']}: not well-formed XML, cut off?"
    )
    assert f"after {RETRIES + 1} attempts" in index["reason"]
    # Every article the faults left reachable is stored: the feed's and the news sitemap's.
    reachable = [a for a in site.news + site.news_archive if a.path != huge]
    assert rss["posts"] + index["posts"] == len(reachable)
    assert fake.requests_for(PATHS["rss"]) == 2 and fake.requests_for(huge) == 1
    assert fake.requests_for(PATHS["archive_sitemap"]) == RETRIES + 1


def test_the_example_configs_selectors_crawl_the_fake_site(tmp_path: Path) -> None:
    """configs/example.yaml's web selectors, exactly, on the fake site: every article stored
    with its own title, text and date (the date from <time datetime>, not the listing's)."""
    import sqlite3

    from crawler.config import load_config
    from spiders.web.rules import WebRules

    example = load_config(ROOT / "configs" / "example.yaml")
    (rules,) = [s for s in example.sources if isinstance(s, WebRules)]
    selectors = rules.selectors.model_dump(exclude_none=True)
    site = default_site()
    with FakeWeb(site) as fake:
        done = crawl(tmp_path, web_source(fake, "web-example", ["rss", "index"], selectors), {})
        base = fake.base
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Spider error" not in done.stderr
    assert {t["status"] for t in done.targets.values()} == {"ok"}
    db = sqlite3.connect(tmp_path / "faults.db")
    try:
        rows = db.execute("select url, text, published_at from posts").fetchall()
    finally:
        db.close()
    stored = {url: (text, when) for url, text, when in rows}
    expected = [a for a in site.storable() if a not in site.blog]
    assert sorted(stored) == sorted(base + a.path for a in expected)
    for article in expected:
        text, when = stored[base + article.path]
        assert text == f"{article.text}\n{article.title}"  # no byline, no script
        assert when.startswith(article.published_at.strftime("%Y-%m-%d %H:%M:%S"))
