"""Rate-limit buckets in PostgreSQL: one budget per token and host for every worker of a pool.

A bucket is a row of `rate_buckets` (migration 0011): the starts of a key's latest requests
and the earliest time the next may start (`next_free`, pushed forward by spacing, a
Retry-After or a platform's back-off signal). `locked(key)` reads it under `SELECT … FOR
UPDATE` with the database's own clock (`clock_timestamp()`, the one clock every machine of the
pool shares), lets the caller (crawler.ratelimit) decide, and writes it back in the same
transaction, so two workers never both take the last place of a window.

The key is stored as its SHA-256 fingerprint: a token never reaches the database.
One psycopg connection per process (opened on first use), about 0.3 ms per admission on a
local database; the caller falls back to limits within its process if the database fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url


def fingerprint(key: str) -> str:
    """The name of a key's bucket: a SHA-256 of the key (never the key, which may be a token)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def conninfo(url: str) -> str:
    """libpq's connection string for a SQLAlchemy PostgreSQL URL (search_path options kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Bucket:
    """A key's bucket as read under its row lock; change `starts` and `next_free` to write."""

    starts: list[float]
    next_free: float
    now: float  # the database's clock, seconds since the epoch
    reason: str | None = None
    _before: tuple[tuple[float, ...], float, str | None] = field(default=((), 0.0, None))

    def changed(self) -> bool:
        return (tuple(self.starts), self.next_free, self.reason) != self._before


class Buckets:
    """The buckets of one PostgreSQL database (the project's), shared by every worker."""

    def __init__(self, url: str) -> None:
        self._conninfo = conninfo(url)
        self._conn: Any = None
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = psycopg.connect(self._conninfo, autocommit=False)
            self._known.clear()
        return self._conn

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[Bucket]:
        """The bucket of `key`, locked until the block ends; written back if changed."""
        name = fingerprint(key)
        with self._lock:
            conn = self._connection()
            try:
                if name not in self._known:
                    conn.execute(
                        "INSERT INTO rate_buckets (key, starts, next_free) VALUES (%s, '[]', 0) "
                        "ON CONFLICT (key) DO NOTHING",
                        (name,),
                    )
                    conn.commit()
                    self._known.add(name)
                row = conn.execute(
                    "SELECT starts, next_free, blocked_reason, "
                    "extract(epoch FROM clock_timestamp())::float8 "
                    "FROM rate_buckets WHERE key = %s FOR UPDATE",
                    (name,),
                ).fetchone()
                if row is None:  # deleted meanwhile: make it again next time
                    self._known.discard(name)
                    conn.rollback()
                    raise LookupError(f"rate bucket {name[:12]} vanished")
                try:
                    starts = [float(t) for t in json.loads(row[0] or "[]")]
                except (ValueError, TypeError):
                    starts = []
                bucket = Bucket(starts, float(row[1] or 0.0), float(row[3]), row[2])
                bucket._before = (tuple(bucket.starts), bucket.next_free, bucket.reason)
                yield bucket
                if bucket.changed():
                    conn.execute(
                        "UPDATE rate_buckets SET starts = %s, next_free = %s, "
                        "blocked_reason = %s, updated_at = now() WHERE key = %s",
                        (json.dumps(bucket.starts), bucket.next_free, bucket.reason, name),
                    )
                conn.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.rollback()
                raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
