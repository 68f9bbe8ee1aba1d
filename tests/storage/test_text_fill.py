"""Posts stored without text get the text a later batch carries, as privacy.keep_text allows."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select

from storage.models import Post
from storage.writer import PostWriter
from tests.storage.test_storage import new_run, record


def texts(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {pid: text for pid, text in conn.execute(select(Post.post_id, Post.text))}


def test_stored_posts_without_text_are_filled_and_text_is_never_replaced(engine: Engine) -> None:
    first = [record(1), record(2, flagged=True), record(3)]
    first[2].text = "kept before"
    PostWriter(engine, new_run(engine)).write(first)
    assert texts(engine) == {"-1_1": None, "-1_2": None, "-1_3": "kept before"}

    again = [replace(r, text=f"text {i}", tags=list(r.tags)) for i, r in enumerate(first, 1)]
    result = PostWriter(engine, new_run(engine), "all").write([*again, record(4)])
    assert (result.new, result.seen, result.text_filled) == (1, 3, 2)
    assert texts(engine) == {
        "-1_1": "text 1",
        "-1_2": "text 2",
        "-1_3": "kept before",
        "-1_4": None,
    }
    # Counting is untouched: a filled post is still seen once, not new.
    again_result = PostWriter(engine, new_run(engine), "all").write(again)
    assert (again_result.new, again_result.seen, again_result.text_filled) == (0, 3, 0)


def test_keep_text_flagged_fills_only_posts_stored_as_flagged(engine: Engine) -> None:
    PostWriter(engine, new_run(engine)).write([record(1), record(2, flagged=True)])
    # A newer classifier flags post 1: the stored figures still count it unflagged, so no text.
    now = [replace(record(1, flagged=True), text="a"), replace(record(2, flagged=True), text="b")]
    result = PostWriter(engine, new_run(engine), "flagged").write(now)
    assert result.text_filled == 1
    assert texts(engine) == {"-1_1": None, "-1_2": "b"}
