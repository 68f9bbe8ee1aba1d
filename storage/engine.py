"""Open a database by URL, bring its schema up to date, and hand out sessions.

Nothing connects at import time. A new SQLite file gets the schema automatically; any other
database that is behind asks for `vemeter db upgrade`.

Migrating is safe with any number of processes starting at once: on SQLite they take turns on
a lock file beside the database (`FILE.db-migrate.lock`, an flock the kernel drops when its
holder dies), on PostgreSQL on a transaction-level advisory lock; whoever comes second finds
the schema current and does nothing.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration in storage/migrations/versions (a test checks it against Alembic's
# own answer): knowing it here keeps Alembic out of every process that only reads or writes.
SCHEMA_HEAD = "0013"
# How long a process waits for another one's migration before giving up with a clear message.
MIGRATION_LOCK_TIMEOUT = 600.0


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # The config file format reads "%" as interpolation: an encoded password or search_path
    # option ("%3D") must be doubled.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")
    # WAL lets `vemeter stats` read while a crawl writes; NORMAL is durable enough with WAL.
    _set_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _set_wal(cur: Any, timeout: float = 30.0) -> None:
    """Switch the file to WAL (it stays so): SQLite answers 'locked' without waiting on its
    busy timeout when two processes switch a new file at once, so this waits itself."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: str, *, connections: int | None = None) -> Engine:
    """An Engine for `url` with SQLite tuned for one writer and many readers.

    `connections`: for a server (the review app), the PostgreSQL connections kept open, so that
    concurrent requests do not each open and close one (the default pool keeps 5)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    pool: dict[str, int] = {}
    if connections and not url.startswith("sqlite"):
        pool = {"pool_size": connections, "max_overflow": connections}
    try:
        engine = create_engine(url, future=True, **pool)
    except (SQLAlchemyError, ImportError) as exc:
        hint = (
            " (install the postgres extra: pip install 'vemeter[postgres]')"
            if "psycopg" in str(exc)
            else ""
        )
        raise StorageError(f"cannot use database {url!r}: {exc}{hint}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def head_revision() -> str:
    return SCHEMA_HEAD


def current_revision(engine: Engine) -> str | None:
    """The schema revision Alembic recorded in the database, or None for an empty one."""
    with engine.connect() as conn:
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def sqlite_file(engine: Engine) -> Path | None:
    """The file of an SQLite database; None for memory or another database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


@contextlib.contextmanager
def _file_lock(path: Path, what: str, timeout: float = MIGRATION_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing); released on exit or by death."""
    if sys.platform == "win32":  # pragma: no cover - vemeter runs on POSIX systems
        yield
        return
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(f"{what}: cannot create the lock file {path} ({exc.strerror})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StorageError(
                        f"{what}: another process has held {path} for over {timeout:.0f} s "
                        "(is a `vemeter db upgrade` stuck? stop it, then try again)"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Let one process at a time migrate this SQLite file (a no-op for other databases)."""
    path = sqlite_file(engine)
    if path is None:
        yield
        return
    with _file_lock(path.with_name(path.name + "-migrate.lock"), f"database {path}"):
        yield


def _pg_lock(conn: Connection) -> None:
    """Wait for the advisory lock of this database schema's migrations (until commit)."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('vemeter-migrate:' || current_schema()))")
    )


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision after).

    Safe to run from several processes at once: they take turns (see the module docstring).
    """
    with migration_lock(engine):
        return _upgrade(engine)


def _upgrade(engine: Engine) -> tuple[str | None, str]:
    """`upgrade` for a caller that holds the SQLite migration lock already."""
    from alembic import command

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            _pg_lock(conn)
        before = _revision(conn)
        if before != head_revision():
            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return before, head_revision()


def _reachable_revision(engine: Engine) -> str | None:
    try:
        return current_revision(engine)
    except OperationalError as exc:
        raise StorageError(
            f"cannot open database {engine.url!r}: {exc.orig} (check storage.url)"
        ) from None


def open_database(
    url: str, *, auto_upgrade_new_sqlite: bool = True, connections: int | None = None
) -> Engine:
    """An Engine whose schema is current, or a StorageError that says how to make it so."""
    engine = make_engine(url, connections=connections)
    revision = _reachable_revision(engine)
    if revision == head_revision():
        return engine
    if sqlite_file(engine) is not None:
        # Another process may be creating this file right now: wait for it, then look again.
        with migration_lock(engine):
            revision = _reachable_revision(engine)
            if revision is None and auto_upgrade_new_sqlite:
                _upgrade(engine)
                return engine
        if revision == head_revision():
            return engine
    state = "has no vemeter tables" if revision is None else f"is at schema {revision}"
    raise StorageError(
        f"database {engine.url.render_as_string(hide_password=True)} {state}, vemeter needs "
        f"{head_revision()} (run: vemeter db upgrade CONFIG)"
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@overload
def utc_naive(value: datetime) -> datetime: ...
@overload
def utc_naive(value: None) -> None: ...
def utc_naive(value: datetime | None) -> datetime | None:
    """A datetime as stored: naive UTC (SQLite has no time zones; both databases then agree).

    Naive values are taken to be UTC already.
    """
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """Now, as stored (naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def insert_for(engine: Engine) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite 3.35+, PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
