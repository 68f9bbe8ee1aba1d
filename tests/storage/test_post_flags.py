"""Edited, forwarded-from and promo flags: from a PostItem to the posts table, and migration 0005."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, select, text

from crawler.items import PostItem
from crawler.storing import append_unsaved
from storage.engine import SCHEMA_HEAD, current_revision, upgrade
from storage.models import Post
from storage.records import build_record
from storage.runs import start_run
from storage.stats import count_posts
from storage.writer import PostWriter

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
VERSIONS = {"lexicon": "lexicon@1", "language": "py3langid@0.4.0", "model": "none@0"}
NEW_COLUMNS = {"edited", "forwarded_from", "is_promo"}


@dataclass(frozen=True)
class Result:
    """The fields of a classification that build_record reads; no matches, so nothing is flagged."""

    language: str = "ru"
    script: str | None = "Cyrl"
    language_probability: float = 0.9
    matches: tuple[()] = ()
    scores: tuple[()] = ()
    signals: tuple[()] = ()


def item(post_id: str, platform: str = "telegram", **flags: object) -> PostItem:
    return dataclasses.replace(
        PostItem(platform, "s", "demo_chan", post_id, T0, "Погода: завтра снег"), **flags
    )


def stored(engine: Engine) -> dict[str, tuple[bool | None, str | None, bool | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Post.post_id, Post.edited, Post.forwarded_from, Post.is_promo))
        return {r.post_id: (r.edited, r.forwarded_from, r.is_promo) for r in rows}


def new_run(engine: Engine) -> int:
    return start_run(engine, project="p", config_hash="h", version="0", classifiers={})


def test_flags_go_from_the_item_to_the_post_row(engine: Engine) -> None:
    items = [
        item("demo_chan/1", edited=True, forwarded_from="regional_digest"),
        item("demo_chan/2", edited=False, forwarded_from="(hidden)"),
        item("57/1", platform="ok", is_promo=True),
        item("57/2", platform="ok", is_promo=False),
        item("-1_1", platform="vk"),  # a platform that fills none of them
    ]
    records = [build_record(i, Result(), VERSIONS, "none") for i in items]
    assert PostWriter(engine, new_run(engine)).write(records).new == 5
    assert stored(engine) == {
        "demo_chan/1": (True, "regional_digest", None),
        "demo_chan/2": (False, "(hidden)", None),
        "57/1": (None, None, True),
        "57/2": (None, None, False),
        "-1_1": (None, None, None),
    }
    # Promo posts are stored and counted like any other; analysts filter on posts.is_promo.
    assert count_posts(engine, []) == [{"posts": 5, "flagged": 0}]


def test_unsaved_posts_keep_their_flags(tmp_path: Path) -> None:
    path = tmp_path / "unsaved.jsonl"
    append_unsaved(path, [item("demo_chan/1", edited=True, forwarded_from="(user)")])
    row = json.loads(path.read_text(encoding="utf-8"))
    assert (row["edited"], row["forwarded_from"], row["is_promo"]) == (True, "(user)", None)


def test_migration_0005_leaves_earlier_posts_unknown_and_downgrades(engine: Engine) -> None:
    from alembic import command

    from storage.engine import _alembic_config

    def migrate(step: str, revision: str) -> None:
        with engine.begin() as conn:
            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = conn
            getattr(command, step)(cfg, revision)

    run = new_run(engine)
    migrate("downgrade", "0004")
    assert current_revision(engine) == "0004"
    assert not NEW_COLUMNS & {c["name"] for c in inspect(engine).get_columns("posts")}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO posts (platform, source, target, post_id, published_at, day, language, "
                "language_probability, flagged, is_repost, has_text, run_id, collected_at) VALUES "
                "('ok', 's', 't', '57/1', :t, :d, 'ru', 0.9, false, false, true, :run, :t)"
            ),
            {"t": T0.replace(tzinfo=None), "d": T0.date(), "run": run},
        )
    assert upgrade(engine) == ("0004", SCHEMA_HEAD)
    assert stored(engine) == {"57/1": (None, None, None)}
    PostWriter(engine, run).write(
        [build_record(item("c/1", is_promo=True), Result(), VERSIONS, "none")]
    )
    assert stored(engine)["c/1"] == (None, None, True)
