"""The review app's audit trail: an append-only table whose rows form a SHA-256 chain.

Every row stores the hash of the row before it (`prev_hash`; the first row a run of zeros) and
its own hash over its id, time, user, action, item, detail and `prev_hash`. A row changed by
hand no longer matches its hash; a row removed or inserted breaks the link to its neighbour.
`verify` walks the chain and names each row that does not fit. (Removing rows at the end leaves
a shorter, valid chain: compare the head hash `verify` prints with one noted earlier.)

Appends are serialised so that two writers never read the same tail: on PostgreSQL by a
transaction-level advisory lock, on SQLite by the write lock the caller's transaction holds
(`BEGIN IMMEDIATE`; `record` takes it itself). The unique `prev_hash` refuses a fork anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from storage.engine import utc_naive, utc_now
from storage.models import ReviewAudit

__all__ = [
    "ACTIONS",
    "GENESIS",
    "AuditRow",
    "Verified",
    "append",
    "read",
    "record",
    "row_hash",
    "verify",
]

GENESIS = "0" * 64
# What the review app records.
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "view",
    "reveal",
    "label",
    "skip",
    "adjudication",
    "export",
    "import",  # `vemeter review import`: a sheet of labels stored from the command line
    "setting",  # a reviewer's own preference changed (blur), with old and new value
)
# pg_advisory_xact_lock key of the audit chain's tail (any constant; "vemeter audit").
_PG_LOCK = 0x76656D6175646974


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime  # naive UTC
    user_name: str | None
    action: str
    item_id: int | None
    detail: str  # JSON
    prev_hash: str
    hash: str


def _stamp(at: datetime) -> str:
    return utc_naive(at).isoformat(sep=" ", timespec="microseconds")


def row_hash(
    row_id: int,
    at: datetime,
    user_name: str | None,
    action: str,
    item_id: int | None,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of a row's fields in a fixed JSON form."""
    body = json.dumps(
        [row_id, _stamp(at), user_name, action, item_id, detail, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    action: str,
    *,
    user: str | None,
    item_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRow:
    """Add a row inside the caller's transaction (on SQLite a write transaction: BEGIN IMMEDIATE).

    It commits or rolls back with what it records, so a label and its audit row go together.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    tail = conn.execute(
        select(ReviewAudit.id, ReviewAudit.hash).order_by(ReviewAudit.id.desc()).limit(1)
    ).first()
    row_id = int(tail.id) + 1 if tail is not None else 1
    prev = str(tail.hash) if tail is not None else GENESIS
    when = utc_naive(at) if at is not None else utc_now()
    body = json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False, default=str)
    digest = row_hash(row_id, when, user, action, item_id, body, prev)
    conn.execute(
        insert(ReviewAudit).values(
            id=row_id,
            at=when,
            user_name=user,
            action=action,
            item_id=item_id,
            detail=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    return AuditRow(row_id, when, user, action, item_id, body, prev, digest)


def record(
    engine: Engine,
    action: str,
    *,
    user: str | None,
    item_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRow:
    """`append` in a transaction of its own."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            row = append(conn, action, user=user, item_id=item_id, detail=detail, at=at)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    return row


def _rows(conn: Connection, after: int = 0, limit: int | None = None) -> Iterator[AuditRow]:
    stmt = select(ReviewAudit).where(ReviewAudit.id > after).order_by(ReviewAudit.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    for r in conn.execute(stmt):
        yield AuditRow(
            id=int(r.id),
            at=utc_naive(r.at),
            user_name=r.user_name,
            action=str(r.action),
            item_id=int(r.item_id) if r.item_id is not None else None,
            detail=str(r.detail),
            prev_hash=str(r.prev_hash),
            hash=str(r.hash),
        )


def read(engine: Engine, *, last: int | None = None) -> list[AuditRow]:
    """The rows in order; `last`: only the newest this many."""
    with engine.connect() as conn:
        after = 0
        if last is not None:
            top = conn.execute(select(func.max(ReviewAudit.id))).scalar_one_or_none() or 0
            after = max(0, int(top) - last)
        return list(_rows(conn, after))


@dataclass(frozen=True)
class Verified:
    rows: int
    head: str  # the hash of the last row (GENESIS when empty)
    problems: list[tuple[int, str]]  # (row id, what is wrong), in order

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(engine: Engine, *, batch: int = 5000) -> Verified:
    """Walk the chain from its first row; every row that does not fit is named."""
    problems: list[tuple[int, str]] = []
    expected_prev, expected_id, count = GENESIS, 1, 0
    with engine.connect() as conn:
        after = 0
        while True:
            rows = list(_rows(conn, after, batch))
            if not rows:
                break
            for row in rows:
                count += 1
                if row.id != expected_id:
                    problems.append(
                        (row.id, f"rows {expected_id} to {row.id - 1} are missing (removed)")
                    )
                if row.prev_hash != expected_prev:
                    problems.append(
                        (row.id, "its link to the row before does not match that row's hash "
                         "(a row before it was changed, removed or inserted)")
                    )  # fmt: skip
                digest = row_hash(
                    row.id, row.at, row.user_name, row.action, row.item_id, row.detail,
                    row.prev_hash,
                )  # fmt: skip
                if digest != row.hash:
                    problems.append(
                        (row.id, "its contents do not match its hash (changed after it was "
                         "written)")
                    )  # fmt: skip
                expected_prev, expected_id = row.hash, row.id + 1
            after = rows[-1].id
    return Verified(count, expected_prev, problems)
