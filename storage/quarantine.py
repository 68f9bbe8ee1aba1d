"""Quarantined posts: what validation or the database refused, where it came from and why.

A refused post costs no other: the rest of its batch is stored, and the post goes here with the
run, its platform / source / target / post id when known, the line of an imported file, the
offending field and a one-line reason. Never its text, whatever privacy.keep_text says: the
reason is all an operator needs to fix the input, and the input is where the text lives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from storage.engine import utc_now
from storage.models import QuarantinedRow
from storage.validation import safe_text

__all__ = ["QuarantineEntry", "describe_error", "list_quarantine", "record_quarantine"]

# Column lengths of the quarantine table (storage.models.QuarantinedRow).
_LIMITS = {"platform": 16, "source": 64, "target": 128, "post_id": 96, "field": 64, "reason": 512}
# A run message or error names the failure in one line; 300 characters is plenty.
ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """One refused post or row; every field but `reason` is optional (a line that is not JSON
    has no post id)."""

    reason: str
    line: int | None = None
    field: str | None = None
    platform: str | None = None
    source: str | None = None
    target: str | None = None
    post_id: str | None = None

    def describe(self) -> str:
        """`line 12: views: …` or `post -1_5: …`: how the CLI and logs name it."""
        where = f"line {self.line}" if self.line is not None else f"post {self.post_id or '?'}"
        return f"{where}: {self.reason}"


def describe_error(exc: BaseException, limit: int = ERROR_CHARS) -> str:
    """A database error in one short line: the driver's own message, never the SQL statement or
    its parameters (SQLAlchemy appends both, which put a post's text into logs and run rows)."""
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    lines = str(cause).strip().splitlines()
    first = lines[0] if lines else ""
    return safe_text(f"{type(cause).__name__}: {first}" if first else type(cause).__name__, limit)


def _row(run_id: int | None, entry: QuarantineEntry, now: object) -> dict[str, object]:
    def cut(name: str, value: str | None) -> str | None:
        return None if value is None else safe_text(value, _LIMITS[name]) or None

    return {
        "run_id": run_id,
        "platform": cut("platform", entry.platform),
        "source": cut("source", entry.source),
        "target": cut("target", entry.target),
        "post_id": cut("post_id", entry.post_id),
        "line": entry.line if entry.line is None or 0 <= entry.line < 2**31 else None,
        "field": cut("field", entry.field),
        "reason": cut("reason", entry.reason) or "refused",
        "created_at": now,
    }


def record_quarantine(
    engine: Engine, run_id: int | None, entries: Iterable[QuarantineEntry]
) -> int:
    """Store `entries` for `run_id` in one transaction; returns how many."""
    now = utc_now()
    rows = [_row(run_id, e, now) for e in entries]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert(QuarantinedRow), rows)
    return len(rows)


def list_quarantine(
    engine: Engine, run_id: int | None = None, limit: int | None = None
) -> Sequence[QuarantinedRow]:
    """Quarantined rows, of one run or all, in the order they were refused."""
    stmt = select(QuarantinedRow).order_by(QuarantinedRow.id)
    if run_id is not None:
        stmt = stmt.where(QuarantinedRow.run_id == run_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with Session(engine) as session:
        return list(session.scalars(stmt))
