"""How the app's requests reach the database: statements that need no transaction around them.

On PostgreSQL a read through `engine.connect()` costs two round trips beyond its queries
(BEGIN before the first; ROLLBACK when the connection goes back to the pool), and psycopg
forgets its prepared statements at every ROLLBACK (and sends DEALLOCATE ALL), so none of the
app's statements stayed prepared. A connection here is in autocommit: each statement is sent
alone and is its own transaction. Under PostgreSQL's default isolation (READ COMMITTED) every
statement sees its own snapshot inside a transaction too, so a read of one statement, or of
several that do not rely on sharing one snapshot, sees what it saw before; a single UPDATE
commits as it did in a transaction of its own. On SQLite nothing changes: the driver opens
no transaction for a SELECT, and a write is committed when the block ends.

Writes of more than one statement (a label, a claim, an audit row) keep their transaction:
`review.queue.write_transaction`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

__all__ = ["autocommit"]


@contextlib.contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A pooled connection whose statements each commit on their own (PostgreSQL); on SQLite a
    plain connection, committed at the end of the block."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
        conn.commit()
