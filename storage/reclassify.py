"""Re-tag stored posts with a project's current classifiers, keeping every earlier version's tags.

A post's current result is its row (language, script, probability, `language_classifier`,
`flagged`) plus its tags whose kind has no `:old` suffix (`topic`, `signal`, `score`): what
`vemeter stats`, `daily_counts` and review sampling read. Re-tagging makes those tags exactly
what the config's classifiers now say; a tag they no longer give keeps its classifier,
version and evidence but its kind gains `:old` (`topic:old`), and the earlier language result
is kept as a `language:old` tag. So no schema change is needed, queries on kind `topic` see
only the current view, and `... WHERE kind IN ('topic', 'topic:old') GROUP BY version, label`
compares versions. Posts whose text is not stored (`privacy.keep_text`, retention) keep their
tags. Each batch is one transaction that also moves its posts between `daily_counts` rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from crawler.version import vemeter_version
from storage import daily_counts
from storage.engine import insert_for, utc_naive
from storage.models import Post, Tag
from storage.records import INPUT_KIND, PostRecord, TagRecord, build_record, split_version
from storage.runs import finish_run, start_run
from storage.topics import NO_TOPIC
from storage.writer import write_lock

__all__ = ["OLD", "Reclassifier", "ReclassifyResult", "reclassify"]

# Kind suffix of a tag a later classifier version has superseded.
OLD = ":old"
_Key = tuple[str, str, str, str, str, date]


class Reclassifier(Protocol):
    """What re-tagging needs of a classifier (classifiers.PostClassifier fits)."""

    @property
    def versions(self) -> dict[str, str]: ...

    @property
    def lexicon_flags(self) -> bool: ...

    def classify_many(self, texts: Sequence[str]) -> Sequence[Any]: ...

    def model_topics(self, result: Any) -> tuple[str, ...]: ...

    @property
    def designations(self) -> Any: ...  # classifiers.designations.Designations


@dataclass
class ReclassifyResult:
    """What a re-classification did, for the summary and the run record."""

    run_id: int = 0
    checked: int = 0  # posts with stored text, classified again
    retagged: int = 0  # posts that got tags or a language result from a new version
    moved: int = 0  # posts whose language, topics or flag changed (daily counts adjusted)
    no_text: int = 0  # posts whose text is not stored: their old tags are kept
    superseded: Counter[str] = field(default_factory=Counter)  # name@version -> posts
    # (kind, label) -> checked posts under the old and the new result; kind is
    # language, topic or flagged.
    before: Counter[tuple[str, str]] = field(default_factory=Counter)
    after: Counter[tuple[str, str]] = field(default_factory=Counter)


def reclassify(
    engine: Engine,
    classifier: Reclassifier,
    *,
    project: str,
    config_hash: str,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> ReclassifyResult:
    """Classify the stored posts of the window again and store what the new versions say.

    The run is recorded in crawl_runs (classifiers = the new versions, message = the figures),
    so provenance lists the versions behind every count.
    """
    versions = classifier.versions
    window = _window(since, until, source)
    result = ReclassifyResult()
    with engine.connect() as conn:
        result.no_text = _count(conn, [*window, Post.text.is_(None)])
        total = _count(conn, [*window, Post.text.is_not(None)])
    if not total and not result.no_text:
        return result  # nothing stored in the window: no run is recorded (run_id stays 0)
    result.run_id = start_run(
        engine, project=project, config_hash=config_hash, version=vemeter_version(),
        classifiers=versions,
    )  # fmt: skip
    if progress is not None:
        progress(0, total)
    status = "failed"
    try:
        last = 0
        while True:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(Post.id, Post.platform, Post.source, Post.target, Post.post_id,
                           Post.published_at, Post.text)
                    .where(*window, Post.text.is_not(None), Post.id > last)
                    .order_by(Post.id)
                    .limit(batch_size)
                ).all()  # fmt: skip
            if not rows:
                break
            last = rows[-1].id
            found = classifier.classify_many([row.text for row in rows])
            records = {
                row.id: _record(row, new, classifier, versions)
                for row, new in zip(rows, found, strict=True)
            }
            _store(engine, records, versions, result)
            if progress is not None:
                progress(result.checked, total)
        status = "ok"
    finally:
        finish_run(
            engine, result.run_id, status=status, new=0, seen=result.checked,
            flagged=result.after[("flagged", "yes")], requests=0,
            message=describe(result, since=since, until=until, source=source), classifiers=versions,
        )  # fmt: skip
    return result


@dataclass(frozen=True, slots=True)
class _Stored:
    """A stored post as storage.records.build_record reads it (the rest is not re-derived)."""

    platform: str
    source: str
    target: str
    post_id: str
    published_at: datetime
    classify_text: str
    url: str | None = None
    author: str | None = None
    is_repost: bool = False
    views: int | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    edited: bool | None = None
    forwarded_from: str | None = None
    is_promo: bool | None = None


def _record(row: Any, found: Any, classifier: Reclassifier, versions: dict[str, str]) -> PostRecord:
    """The crawl's own rule (storage.records.build_record) turns a result into a row and tags."""
    post = _Stored(row.platform, row.source, row.target, row.post_id, row.published_at, row.text)
    return build_record(
        post, found, versions, keep_text="none",
        model_topics=classifier.model_topics(found), lexicon_flags=classifier.lexicon_flags,
        designated=classifier.designations.lists,
    )  # fmt: skip


def describe(
    result: ReclassifyResult,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
) -> str:
    """One line for the run record and the command's summary."""
    window = [
        f"{name} {value}"
        for name, value in (("since", since), ("until", until), ("source", source))
        if value is not None
    ]
    earlier = ", ".join(f"{v} ({n:,})" for v, n in sorted(result.superseded.items()))
    return (
        f"reclassify{' (' + ', '.join(map(str, window)) + ')' if window else ''}: "
        f"{result.checked:,} posts classified again, {result.retagged:,} re-tagged"
        f"{' (replacing ' + earlier + ')' if earlier else ''}, {result.moved:,} changed "
        f"language, topics or flag; kept the old tags of {result.no_text:,} posts whose text "
        "is not stored (privacy.keep_text)"
    )


def _window(
    since: datetime | None, until: datetime | None, source: str | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(Post.published_at >= utc_naive(since))
    if until is not None:
        where.append(Post.published_at < utc_naive(until))
    if source is not None:
        where.append(Post.source == source)
    return where


def _count(conn: Connection, where: list[ColumnElement[bool]]) -> int:
    return int(conn.scalar(select(func.count()).select_from(Post).where(*where)) or 0)


@dataclass
class _Changes:
    """The statements one batch needs, gathered first so each runs once as an executemany."""

    renamed: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    inserted: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    posts_delta: Counter[_Key] = field(default_factory=Counter)
    flagged_delta: Counter[_Key] = field(default_factory=Counter)


def _store(
    engine: Engine,
    records: dict[int, PostRecord],
    versions: dict[str, str],
    result: ReclassifyResult,
) -> None:
    """Apply one batch in one transaction, reading the posts' current state inside it."""
    ids = list(records)
    changes = _Changes()
    with write_lock(engine), engine.begin() as conn:
        posts = conn.execute(
            select(Post.id, Post.platform, Post.source, Post.target, Post.day, Post.language,
                   Post.script, Post.language_probability, Post.language_classifier, Post.flagged)
            .where(Post.id.in_(ids))
        ).all()  # fmt: skip
        tags: dict[int, list[Any]] = {}
        for tag in conn.execute(
            select(Tag.id, Tag.post_pk, Tag.kind, Tag.label, Tag.classifier, Tag.version).where(
                Tag.post_pk.in_(ids)
            )
        ):
            tags.setdefault(tag.post_pk, []).append(tag)
        for post in posts:
            _plan(post, tags.get(post.id, []), records[post.id], versions, changes, result)
        _execute(conn, changes)


def _plan(
    post: Any,
    tags: list[Any],
    record: PostRecord,
    versions: dict[str, str],
    changes: _Changes,
    result: ReclassifyResult,
) -> None:
    """Decide what one post needs: afterwards its current tags are exactly the new result's."""
    result.checked += 1
    # Input tags (text cut, control characters removed) describe the stored row, not a
    # classifier's answer: a re-classification neither renews nor retires them.
    current = [t for t in tags if not t.kind.endswith(OLD) and t.kind != INPUT_KIND]
    history = {(t.kind, t.label, t.classifier, t.version) for t in tags if t.kind.endswith(OLD)}
    new = {(t.kind, t.label, t.classifier, t.version) for t in record.tags}
    stale = [t for t in current if (t.kind, t.label, t.classifier, t.version) not in new]
    kept = {(t.kind, t.label, t.classifier, t.version) for t in current} & new
    added = [t for t in record.tags if (t.kind, t.label, t.classifier, t.version) not in kept]
    for t in stale:
        if (t.kind + OLD, t.label, t.classifier, t.version) in history:
            changes.deleted.append(t.id)  # an identical old row is already kept
        else:
            changes.renamed.append({"tag_id": t.id, "new_kind": t.kind + OLD})
    changes.inserted.extend(_tag_row(post.id, t) for t in added)
    result.superseded.update({f"{t.classifier}@{t.version}" for t in stale})

    language, flagged = post.language, record.flagged
    new_language = post.language_classifier != record.language_classifier
    if new_language:
        old_name, old_version = split_version(post.language_classifier)
        changes.inserted.append(
            _tag_row(post.id, TagRecord("language" + OLD, post.language,
                                        post.language_probability, old_name, old_version))
        )  # fmt: skip
        result.superseded[post.language_classifier or "unknown@0"] += 1
        language = record.language
    if new_language or flagged != post.flagged:
        row = record if new_language else post
        changes.posts.append({
            "post_pk": post.id, "new_language": language, "new_script": row.script,
            "new_probability": row.language_probability,
            "new_classifier": row.language_classifier, "new_flagged": flagged,
        })  # fmt: skip
    if stale or added or new_language:
        result.retagged += 1

    old_topics = sorted({t.label for t in current if t.kind == "topic"}) or [NO_TOPIC]
    new_topics = sorted({t.label for t in record.tags if t.kind == "topic"}) or [NO_TOPIC]
    _tally(result.before, post.language, old_topics, post.flagged)
    _tally(result.after, language, new_topics, flagged)
    if (language, new_topics, flagged) == (post.language, old_topics, post.flagged):
        return
    result.moved += 1
    where = (post.platform, post.source, post.target)
    for key in daily_counts.keys(*where, post.language, old_topics, post.day):
        changes.posts_delta[key] -= 1
        changes.flagged_delta[key] -= int(post.flagged)
    for key in daily_counts.keys(*where, language, new_topics, post.day):
        changes.posts_delta[key] += 1
        changes.flagged_delta[key] += int(flagged)


def _tally(
    counter: Counter[tuple[str, str]], language: str, topics: list[str], flagged: bool
) -> None:
    counter[("language", language)] += 1
    counter.update(("topic", topic) for topic in topics)
    counter[("flagged", "yes" if flagged else "no")] += 1


def _tag_row(post_pk: int, tag: TagRecord) -> dict[str, Any]:
    return {
        "post_pk": post_pk, "kind": tag.kind, "label": tag.label, "score": tag.score,
        "classifier": tag.classifier, "version": tag.version, "evidence": tag.evidence,
    }  # fmt: skip


def _execute(conn: Connection, changes: _Changes) -> None:
    if changes.deleted:
        conn.execute(delete(Tag).where(Tag.id.in_(changes.deleted)))
    if changes.renamed:
        conn.execute(
            update(Tag).where(Tag.id == bindparam("tag_id")).values(kind=bindparam("new_kind")),
            changes.renamed,
        )
    if changes.inserted:
        # A language:old row may already exist when a project returns to an earlier version.
        conn.execute(insert_for(conn.engine)(Tag).on_conflict_do_nothing(), changes.inserted)
    if changes.posts:
        conn.execute(
            update(Post)
            .where(Post.id == bindparam("post_pk"))
            .values(
                language=bindparam("new_language"), script=bindparam("new_script"),
                language_probability=bindparam("new_probability"),
                language_classifier=bindparam("new_classifier"), flagged=bindparam("new_flagged"),
            ),
            changes.posts,
        )  # fmt: skip
    daily_counts.add(conn, changes.posts_delta, changes.flagged_delta)
