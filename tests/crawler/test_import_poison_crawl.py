"""A crawl of a fake VK wall that holds poisoned posts stores every other post, on SQLite and
PostgreSQL: the bad ones are quarantined by post id, the odd ones repaired and marked, and the
run ends `ok` with no unsaved file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from spiders.fakes.vk import FakeVK
from spiders.fakes.vk_data import FakePost, synthetic_scenario
from storage.models import CrawlRun, Post, QuarantinedRow, Tag
from tests.crawler.test_import_poison import database_url
from tests.e2e.conftest import TOKEN, write_config

pytestmark = pytest.mark.e2e

LEAK = "leakmarker"


def poison(post: FakePost, kind: str) -> FakePost:
    """A post of the wall turned bad (or odd) in one way; ids keep their order on the wall."""
    if kind == "nul":  # the case: PostgreSQL refused the whole run over one NUL
        return dataclasses.replace(post, text=f"Погода\u0000 завтра {LEAK}\u0007")
    if kind == "long_text":
        return dataclasses.replace(post, text="Погода " + "ы" * 150_000)
    if kind == "views":
        return dataclasses.replace(post, text=LEAK, views=10**20)
    if kind == "likes":
        return dataclasses.replace(post, text=LEAK, likes=-5)
    if kind == "year_5138":
        return dataclasses.replace(post, text=LEAK, date=99_999_999_999)
    if kind == "long_id":  # a post id of 110 characters (the column holds 96)
        return dataclasses.replace(post, text=LEAK, owner_id=-(10**100))
    raise AssertionError(kind)


BAD = {"views": "views", "likes": "likes", "year_5138": "published_at", "long_id": "post_id"}
ODD = {"nul": "control_chars", "long_text": "text_cut"}


def test_a_wall_with_poisoned_posts_stores_every_other_post(engine: Engine, tmp_path: Path) -> None:
    scenario = synthetic_scenario(
        communities=1, posts_per_community=300, seed=3, closed=0, deleted=0, with_errors=False
    )
    wall = scenario.communities[0].posts
    kinds = [*BAD, *ODD]
    where = {40 + 30 * n: kind for n, kind in enumerate(kinds)}  # mid-wall, never the newest
    for index, kind in where.items():
        wall[index] = poison(wall[index], kind)
    bad_ids = {f"{wall[i].owner_id}_{wall[i].id}" for i, k in where.items() if k in BAD}
    server = FakeVK(scenario, token=TOKEN).start()
    try:
        project = write_config(tmp_path, server.api_base, [scenario.communities[0].screen_name])
        config = project.config.read_text(encoding="utf-8")
        project.config.write_text(
            config.replace("sqlite:///e2e.db", database_url(engine, tmp_path)), encoding="utf-8"
        )
        done = project.crawl()
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        stored = set(conn.execute(select(Post.post_id)).scalars())
        quarantined = conn.execute(
            select(QuarantinedRow.post_id, QuarantinedRow.field, QuarantinedRow.reason)
        ).all()
        marks = dict(conn.execute(select(Tag.label, func.count()).where(Tag.kind == "input")
                                  .group_by(Tag.label)).all())  # fmt: skip
        run = conn.execute(select(CrawlRun.status, CrawlRun.message)).one()
        texts = conn.execute(select(Post.text).where(Post.text.is_not(None))).scalars().all()
    every = {f"{p.owner_id}_{p.id}" for p in wall}
    assert stored == every - bad_ids and len(stored) == 300 - len(BAD)
    assert sorted(q.field for q in quarantined) == sorted(BAD.values())
    assert {(q.post_id or "")[:20] for q in quarantined} == {i[:20] for i in bad_ids}
    assert not any(LEAK in q.reason for q in quarantined)
    assert marks == {"control_chars": 1, "text_cut": 1}
    assert run.status == "ok" and run.message is None
    assert not any("\x00" in t for t in texts)
    assert not list(tmp_path.glob("vemeter-unsaved-*"))
