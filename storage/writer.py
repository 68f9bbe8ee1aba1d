"""Store classified posts in batches, once each: a re-run or a repeated page never double-counts."""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain

from sqlalchemy import Connection, Engine, and_, bindparam, insert, update
from sqlalchemy import exc as sa_exc

from storage import daily_counts
from storage.engine import insert_for, utc_naive, utc_now
from storage.models import Post, Tag
from storage.quarantine import QuarantineEntry, describe_error
from storage.records import PostRecord

# Quarantined posts a result keeps in detail (all of them are in the quarantine table).
MAX_DETAILS = 10_000


@dataclass
class BatchResult:
    new: int = 0
    seen: int = 0
    flagged: int = 0
    per_target_new: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_target_seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    per_target_flagged: Counter[tuple[str, str]] = field(default_factory=Counter)  # of the new
    # Posts refused by validation or by the database, and the first MAX_DETAILS of them.
    refused: int = 0
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    # Posts the database could not take at all, written to the unsaved file instead, and why.
    unsaved: int = 0
    error: str | None = None
    # Posts stored before without text whose text this batch brought (see PostWriter.write).
    text_filled: int = 0

    def add(self, other: BatchResult) -> None:
        self.new += other.new
        self.seen += other.seen
        self.flagged += other.flagged
        self.per_target_new.update(other.per_target_new)
        self.per_target_seen.update(other.per_target_seen)
        self.per_target_flagged.update(other.per_target_flagged)
        self.refused += other.refused
        self.unsaved += other.unsaved
        self.text_filled += other.text_filled
        self.error = self.error or other.error
        room = MAX_DETAILS - len(self.quarantined)
        if room > 0 and other.quarantined:
            self.quarantined.extend(other.quarantined[:room])


def is_row_error(exc: BaseException) -> bool:
    """Whether the database refused a row's values (so the row, not the database, is at fault).

    A value error (PostgreSQL: NUL in text, a string over its column, bigint out of range), a
    constraint, or a value the driver cannot send (SQLite: an int over 2⁶³−1; a lone surrogate;
    a dict). Connection, lock, permission and schema errors are the database's: the batch is
    kept for later (the unsaved file), not blamed on one of its rows.
    """
    if isinstance(exc, sa_exc.DataError | sa_exc.IntegrityError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return False
    if isinstance(exc, sa_exc.StatementError):  # raised while preparing a row's parameters
        exc = exc.orig if isinstance(exc.orig, BaseException) else exc
    return isinstance(exc, ValueError | TypeError | OverflowError)


_RETRIES = 5
# PostgreSQL: serialization_failure, deadlock_detected; SQLite: "database is locked".
_TRANSIENT_CODES = frozenset({"40001", "40P01"})


def is_transient(exc: sa_exc.DBAPIError) -> bool:
    """A failure that another transaction caused and that trying again can clear."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in _TRANSIENT_CODES or "database is locked" in str(exc.orig)


class StoreUnavailable(Exception):
    """The database failed for a reason no row explains: what was stored before, the rows it
    had refused by then (index, reason), and the indices of the records not stored."""

    def __init__(
        self, error: str, done: BatchResult, refused: list[tuple[int, str]], remaining: list[int]
    ) -> None:
        super().__init__(error)
        self.error = error
        self.done = done
        self.refused = refused
        self.remaining = remaining


@contextlib.contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """One SQLite writer at a time across processes, woken as soon as the other is done.

    SQLite's own busy handler retries after sleeps of up to 100 ms; two writer processes
    importing into one file spent much of their time asleep that way.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.write-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class PostWriter:
    """Insert posts and their tags; posts already stored (same platform and post id) are counted
    as seen, and get the text their record carries when they were stored without one."""

    def __init__(
        self, engine: Engine, run_id: int, keep_text: str | None = None, *, raw_sqlite: bool = True
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        # privacy.keep_text of the records (None: unknown, their text is kept as they carry it).
        # With "flagged", text is filled only into posts stored as flagged: a post the stored
        # figures count as unflagged keeps no text because a newer classifier flags it.
        self.keep_text = keep_text
        # SQLite: insert with the driver's executemany and tuples, ~4x faster than SQLAlchemy's
        # per-row parameter processing; False takes the SQLAlchemy path PostgreSQL takes.
        self.raw_sqlite = raw_sqlite

    def write_isolated(
        self, records: list[PostRecord]
    ) -> tuple[BatchResult, list[tuple[int, str]]]:
        """Store what the database takes: a refused batch is split in halves, again and again,
        until the rows it refuses are alone. Returns the result and the refused rows (index,
        reason); the good rows are stored, each part in a transaction of its own.

        One bad row in a batch of 500 costs about 2·log₂(500) = 18 extra transactions.
        Raises StoreUnavailable when the database itself fails (see is_row_error).
        """
        result = BatchResult()
        refused: list[tuple[int, str]] = []
        stack = [list(range(len(records)))]
        while stack:
            part = stack.pop()
            try:
                result.add(self._write_retrying([records[i] for i in part]))
            except Exception as exc:
                if not is_row_error(exc):
                    remaining = sorted(i for p in (part, *stack) for i in p)
                    error = describe_error(exc)
                    raise StoreUnavailable(error, result, refused, remaining) from exc
                if len(part) == 1:
                    refused.append((part[0], describe_error(exc)))
                    continue
                middle = len(part) // 2
                stack.append(part[middle:])
                stack.append(part[:middle])  # popped first: rows stay in order
        return result, refused

    def _write_retrying(self, records: list[PostRecord]) -> BatchResult:
        """write(), again after a deadlock or serialisation failure: two writers that met on
        the same rows; the transaction was rolled back whole, so trying again is safe."""
        for attempt in range(_RETRIES):
            try:
                return self.write(records)
            except sa_exc.DBAPIError as exc:
                if attempt == _RETRIES - 1 or not is_transient(exc):
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def write(self, records: list[PostRecord]) -> BatchResult:
        """One transaction: every record is stored (or counted as seen), or none is."""
        result = BatchResult()
        unique: dict[tuple[str, str], PostRecord] = {}
        for rec in records:
            if (rec.platform, rec.post_id) in unique:
                result.seen += 1
                result.per_target_seen[(rec.source, rec.target)] += 1
            else:
                unique[(rec.platform, rec.post_id)] = rec
        if not unique:
            return result
        # SQLite: rows as the driver takes them, built before the lock (see _raw_post_rows).
        raw = self.raw_sqlite and self.engine.dialect.name == "sqlite"
        post_rows = _raw_post_rows(unique.values(), self.run_id) if raw else None
        tag_rows = _raw_tag_rows(unique) if raw else None
        with write_lock(self.engine), self.engine.begin() as conn:
            if post_rows is not None:
                inserted = _insert_posts_raw(conn, post_rows)
            else:
                inserted = self._insert_posts(conn, unique.values())
            if tag_rows is not None:
                _insert_tags_raw(conn, tag_rows, inserted)
            else:
                self._insert_tags(conn, unique, inserted)
            fresh = [rec for key, rec in unique.items() if key in inserted]
            if fresh:
                _count_daily(conn, fresh)
            result.text_filled = self._fill_text(
                conn, [rec for key, rec in unique.items() if key not in inserted and rec.text]
            )
        for key, rec in unique.items():
            if key not in inserted:
                result.seen += 1
                result.per_target_seen[(rec.source, rec.target)] += 1
        for rec in fresh:
            result.new += 1
            result.flagged += rec.flagged
            result.per_target_new[(rec.source, rec.target)] += 1
            if rec.flagged:
                result.per_target_flagged[(rec.source, rec.target)] += 1
        return result

    def _insert_posts(
        self, conn: Connection, records: Iterable[PostRecord]
    ) -> dict[tuple[str, str], int]:
        """Insert the posts through SQLAlchemy's types; the (platform, post_id) of each new one
        with its primary key. Rows already stored are skipped by the unique constraint and
        return nothing (a separate existence query halved the writer's speed)."""
        now = utc_now()
        rows = [
            {
                "platform": r.platform,
                "source": r.source,
                "target": r.target,
                "post_id": r.post_id,
                "url": r.url,
                "author": r.author,
                "published_at": utc_naive(r.published_at),
                "day": r.published_at.astimezone(UTC).date(),
                "language": r.language,
                "script": r.script,
                "language_probability": r.language_probability,
                "language_classifier": r.language_classifier,
                "flagged": r.flagged,
                "is_repost": r.is_repost,
                "has_text": r.has_text,
                "text": r.text,
                "views": r.views,
                "likes": r.likes,
                "reposts": r.reposts,
                "comments": r.comments,
                "edited": r.edited,
                "forwarded_from": r.forwarded_from,
                "is_promo": r.is_promo,
                "run_id": self.run_id,
                "collected_at": now,
            }
            for r in records
        ]
        stmt = insert_for(self.engine)(Post).on_conflict_do_nothing(
            index_elements=["platform", "post_id"]
        )
        returned = conn.execute(stmt.returning(Post.id, Post.platform, Post.post_id), rows)
        return {(platform, post_id): pk for pk, platform, post_id in returned}

    def _insert_tags(
        self,
        conn: Connection,
        unique: dict[tuple[str, str], PostRecord],
        inserted: dict[tuple[str, str], int],
    ) -> None:
        tag_rows = [
            {
                "post_pk": inserted[key],
                "kind": t.kind,
                "label": t.label,
                "score": t.score,
                "classifier": t.classifier,
                "version": t.version,
                "evidence": t.evidence,
            }
            for key, rec in unique.items()
            if key in inserted
            for t in rec.tags
        ]
        if tag_rows:
            conn.execute(insert(Tag), tag_rows)

    def _fill_text(self, conn: Connection, stored: list[PostRecord]) -> int:
        """Give posts stored without text (privacy.keep_text kept less then) the text their
        record carries now, which the current keep_text allows (build_record decided); a
        `crawl --full` so fills every stored post it sees. Text already stored is never touched."""
        if not stored:
            return 0
        where = [
            Post.platform == bindparam("p_platform"),
            Post.post_id == bindparam("p_post_id"),
            Post.text.is_(None),
        ]
        if self.keep_text == "flagged":
            where.append(Post.flagged.is_(True))
        stmt = update(Post).where(and_(*where)).values(text=bindparam("p_text"))
        params = [
            {"p_platform": r.platform, "p_post_id": r.post_id, "p_text": r.text} for r in stored
        ]
        done = conn.execute(stmt.execution_options(synchronize_session=False), params)
        return max(0, int(done.rowcount or 0))


def _count_daily(conn: Connection, fresh: list[PostRecord]) -> None:
    """Add newly stored posts to daily_counts in the same transaction (see DailyCount)."""
    # Posts of one target, language, day and topics count under the same rows: expand each
    # such group once (a batch of 2,000 posts holds a few dozen).
    groups: Counter[tuple[str, str, str, str, tuple[str, ...], date]] = Counter()
    flagged_in: Counter[tuple[str, str, str, str, tuple[str, ...], date]] = Counter()
    day_of = daily_counts.day_of
    for rec in fresh:
        topics = tuple(t.label for t in rec.tags if t.kind == "topic")
        group = (rec.platform, rec.source, rec.target, rec.language, topics,
                 day_of(rec.published_at))  # fmt: skip
        groups[group] += 1
        if rec.flagged:
            flagged_in[group] += 1
    posts: Counter[daily_counts.Key] = Counter()
    flagged: Counter[daily_counts.Key] = Counter()
    for group, count in groups.items():
        for key in daily_counts.keys(*group):
            posts[key] += count
            flagged[key] += flagged_in[group]
    daily_counts.add(conn, posts, flagged)


# --- SQLite: the same rows through the driver ------------------------------------------------
# Values are converted here exactly as SQLAlchemy's SQLite types convert them (datetimes as
# "YYYY-MM-DD HH:MM:SS.ffffff" text, dates as "YYYY-MM-DD", JSON with json.dumps, booleans as
# 0/1); a batch holding a value they would convert differently or refuse takes the SQLAlchemy
# path, so what is stored and what is refused never depends on the path.
# (tests/storage/test_import_speed_raw.py compares the two.)

POST_COLUMNS = (
    "platform", "source", "target", "post_id", "url", "author", "published_at", "day",
    "language", "script", "language_probability", "language_classifier", "flagged",
    "is_repost", "has_text", "text", "views", "likes", "reposts", "comments", "edited",
    "forwarded_from", "is_promo", "run_id", "collected_at",
)  # fmt: skip
_POSTS_HEAD = f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES "
_POSTS_MARKS = f"({', '.join('?' * len(POST_COLUMNS))})"
_POSTS_TAIL = " ON CONFLICT (platform, post_id) DO NOTHING RETURNING id, platform, post_id"
_TAGS_SQL = (
    "INSERT INTO tags (post_pk, kind, label, score, classifier, version, evidence) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Posts per INSERT … RETURNING statement (SQLite 3.32+ takes 32,766 parameters; older 999).
RAW_POSTS_PER_STATEMENT = 500
_Row = tuple[object, ...]


def _stamp(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")


def _raw_post_rows(records: Iterable[PostRecord], run_id: int) -> list[_Row] | None:
    """The posts' rows in POST_COLUMNS order, or None if a value needs SQLAlchemy's types."""
    now = _stamp(utc_now())
    rows: list[_Row] = []
    for r in records:
        published = r.published_at
        if type(published) is not datetime or not (
            type(r.flagged) is bool and type(r.is_repost) is bool and type(r.has_text) is bool
            and (r.edited is None or type(r.edited) is bool)
            and (r.is_promo is None or type(r.is_promo) is bool)
        ):  # fmt: skip
            return None
        if published.tzinfo is UTC:  # the usual case: the stamp starts with the UTC day
            stamp = _stamp(published.replace(tzinfo=None))
            day = stamp[:10]
        else:  # as the SQLAlchemy path (utc_naive; and astimezone: naive is local time here)
            in_utc = published.astimezone(UTC)
            stamp = _stamp(published if published.tzinfo is None else in_utc.replace(tzinfo=None))
            day = in_utc.date().isoformat()
        rows.append((
            r.platform, r.source, r.target, r.post_id, r.url, r.author, stamp,
            day, r.language, r.script, r.language_probability,
            r.language_classifier, r.flagged, r.is_repost, r.has_text, r.text, r.views, r.likes,
            r.reposts, r.comments, r.edited, r.forwarded_from, r.is_promo, run_id, now,
        ))  # fmt: skip
    return rows


def _raw_tag_rows(
    unique: dict[tuple[str, str], PostRecord],
) -> dict[tuple[str, str], list[_Row]] | None:
    """Each post's tag rows without their post_pk, or None if a value needs SQLAlchemy."""
    dumps = json.dumps
    rows: dict[tuple[str, str], list[_Row]] = {}
    try:
        for key, rec in unique.items():
            if rec.tags:
                rows[key] = [
                    (t.kind, t.label, t.score, t.classifier, t.version, dumps(t.evidence))
                    for t in rec.tags
                ]
    except (TypeError, ValueError, RecursionError):  # refused the SQLAlchemy way
        return None
    return rows


def _insert_posts_raw(conn: Connection, rows: list[_Row]) -> dict[tuple[str, str], int]:
    """Insert the rows of _raw_post_rows; the (platform, post_id) of each new one with its key."""
    driver = conn.connection.driver_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if driver else 999
    per = max(1, min(RAW_POSTS_PER_STATEMENT, limit // len(POST_COLUMNS)))
    inserted: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = _POSTS_HEAD + ", ".join([_POSTS_MARKS] * len(chunk)) + _POSTS_TAIL
        for pk, platform, post_id in conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk))):
            inserted[(platform, post_id)] = pk
    return inserted


def _insert_tags_raw(
    conn: Connection, rows: dict[tuple[str, str], list[_Row]], inserted: dict[tuple[str, str], int]
) -> None:
    params = [
        (pk, *tag)
        for key, tags in rows.items()
        if (pk := inserted.get(key)) is not None
        for tag in tags
    ]
    if params:
        conn.exec_driver_sql(_TAGS_SQL, params)
