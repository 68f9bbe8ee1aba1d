"""Open a database by URL, bring its schema up to date, and hand out sessions.

Nothing connects at import time. A new SQLite file gets the schema automatically; any other
database that is behind asks for `vemeter db upgrade`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration in storage/migrations/versions (a test checks it against Alembic's
# own answer): knowing it here keeps Alembic out of every process that only reads or writes.
SCHEMA_HEAD = "0006"


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets `vemeter stats` read while a crawl writes; NORMAL is durable enough with WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    """An Engine for `url` with SQLite tuned for one writer and many readers."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, future=True)
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
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision after)."""
    from alembic import command

    before = current_revision(engine)
    with engine.begin() as conn:
        cfg = _alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


def open_database(url: str, *, auto_upgrade_new_sqlite: bool = True) -> Engine:
    """An Engine whose schema is current, or a StorageError that says how to make it so."""
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise StorageError(
            f"cannot open database {engine.url!r}: {exc.orig} (check storage.url)"
        ) from None
    if revision == head_revision():
        return engine
    if revision is None and engine.dialect.name == "sqlite" and auto_upgrade_new_sqlite:
        upgrade(engine)
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
