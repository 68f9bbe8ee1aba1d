"""The review queue: who labels which item next, with K reviewers per item held by the database.

Each item of a sample needs K distinct reviewers: 1, or 2 for items the sample marked
`double_label`. A reviewer takes one of an item's slots as a lease (a `review_leases` row,
primary key (item, slot), slot 0 or 1, one row per (item, user)); storing the label marks the
lease done in the same transaction as the labels and the item's settled state. A lease not
done by `expires_at` is free again: the next claim of that item deletes it and the item goes
to whoever asks next.

Claims are serialised per item: on PostgreSQL the candidate item row is locked with
`FOR UPDATE SKIP LOCKED` (concurrent claimants pass over it to the next item, and wait for it
only when nothing else is left); on SQLite the whole claim is one `BEGIN IMMEDIATE`
transaction (SQLite has one writer at a time). After the lock the item's reviewers are
counted again, and the primary key refuses a second holder of the same slot even if that count were ever wrong.

Reviewers counted on an item are those holding a live or done lease and those with a label
on it (also labels imported from a sheet by `vemeter review import`), adjudications aside.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from crawler.errors import VemeterError
from review.auth import User
from storage import audit
from storage.engine import insert_for, utc_naive
from storage.models import ReviewItem, ReviewLabel, ReviewLease, ReviewSample, ReviewSkip
from storage.review import NO, UNSURE, YES
from storage.review_labels import _settle
from storage.topics import ANY_TOPIC

__all__ = [
    "LABELS",
    "LEASE_TIME",
    "AlreadyLabelled",
    "LeaseLost",
    "QueueStatus",
    "claim_next",
    "current_sample",
    "held_lease",
    "queue_status",
    "reviewers_of",
    "skip",
    "submit",
    "write_transaction",
]

LABELS = (YES, NO, UNSURE)
LEASE_TIME = timedelta(minutes=15)
# Claims that lose a race for a slot (a unique-key refusal) start again, this many times.
CLAIM_TRIES = 5


class LeaseLost(VemeterError):
    """The reviewer no longer holds this item: the lease expired and the item went back."""


class AlreadyLabelled(VemeterError):
    """The reviewer labelled this item already: a label is given once."""


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes: on SQLite it takes the write lock at once (BEGIN IMMEDIATE),
    so what it reads cannot change before it writes."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def current_sample(engine: Engine) -> int | None:
    """The newest review sample, or None when none was drawn."""
    with engine.connect() as conn:
        value = conn.execute(select(func.max(ReviewSample.id))).scalar_one_or_none()
    return int(value) if value is not None else None


def _k(double_label: bool) -> int:
    return 2 if double_label else 1


def reviewers_of(conn: Connection, item_id: int, now: datetime) -> dict[str, int | None]:
    """Who counts as a reviewer of the item now: name -> slot (None: a label without a lease)."""
    out: dict[str, int | None] = {}
    for reviewer in conn.execute(
        select(ReviewLabel.reviewer)
        .distinct()
        .where(ReviewLabel.item_id == item_id, ReviewLabel.adjudication.is_(False))
    ).scalars():
        out[str(reviewer)] = None
    for reviewer, slot in conn.execute(
        select(ReviewLease.reviewer, ReviewLease.slot).where(
            ReviewLease.item_id == item_id,
            or_(ReviewLease.done_at.is_not(None), ReviewLease.expires_at > now),
        )
    ):
        out[str(reviewer)] = int(slot)
    return out


def held_lease(engine: Engine, user: User, item_id: int, now: datetime) -> bool:
    """Whether `user` holds a live, not yet done lease on the item (refreshed if so)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(ReviewLease)
            .where(
                ReviewLease.item_id == item_id,
                ReviewLease.user_id == user.id,
                ReviewLease.done_at.is_(None),
                ReviewLease.expires_at > now,
            )
            .values(expires_at=now + LEASE_TIME)
        )
    return bool(done.rowcount)


def _own_live_lease(conn: Connection, user: User, sample_id: int, now: datetime) -> int | None:
    return conn.execute(
        select(ReviewLease.item_id)
        .join(ReviewItem, ReviewItem.id == ReviewLease.item_id)
        .where(
            ReviewItem.sample_id == sample_id,
            ReviewLease.user_id == user.id,
            ReviewLease.done_at.is_(None),
            ReviewLease.expires_at > now,
        )
        .order_by(ReviewItem.position)
        .limit(1)
    ).scalar_one_or_none()


def _candidates(user: User, sample_id: int, now: datetime) -> ColumnElement[bool]:
    """Items of the sample this user may take, in review order (checked again once locked)."""
    k = case((ReviewItem.double_label.is_(True), 2), else_=1)
    leases = (
        select(func.count())
        .where(
            ReviewLease.item_id == ReviewItem.id,
            or_(ReviewLease.done_at.is_not(None), ReviewLease.expires_at > now),
        )
        .correlate(ReviewItem)
        .scalar_subquery()
    )
    labellers = (
        select(func.count(distinct(ReviewLabel.reviewer)))
        .where(ReviewLabel.item_id == ReviewItem.id, ReviewLabel.adjudication.is_(False))
        .correlate(ReviewItem)
        .scalar_subquery()
    )
    mine_label = exists().where(
        ReviewLabel.item_id == ReviewItem.id,
        ReviewLabel.reviewer == user.name,
        ReviewLabel.adjudication.is_(False),
    )
    mine_lease = exists().where(
        ReviewLease.item_id == ReviewItem.id,
        ReviewLease.user_id == user.id,
        or_(ReviewLease.done_at.is_not(None), ReviewLease.expires_at > now),
    )
    mine_skip = exists().where(ReviewSkip.item_id == ReviewItem.id, ReviewSkip.user_id == user.id)
    return and_(
        ReviewItem.sample_id == sample_id,
        ~mine_label,
        ~mine_lease,
        ~mine_skip,
        leases < k,
        labellers < k,
    )


def claim_next(
    engine: Engine, user: User, sample_id: int, now: datetime, *, lease_time: timedelta = LEASE_TIME
) -> int | None:
    """The item `user` should label next, leased to them; None when nothing is left for them.

    A live lease the user holds already is returned first (a reload gives the same item).
    """
    now = utc_naive(now)
    for _ in range(CLAIM_TRIES):
        try:
            return _claim(engine, user, sample_id, now, lease_time)
        except IntegrityError:
            continue  # another claimant took the slot between our count and our insert
    return None


def _claim(
    engine: Engine, user: User, sample_id: int, now: datetime, lease_time: timedelta
) -> int | None:
    where = _candidates(user, sample_id, now)
    after = -1
    # PostgreSQL: pass over items others are claiming (SKIP LOCKED); if that finds nothing,
    # look once more waiting for those locks, so a slot still free on an item someone else
    # was claiming is not taken for an empty queue. Both passes lock in review order.
    skip_locked = engine.dialect.name == "postgresql"
    with write_transaction(engine) as conn:
        own = _own_live_lease(conn, user, sample_id, now)
        if own is not None:
            return int(own)
        while True:
            stmt = (
                select(ReviewItem.id, ReviewItem.double_label, ReviewItem.position)
                .where(where, ReviewItem.position > after)
                .order_by(ReviewItem.position, ReviewItem.id)
                .limit(1)
            )
            if engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=skip_locked, of=ReviewItem)
            row = conn.execute(stmt).first()
            if row is None:
                if skip_locked:
                    skip_locked, after = False, -1
                    continue
                return None
            item_id, k, after = int(row.id), _k(bool(row.double_label)), int(row.position)
            # Locked now: expired leases of the item are free slots; count again.
            conn.execute(
                delete(ReviewLease).where(
                    ReviewLease.item_id == item_id,
                    ReviewLease.done_at.is_(None),
                    ReviewLease.expires_at <= now,
                )
            )
            holders = reviewers_of(conn, item_id, now)
            if user.name in holders or len(holders) >= k:
                continue
            taken = {s for s in holders.values() if s is not None}
            free = [s for s in range(k) if s not in taken]
            if not free:
                continue
            conn.execute(
                insert(ReviewLease).values(
                    item_id=item_id,
                    slot=free[0],
                    user_id=user.id,
                    reviewer=user.name,
                    leased_at=now,
                    expires_at=now + lease_time,
                    done_at=None,
                )
            )
            return item_id


def _lock_item(conn: Connection, engine: Engine, item_id: int) -> None:
    stmt = select(ReviewItem.id).where(ReviewItem.id == item_id)
    if engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    conn.execute(stmt)


def submit(
    engine: Engine,
    user: User,
    item_id: int,
    labels: Mapping[str, str],
    note: str | None,
    now: datetime,
) -> None:
    """Store the user's labels of a leased item (topic -> yes/no/unsure; topic "*" required),
    mark the lease done and settle the item, all in one transaction.

    LeaseLost when the user's lease is gone (expired and taken back); AlreadyLabelled when the
    user has labels on the item already (the unique key refuses a second set).
    """
    if labels.get(ANY_TOPIC) not in LABELS:
        raise ValueError("the overall label (topic *) must be yes, no or unsure")
    if any(v not in LABELS for v in labels.values()):
        raise ValueError("labels must be yes, no or unsure")
    now = utc_naive(now)
    with write_transaction(engine) as conn:
        _lock_item(conn, engine, item_id)
        lease = select(ReviewLease.slot).where(
            ReviewLease.item_id == item_id,
            ReviewLease.user_id == user.id,
            ReviewLease.done_at.is_(None),
        )
        if engine.dialect.name == "postgresql":
            lease = lease.with_for_update()
        if conn.execute(lease).first() is None:
            raise LeaseLost(f"item {item_id} is no longer leased to {user.name}")
        # An expired lease nobody has taken over yet still counts: the slot was never given away.
        try:
            conn.execute(
                insert(ReviewLabel),
                [
                    {
                        "item_id": item_id,
                        "reviewer": user.name,
                        "topic": topic,
                        "label": label,
                        "note": note if topic == ANY_TOPIC else None,
                        "adjudication": False,
                        "created_at": now,
                    }
                    for topic, label in labels.items()
                ],
            )
        except IntegrityError:
            raise AlreadyLabelled(f"{user.name} labelled item {item_id} already") from None
        conn.execute(
            update(ReviewLease)
            .where(ReviewLease.item_id == item_id, ReviewLease.user_id == user.id)
            .values(done_at=now)
        )
        # A reviewer labels an item once (the unique key above), so there is no old value.
        audit.append(
            conn, "label", user=user.name, item_id=item_id,
            detail={"old": None, "new": dict(labels), "note": note is not None}, at=now,
        )  # fmt: skip
        _settle(conn, [item_id])


def skip(engine: Engine, user: User, item_id: int, now: datetime) -> None:
    """Give the item back and do not offer it to this user again."""
    now = utc_naive(now)
    with write_transaction(engine) as conn:
        _lock_item(conn, engine, item_id)
        conn.execute(
            delete(ReviewLease).where(
                ReviewLease.item_id == item_id,
                ReviewLease.user_id == user.id,
                ReviewLease.done_at.is_(None),
            )
        )
        conn.execute(
            insert_for(engine)(ReviewSkip)
            .values(user_id=user.id, item_id=item_id, skipped_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "item_id"])
        )
        audit.append(conn, "skip", user=user.name, item_id=item_id, at=now)


@dataclass(frozen=True)
class QueueStatus:
    sample_id: int
    items: int  # items in the sample
    labelled_by_me: int
    waiting_for_me: int  # items I could take now
    leased_to_me: int | None  # the item I hold, if any


def queue_status(engine: Engine, user: User, sample_id: int, now: datetime) -> QueueStatus:
    now = utc_naive(now)
    where = _candidates(user, sample_id, now)
    with engine.connect() as conn:
        items = conn.execute(
            select(func.count()).where(ReviewItem.sample_id == sample_id)
        ).scalar_one()
        mine = conn.execute(
            select(func.count(distinct(ReviewLabel.item_id)))
            .join(ReviewItem, ReviewItem.id == ReviewLabel.item_id)
            .where(
                ReviewItem.sample_id == sample_id,
                ReviewLabel.reviewer == user.name,
                ReviewLabel.adjudication.is_(False),
            )
        ).scalar_one()
        waiting = conn.execute(
            select(func.count()).select_from(ReviewItem).where(where)
        ).scalar_one()
        own = _own_live_lease(conn, user, sample_id, now)
    return QueueStatus(
        sample_id=sample_id,
        items=int(items),
        labelled_by_me=int(mine),
        waiting_for_me=int(waiting),
        leased_to_me=int(own) if own is not None else None,
    )
