"""The writer: classifies and stores batches, and loses nothing when storing fails.

`store_batch` and `serve` run here in the test process; the tests marked e2e start the real
writer process, as a crawl does. A post validation or the database refuses is quarantined and
costs no other; the unsaved file is for a database that takes nothing, and keeps only the text
privacy.keep_text keeps.
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
from crawler.config import load_config
from crawler.importer import ImportResult, UnsavedMapper, import_file, mapped_items
from crawler.items import PostItem
from crawler.storing import (
    BATCH_TEXT_CHARS,
    BackgroundStore,
    Batch,
    StoreSpec,
    _add,
    _full,
    append_unsaved,
    serve,
    store_batch,
)
from storage.engine import open_database
from storage.models import Post, QuarantinedRow, Tag
from storage.records import PostRecord
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
    assert len(error) <= 300 and "INSERT" not in error  # one line, never the SQL
    saved = [json.loads(line) for line in (tmp_path / "unsaved.jsonl").read_text().splitlines()]
    assert unsaved == len(saved) == 12  # the failed batch and every one after it
    assert {row["post_id"] for row in saved} == {f"-1_{i}" for i in range(12)}
    assert stored_ids(url) == set()
    # Classified already, and trimmed as keep_text: flagged says: no text of unflagged posts.
    assert {row["kind"] for row in saved} == {"record"}
    assert all(("ИГИЛ" in r["text"]) if r["flagged"] else r["text"] is None for r in saved)
    assert sum(r["flagged"] for r in saved) == 6
    assert not any(
        "Погода" in line for line in (tmp_path / "unsaved.jsonl").read_text().splitlines()
    )


def test_an_unsaved_file_is_replayed_by_import_as_it_was_classified(
    tmp_path: Path, classifier: PostClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine, run = new_run(tmp_path)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tags")
    serve_in_process(tmp_path, url, run, classifier, monkeypatch, [items(12)[:7], items(12)[7:]])
    unsaved = tmp_path / "unsaved.jsonl"
    config = tmp_path / "replay.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///replay.db'}\n", encoding="utf-8")
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "replay-key-0123456789abcdef")
    result = import_file(load_config(config), unsaved)
    assert result.replayed and (result.rows, result.new, result.flagged) == (12, 6 + 6, 6)
    assert (result.bad, result.error) == ([], None)
    replayed = open_database(f"sqlite:///{tmp_path / 'replay.db'}")
    with replayed.connect() as conn:
        rows = conn.execute(select(Post.post_id, Post.flagged, Post.text, Post.author)).all()
        topics = conn.execute(select(Tag.label).where(Tag.kind == "topic")).scalars().all()
    assert {r.post_id for r in rows} == {f"-1_{i}" for i in range(12)}
    assert {r.author for r in rows} == {"p" * 32}  # already pseudonyms: not keyed again
    assert all(r.text is not None if r.flagged else r.text is None for r in rows)
    assert topics == ["designated_org"] * 6  # the tags it was classified with
    assert import_file(load_config(config), unsaved).seen == 12  # replaying twice adds nothing


def test_a_writer_that_cannot_start_keeps_no_text_it_could_not_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a classifier nothing is known to be flagged: keep_text: flagged keeps no text."""

    def broken(**_: Any) -> Any:
        raise RuntimeError("no lexicon")

    monkeypatch.setattr("classifiers.PostClassifier", broken)
    inbox, to_writer = Pipe(duplex=False)
    from_writer, outbox = Pipe(duplex=False)
    for batch in [items(3), None]:
        to_writer.send(batch)
    serve(spec(tmp_path, f"sqlite:///{tmp_path / 'w.db'}", 1), inbox, outbox)
    assert from_writer.recv() == ("done", "RuntimeError: no lexicon", 3)
    saved = [json.loads(line) for line in (tmp_path / "unsaved.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["text"], r["text_dropped"]) for r in saved] == [("item", "", True)] * 3
    assert (tmp_path / "unsaved.jsonl").stat().st_mode & 0o077 == 0  # the owner's alone


def test_unclassified_rows_of_an_unsaved_file_are_read_back_as_posts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsaved = tmp_path / "unsaved.jsonl"
    append_unsaved(unsaved, items(3), keep_text="all", run_id=4, lines=[7, 8, 9])
    append_unsaved(unsaved, [dataclasses.replace(items(4)[3], post_id="")], run_id=4)
    config = tmp_path / "p.yaml"
    config.write_text("project: p\n", encoding="utf-8")
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "replay-key-0123456789abcdef")
    posts: list[PostItem | PostRecord] = []
    result = ImportResult()
    mapper = UnsavedMapper("flagged")
    for _, post in mapped_items(unsaved, "jsonl", mapper, result, None):
        posts.append(post)
    assert [p.post_id for p in posts] == ["-1_0", "-1_1", "-1_2"]
    assert all(isinstance(p, PostItem) and p.author == "p" * 32 and p.text for p in posts)
    assert result.bad == [(4, "post_id: missing")]
    assert import_file(load_config(config), unsaved, check=True).replayed


def poisoned() -> list[PostItem]:
    """Two good posts, one repaired twice over, and three the database must never see."""
    good = items(2)
    odd = dataclasses.replace(items(3)[2], post_id="-1_odd", text="Суд\x00 ИГИЛ\x07 " + "д" * 300)
    bad = [
        dataclasses.replace(items(4)[3], post_id="-1_5138", published_at=datetime(5138, 1, 1, tzinfo=UTC)),
        dataclasses.replace(items(5)[4], post_id="-1_views", views=10**20),
        dataclasses.replace(items(6)[5], post_id="-1_" + "9" * 200),
    ]  # fmt: skip
    return [good[0], bad[0], odd, bad[1], good[1], bad[2]]


def test_store_batch_repairs_text_and_quarantines_what_the_database_must_not_see(
    tmp_path: Path, classifier: PostClassifier, engine: Engine
) -> None:
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    limited = dataclasses.replace(spec(tmp_path, "unused", run), max_text_chars=100)
    lines: list[int | None] = [10, 11, 12, 13, 14, 15]
    batch = Batch(poisoned(), lines)
    result = store_batch(classifier, PostWriter(engine, run), classifier.versions, limited, batch)
    assert (result.new, result.refused, result.flagged, result.unsaved) == (3, 3, 2, 0)
    assert [(e.line, e.field) for e in result.quarantined] == [
        (11, "published_at"), (13, "views"), (15, "post_id"),
    ]  # fmt: skip
    with engine.connect() as conn:
        quarantined = conn.execute(
            select(QuarantinedRow.line, QuarantinedRow.post_id, QuarantinedRow.reason)
        ).all()
        odd = conn.execute(select(Post.id, Post.text).where(Post.post_id == "-1_odd")).one()
        marks = conn.execute(
            select(Tag.label, Tag.evidence).where(Tag.post_pk == odd.id, Tag.kind == "input")
        ).all()
    assert [(q.line, q.post_id) for q in quarantined] == [
        (11, "-1_5138"), (13, "-1_views"), (15, "-1_" + "9" * 92 + "…"),  # cut, and says so
    ]  # fmt: skip
    assert all("Суд" not in q.reason and "ИГИЛ" not in q.reason for q in quarantined)
    assert odd.text is not None and len(odd.text) <= 100 and "\x00" not in odd.text
    assert sorted(marks) == [("control_chars", [{"removed": 2}]), ("text_cut", [{"cut": 209}])]
    assert not (tmp_path / "unsaved.jsonl").exists()  # bad rows are not for the unsaved file


def test_a_row_only_the_database_refuses_is_isolated_in_serve(
    tmp_path: Path, classifier: PostClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation let through (patched off): the database refuses the row, the batch splits."""
    url, engine, run = new_run(tmp_path)
    monkeypatch.setattr("crawler.storing.check_post", lambda item, latest: None)
    batch = items(9)
    batch[4] = dataclasses.replace(batch[4], views=10**20)  # SQLite: OverflowError
    messages = serve_in_process(tmp_path, url, run, classifier, monkeypatch, [batch])
    assert messages[1][0] == "batch" and (messages[1][1].new, messages[1][1].refused) == (8, 1)
    assert messages[-1] == ("done", None, 0)
    assert stored_ids(url) == {f"-1_{i}" for i in range(9)} - {"-1_4"}
    assert not (tmp_path / "unsaved.jsonl").exists()
    with engine.connect() as conn:
        post_id, reason = conn.execute(select(QuarantinedRow.post_id, QuarantinedRow.reason)).one()
    assert post_id == "-1_4" and reason.startswith("refused by the database: OverflowError")


def test_the_text_limit_comes_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\n", encoding="utf-8")
    assert StoreSpec.for_config(load_config(config), 1, tmp_path / "u").max_text_chars == 100_000
    config.write_text("project: p\nstorage: {max_text_chars: 5000}\n", encoding="utf-8")
    assert StoreSpec.for_config(load_config(config), 1, tmp_path / "u").max_text_chars == 5000


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


def test_a_batch_is_full_at_its_size_or_its_text_budget() -> None:
    """Long posts make short batches: memory per batch is bounded by text, not by count."""
    long_post = dataclasses.replace(items(1)[0], text="я" * (BATCH_TEXT_CHARS // 4))
    batch = Batch([])
    for n in range(3):
        _add(batch, dataclasses.replace(long_post, post_id=str(n)), line=n + 1)
    assert not _full(batch, 2000) and batch.chars == 3 * (BATCH_TEXT_CHARS // 4)
    _add(batch, dataclasses.replace(long_post, post_id="3", extra_text="ab"), line=4)
    assert _full(batch, 2000) and batch.lines == [1, 2, 3, 4]
    short = Batch([])
    for item in items(5):
        _add(short, item, None)
    assert not _full(short, 6) and _full(short, 5)


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


def test_a_post_item_crosses_the_pipe_with_every_field() -> None:
    """PostItem pickles as a tuple of its fields (fast); none may be lost on the way."""
    import pickle

    full = PostItem(
        "vk", "s", "club1", "-1_9", datetime(2025, 3, 1, 12, tzinfo=UTC), "text", url="u",
        author="a" * 32, extra_text="x", is_repost=True, is_pinned=True, views=1, likes=2,
        reposts=3, comments=4, attachments=("photo",), edited=True, forwarded_from="chan",
        is_promo=False,
    )  # fmt: skip
    bare = PostItem("ok", "t", "g", "1", datetime(2024, 1, 1, tzinfo=UTC), "")
    for f in dataclasses.fields(PostItem):  # every field differs from its default
        assert getattr(full, f.name) != getattr(bare, f.name), f.name
    assert pickle.loads(pickle.dumps(full)) == full
