"""The writer process: classifies and stores batches, and loses nothing when storing fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from crawler.items import PostItem
from crawler.storing import BackgroundStore, StoreSpec
from storage.engine import open_database
from storage.models import Post, Tag
from storage.runs import start_run

LANGS = ("ru", "kk", "ky", "uz", "tg", "tk", "ar", "fa", "en", "tt", "az", "tr", "uk", "ba")


def items(n: int) -> list[PostItem]:
    texts = ["Суд рассмотрел дело о членстве в ИГИЛ", "Погода в Бишкеке: завтра снег и ветер"]
    return [
        PostItem("vk", "s", "club1", f"-1_{i}", datetime(2025, 3, 1, tzinfo=UTC), texts[i % 2] + "\u200b",
                 author="p" * 32)
        for i in range(n)
    ]  # fmt: skip


def spec(tmp_path: Path, url: str, run_id: int) -> StoreSpec:
    return StoreSpec(url, run_id, (), LANGS, "py3langid", "flagged", tmp_path / "unsaved.jsonl")


def test_batches_are_classified_and_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = open_database(url)
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    store = BackgroundStore(spec(tmp_path, url, run), batch_size=7)
    for item in items(20):
        store.submit(item)
    totals = store.close()
    assert (totals.new, totals.flagged, store.error) == (20, 10, None)
    assert store.versions["language"].startswith("py3langid@")
    with engine.connect() as conn:
        rows = conn.execute(select(Post.post_id, Post.language, Post.flagged, Post.text)).all()
        topics = conn.execute(select(Tag.label, Tag.version).where(Tag.kind == "topic")).all()
    assert {r.language for r in rows} == {"ru"}
    kept = [r.text for r in rows if r.flagged]
    assert len(kept) == 10 and all("\u200b" not in t and "ИГИЛ" in t for t in kept)  # normalised
    assert all(r.text is None for r in rows if not r.flagged)  # keep_text: flagged
    assert {t.label for t in topics} == {"designated_org"}
    assert all(t.version == store.versions["lexicon"].split("@")[1] for t in topics)


def test_a_failing_database_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = open_database(url)
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tags")  # the writer's inserts now fail
    store = BackgroundStore(spec(tmp_path, url, run), batch_size=5)
    for item in items(12):
        store.submit(item)
    store.close()
    assert store.error is not None and "tags" in store.error
    saved = [json.loads(line) for line in (tmp_path / "unsaved.jsonl").read_text().splitlines()]
    assert store.unsaved == len(saved)
    assert {row["post_id"] for row in saved} | stored_ids(url) == {f"-1_{i}" for i in range(12)}


def stored_ids(url: str) -> set[str]:
    engine = open_database(url)
    with engine.connect() as conn:
        return set(conn.execute(select(Post.post_id)).scalars())
