"""The writer: classifies and stores batches, and loses nothing when storing fails.

`store_batch` and `serve` run here in the test process; the tests marked e2e start the real
writer process, as a crawl does.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from classifiers import PostClassifier
from crawler.items import PostItem
from crawler.storing import BackgroundStore, StoreSpec, serve, store_batch
from storage.engine import open_database
from storage.models import Post, Tag
from storage.runs import start_run
from storage.writer import PostWriter

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


@pytest.fixture(scope="module")
def classifier() -> PostClassifier:
    """Built once, as it takes seconds; its per-source language priors carry over between the
    tests, which is harmless here: every post is Russian."""
    return PostClassifier(languages=list(LANGS))


def new_run(tmp_path: Path) -> tuple[str, Engine, int]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = open_database(url)
    return url, engine, start_run(engine, project="p", config_hash="h", version="0", classifiers={})


def assert_stored_as_flagged_keeps(engine: Engine, versions: dict[str, str], n: int) -> None:
    """n posts, every other one flagged; text cleaned, and kept for flagged posts only."""
    with engine.connect() as conn:
        rows = conn.execute(select(Post.post_id, Post.language, Post.flagged, Post.text)).all()
        topics = conn.execute(select(Tag.label, Tag.version).where(Tag.kind == "topic")).all()
    assert len(rows) == n and {r.language for r in rows} == {"ru"}
    kept = [r.text for r in rows if r.flagged]
    assert len(kept) == n // 2 and all("\u200b" not in t and "ИГИЛ" in t for t in kept)
    assert all(r.text is None for r in rows if not r.flagged)  # keep_text: flagged
    assert {t.label for t in topics} == {"designated_org"}
    assert all(t.version == versions["lexicon"].split("@")[1] for t in topics)


def test_store_batch_cleans_classifies_once_and_writes(
    tmp_path: Path, classifier: PostClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine, run = new_run(tmp_path)
    calls: list[int] = []
    classify_many = classifier.classify_many

    def counted(texts: list[str], **kwargs: Any) -> Any:
        calls.append(len(texts))
        return classify_many(texts, **kwargs)

    monkeypatch.setattr(classifier, "classify_many", counted)
    writer = PostWriter(engine, run)
    batch = items(10)
    result = store_batch(classifier, writer, classifier.versions, spec(tmp_path, url, run), batch)
    assert (result.new, result.seen, result.flagged) == (10, 0, 5)
    assert calls == [10]  # the whole batch in one call
    assert all("\u200b" not in i.text for i in batch)
    assert_stored_as_flagged_keeps(engine, classifier.versions, 10)
    again = store_batch(
        classifier, writer, classifier.versions, spec(tmp_path, url, run), items(10)
    )
    assert (again.new, again.seen) == (0, 10)


def test_serve_stores_each_batch_until_none_then_reports(
    tmp_path: Path, classifier: PostClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine, run = new_run(tmp_path)
    messages = serve_in_process(tmp_path, url, run, classifier, monkeypatch, [items(4), items(6)])
    assert messages[0] == ("versions", classifier.versions)
    assert [(m[0], m[1].new, m[1].seen) for m in messages[1:3]] == [
        ("batch", 4, 0),
        ("batch", 2, 4),
    ]
    assert messages[3:] == [("done", None, 0)]
    assert_stored_as_flagged_keeps(engine, classifier.versions, 6)


def test_serve_sends_what_it_cannot_store_to_the_unsaved_file(
    tmp_path: Path, classifier: PostClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine, run = new_run(tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tags")  # the writer's inserts now fail
    batches = [items(12)[:5], items(12)[5:10], items(12)[10:]]
    messages = serve_in_process(tmp_path, url, run, classifier, monkeypatch, batches)
    kind, error, unsaved = messages[-1]
    assert kind == "done" and error is not None and "tags" in error
    saved = [json.loads(line) for line in (tmp_path / "unsaved.jsonl").read_text().splitlines()]
    assert unsaved == len(saved) == 12  # the failed batch and every one after it
    assert {row["post_id"] for row in saved} == {f"-1_{i}" for i in range(12)}
    assert stored_ids(url) == set()


def serve_in_process(
    tmp_path: Path,
    url: str,
    run: int,
    classifier: PostClassifier,
    monkeypatch: pytest.MonkeyPatch,
    batches: list[list[PostItem]],
) -> list[tuple[Any, ...]]:
    """Run serve() here on pipes filled in advance; returns every message it sent."""
    monkeypatch.setattr("classifiers.PostClassifier", lambda **_: classifier)  # built once
    inbox, to_writer = Pipe(duplex=False)
    from_writer, outbox = Pipe(duplex=False)
    for batch in [*batches, None]:
        to_writer.send(batch)
    serve(spec(tmp_path, url, run), inbox, outbox)
    messages = []
    while from_writer.poll():
        messages.append(from_writer.recv())
    return messages


@pytest.mark.e2e
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


@pytest.mark.e2e
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


@pytest.mark.parametrize(("choice", "flagged"), [(("tj",), True), (("kg",), False)])
def test_the_writer_counts_by_the_projects_designation_choice(
    tmp_path: Path, choice: tuple[str, ...], flagged: bool
) -> None:
    """Kyrgyzstan delisted the Taliban in Sept 2024, Tajikistan has not: a 2025 post names
    the Taliban, so only the Tajik choice flags it. The writer builds its own classifier."""
    url, engine, run = new_run(tmp_path)
    post = PostItem("vk", "s", "club1", "-1_1", datetime(2025, 3, 1, tzinfo=UTC),
                    "Делегация движения Талибан прибыла на переговоры", author="p" * 32)  # fmt: skip
    inbox, to_writer = Pipe(duplex=False)
    from_writer, outbox = Pipe(duplex=False)
    to_writer.send([post])
    to_writer.send(None)
    chosen = dataclasses.replace(spec(tmp_path, url, run), designations=choice)
    serve(chosen, inbox, outbox)
    assert from_writer.recv()[0] == "versions"
    assert from_writer.recv()[1].flagged == int(flagged)
    with engine.connect() as conn:
        assert conn.execute(select(Post.flagged)).scalar_one() is flagged
