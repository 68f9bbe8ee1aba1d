"""Reviewer labels: read a filled-in review sheet (CSV), check every row, store and settle items."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from classifiers.base import TOPICS
from crawler.errors import InputError
from storage.engine import insert_for, utc_now
from storage.models import ReviewItem, ReviewLabel
from storage.review import NO, UNSURE, YES, resolve
from storage.sheets import SheetReader
from storage.topics import ANY_TOPIC

# What reviewers write in the label column, lower-cased, and the label it means.
LABEL_WORDS = {
    "yes": YES, "y": YES, "1": YES, "true": YES,
    "no": NO, "n": NO, "0": NO, "false": NO,
    "unsure": UNSURE, "?": UNSURE,
}  # fmt: skip
REQUIRED = ("item_id", "reviewer", "label")
ANY_WORDS = ("", ANY_TOPIC, "any")

__all__ = ["LABEL_WORDS", "LabelRow", "ReadLabels", "read_labels", "settle", "store_labels"]


@dataclass(frozen=True)
class LabelRow:
    line: int
    item_id: int
    reviewer: str
    label: str
    topic: str = ANY_TOPIC
    note: str | None = None


@dataclass
class ReadLabels:
    """A sheet's good rows, its bad ones as (line, problem), and the rows left blank."""

    rows: list[LabelRow] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0


def _check_row(raw: dict[str, Any], line: int, default_reviewer: str | None) -> LabelRow | None:
    """The row as a LabelRow; None for a row nobody filled in; ValueError says what is wrong."""
    label_text = (raw.get("label") or "").strip()
    reviewer = (raw.get("reviewer") or "").strip() or default_reviewer or ""
    if not label_text:
        return None  # the sheet's rows nobody has labelled yet
    item_text = (raw.get("item_id") or "").strip()
    if not item_text.isdigit():
        raise ValueError(
            f"item_id: {item_text!r} is not an item number (keep the item_id column of the export)"
        )
    label = LABEL_WORDS.get(label_text.lower())
    if label is None:
        raise ValueError(f"label: {label_text!r} is not a label (write yes, no or unsure)")
    if not reviewer:
        raise ValueError("reviewer: missing (write the reviewer's name, or pass --reviewer)")
    if len(reviewer) > 64:
        raise ValueError("reviewer: longer than 64 characters (shorten the name)")
    topic = (raw.get("topic") or "").strip().lower()
    if topic in ANY_WORDS:
        topic = ANY_TOPIC
    elif topic not in TOPICS:
        raise ValueError(
            f"topic: {topic!r} is not a topic (leave it empty for any violent-extremist "
            f"content, or use one of: {', '.join(TOPICS)})"
        )
    note = (raw.get("note") or "").strip() or None
    return LabelRow(line, int(item_text), reviewer, label, topic, note)


def read_labels(engine: Engine, path: Path, *, default_reviewer: str | None = None) -> ReadLabels:
    """Read a review sheet; every bad row is reported by line number, nothing is stored."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    out = ReadLabels()
    seen: dict[tuple[int, str, str], int] = {}
    with handle:
        reader = SheetReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [
            c for c in REQUIRED if c not in columns and not (c == "reviewer" and default_reviewer)
        ]
        if missing:
            raise InputError(
                f"{path}: line 1: missing column {', '.join(missing)} (the header needs "
                "item_id, reviewer and label; topic and note are optional)"
            )
        reader.fieldnames = columns
        for raw in reader:
            line = reader.line_num
            if None in raw:
                out.bad.append((line, f"{len(raw[None])} more cells than the header has columns"))
                continue
            try:
                row = _check_row(raw, line, default_reviewer)
            except ValueError as exc:
                out.bad.append((line, str(exc)))
                continue
            if row is None:
                out.blank += 1
                continue
            key = (row.item_id, row.reviewer, row.topic)
            if key in seen:
                out.bad.append(
                    (line, f"item {row.item_id} is labelled by {row.reviewer!r} for the same "
                     f"topic on line {seen[key]} too (keep one of the two rows)")
                )  # fmt: skip
                continue
            seen[key] = line
            out.rows.append(row)
    _imply_any_content(out)
    _drop_unknown_items(engine, out)
    return out


def _imply_any_content(read: ReadLabels) -> None:
    """A "yes" for one topic is a "yes" for violent-extremist content: such a row also gives
    the any-content label (topic "*") the estimates use, unless the reviewer wrote one, so a
    sheet with its topic column filled gives the same any-content estimate as one left blank.
    A "no" for a topic says nothing about the others. A written "no" for any content beside a
    "yes" for a topic is a contradiction, reported by line."""
    given = {(r.item_id, r.reviewer): r for r in read.rows if r.topic == ANY_TOPIC}
    implied: dict[tuple[int, str], LabelRow] = {}
    for row in read.rows:
        if row.topic == ANY_TOPIC or row.label != "yes":
            continue
        key = (row.item_id, row.reviewer)
        written = given.get(key)
        if written is None:
            implied.setdefault(
                key, LabelRow(row.line, row.item_id, row.reviewer, "yes", ANY_TOPIC, None)
            )
        elif written.label == "no":
            read.bad.append(
                (row.line, f"item {row.item_id}: 'yes' for {row.topic} but 'no' for any "
                 f"violent-extremist content on line {written.line} (a post with a topic is "
                 "such content: correct one of the two rows)")
            )  # fmt: skip
    read.rows.extend(implied.values())


def _drop_unknown_items(engine: Engine, read: ReadLabels) -> None:
    ids = sorted({row.item_id for row in read.rows})
    known: set[int] = set()
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            known.update(
                int(i)
                for i in conn.execute(
                    select(ReviewItem.id).where(ReviewItem.id.in_(ids[start : start + 500]))
                ).scalars()
            )
    for row in read.rows:
        if row.item_id not in known:
            read.bad.append(
                (row.line, f"item_id: {row.item_id} is not a sampled item in this database "
                 "(labels belong to the project whose sample was exported)")
            )  # fmt: skip
    read.rows = [row for row in read.rows if row.item_id in known]
    read.bad.sort()


def store_labels(engine: Engine, rows: Sequence[LabelRow], *, adjudication: bool = False) -> int:
    """Store labels and settle their items in one transaction: all of it, or nothing.

    A row for the same item, reviewer and topic replaces the earlier one. A kill or an error
    part of the way leaves labels and settled state as they were before (re-import the sheet).
    """
    if not rows:
        return 0
    now = utc_now()
    stmt = insert_for(engine)(ReviewLabel)
    stmt = stmt.on_conflict_do_update(
        index_elements=["item_id", "reviewer", "topic", "adjudication"],
        set_={"label": stmt.excluded.label, "note": stmt.excluded.note, "created_at": now},
    )
    values = [
        {"item_id": r.item_id, "reviewer": r.reviewer, "topic": r.topic, "label": r.label,
         "note": r.note, "adjudication": adjudication, "created_at": now}
        for r in rows
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(stmt, values)
        _settle(conn, {r.item_id for r in rows})
    return len(rows)


def settle(engine: Engine, item_ids: Iterable[int]) -> None:
    """Mark items whose overall label resolves to yes or no: their text may now be erased."""
    with engine.begin() as conn:
        _settle(conn, item_ids)


def _settle(conn: Connection, item_ids: Iterable[int]) -> None:
    """`settle` inside the caller's transaction."""
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        labels: dict[int, list[tuple[str, bool]]] = {i: [] for i in chunk}
        for item_id, label, adjudication in conn.execute(
            select(ReviewLabel.item_id, ReviewLabel.label, ReviewLabel.adjudication)
            .where(ReviewLabel.item_id.in_(chunk), ReviewLabel.topic == ANY_TOPIC)
            .order_by(ReviewLabel.created_at, ReviewLabel.id)
        ):
            labels[int(item_id)].append((str(label), bool(adjudication)))
        settled = [i for i, given in labels.items() if resolve(given) in (YES, NO)]
        conn.execute(update(ReviewItem).where(ReviewItem.id.in_(chunk)).values(settled=False))
        if settled:
            conn.execute(update(ReviewItem).where(ReviewItem.id.in_(settled)).values(settled=True))
