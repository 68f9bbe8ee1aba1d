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
Once K reviewers have labelled an item, `submit` marks it `filled` (labels are never removed,
so the mark holds); claims walk only the items not filled (a partial index on them),
so a claim costs the same at the end of a 100,000-item sample as at its start. An item filled
by imported labels is not marked, only passed over by the counts.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Connection,
    DateTime,
    Engine,
    Integer,
    Select,
    String,
    bindparam,
    case,
    delete,
    distinct,
    exists,
    false,
    func,
    insert,
    null,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from crawler.errors import VemeterError
from review.auth import User
from review.connections import autocommit
from storage import audit
from storage.engine import insert_for, utc_naive
from storage.models import ReviewItem, ReviewLabel, ReviewLease, ReviewSample, ReviewSkip
from storage.review import NO, UNSURE, YES, resolve
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
# A lease is refreshed by a page view at most this often.
RENEW_AFTER = timedelta(minutes=1)
# Claims that lose a race for a slot (a unique-key refusal) start again, this many times.
CLAIM_TRIES = 5


class LeaseLost(VemeterError):
    """The reviewer no longer holds this item: the lease expired and the item went back."""


class AlreadyLabelled(VemeterError):
    """The reviewer labelled this item already: a label is given once."""


# One lock per SQLite engine: this process's writers queue on it, and are woken the moment the
# one before them commits, instead of polling SQLite's write lock (its busy handler sleeps
# 1, 2, 5 … 100 ms between tries, which under 20 reviewers made the slowest requests wait for
# hundreds of ms). Other processes still meet the write lock and its busy timeout.
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> contextlib.AbstractContextManager[object]:
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _WRITERS_GUARD:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.Lock()
    return lock


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes: on SQLite it takes the write lock at once (BEGIN IMMEDIATE),
    so what it reads cannot change before it writes. Not to be nested in one thread."""
    with _writer_lock(engine), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


_NEWEST_SAMPLE = select(func.max(ReviewSample.id))  # built once: every label runs it


def current_sample(engine: Engine) -> int | None:
    """The newest review sample, or None when none was drawn."""
    with autocommit(engine) as conn:
        value = conn.execute(_NEWEST_SAMPLE).scalar_one_or_none()
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


# An item's leases and its labellers (built once: every claim runs it).
_REVIEWERS: CompoundSelect[*tuple[Any, ...]] = union_all(
    select(
        ReviewLease.reviewer, ReviewLease.slot, ReviewLease.done_at, ReviewLease.expires_at
    ).where(ReviewLease.item_id == bindparam("r_item", type_=BigInteger())),
    select(ReviewLabel.reviewer, null(), null(), null()).where(
        ReviewLabel.item_id == bindparam("r_item", type_=BigInteger()),
        ReviewLabel.adjudication.is_(False),
    ),
)


def _reviewers_now(
    conn: Connection, item_id: int, now: datetime
) -> tuple[dict[str, int | None], bool]:
    """`reviewers_of` in one query (a round trip less on PostgreSQL), and whether an expired
    lease not done is on the item (a slot to free)."""
    rows: Sequence[Any] = conn.execute(_REVIEWERS, {"r_item": item_id}).all()
    out: dict[str, int | None] = {}
    expired = False
    for reviewer, slot, done_at, expires_at in rows:
        if slot is None:  # a label
            out.setdefault(str(reviewer), None)
        elif done_at is not None or utc_naive(expires_at) > now:
            out[str(reviewer)] = int(slot)
        else:
            expired = True
    return out, expired


@functools.cache
def _held_query() -> Select[datetime]:
    """The expiry of the user's live lease on the item; built once (every item page runs it)."""
    return select(ReviewLease.expires_at).where(
        ReviewLease.item_id == bindparam("h_item", type_=BigInteger()),
        ReviewLease.user_id == bindparam("h_user", type_=BigInteger()),
        ReviewLease.done_at.is_(None),
        ReviewLease.expires_at > bindparam("h_now", type_=DateTime(timezone=True)),
    )


def held_lease(engine: Engine, user: User, item_id: int, now: datetime) -> bool:
    """Whether `user` holds a live, not yet done lease on the item (refreshed if so).

    A lease given or refreshed within the last minute is left as it is: the item page right
    after a claim then only reads, and takes no write lock.
    """
    now = utc_naive(now)
    mine = (
        ReviewLease.item_id == item_id,
        ReviewLease.user_id == user.id,
        ReviewLease.done_at.is_(None),
        ReviewLease.expires_at > now,
    )
    with autocommit(engine) as conn:
        expires = conn.execute(
            _held_query(), {"h_item": item_id, "h_user": user.id, "h_now": now}
        ).scalar_one_or_none()
    if expires is None:
        return False
    if utc_naive(expires) >= now + LEASE_TIME - RENEW_AFTER:
        return True
    with write_transaction(engine) as conn:
        done = conn.execute(update(ReviewLease).where(*mine).values(expires_at=now + LEASE_TIME))
    return bool(done.rowcount)


# The items of a user's live leases not done (built once: every claim runs it).
_OPEN_LEASES = select(ReviewLease.item_id).where(
    ReviewLease.user_id == bindparam("o_user", type_=BigInteger()),
    ReviewLease.done_at.is_(None),
    ReviewLease.expires_at > bindparam("o_now", type_=DateTime(timezone=True)),
)


def _own_live_lease(conn: Connection, user: User, sample_id: int, now: datetime) -> int | None:
    # The user's open leases first (their index), then which of those items is in the sample:
    # one join would let a planner without statistics walk the whole sample instead.
    held = list(conn.execute(_OPEN_LEASES, {"o_user": user.id, "o_now": now}).scalars())
    if not held:
        return None
    return conn.execute(
        select(ReviewItem.id)
        .where(ReviewItem.id.in_(held), ReviewItem.sample_id == sample_id)
        .order_by(ReviewItem.position)
        .limit(1)
    ).scalar_one_or_none()


@functools.cache
def _next_candidate(postgresql: bool, skip_locked: bool) -> Select[int, bool, int]:
    """The first item of the sample after position :after that the user may take, in review
    order (checked again once locked). Built once: its parameters are bound at each claim, so
    a claim spends no time building the statement or its cache key (about 2 ms of CPU)."""
    user_id = bindparam("q_user_id", type_=BigInteger())
    user_name = bindparam("q_user_name", type_=String())
    sample_id = bindparam("q_sample_id", type_=BigInteger())
    now = bindparam("q_now", type_=DateTime(timezone=True))
    after = bindparam("q_after", type_=Integer())
    k = case((ReviewItem.double_label.is_(True), 2), else_=1)
    counted = or_(ReviewLease.done_at.is_not(None), ReviewLease.expires_at > now)
    leases = (
        select(func.count())
        .where(ReviewLease.item_id == ReviewItem.id, counted)
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
        ReviewLabel.reviewer == user_name,
        ReviewLabel.adjudication.is_(False),
    )
    mine_lease = exists().where(
        ReviewLease.item_id == ReviewItem.id, ReviewLease.user_id == user_id, counted
    )
    mine_skip = exists().where(ReviewSkip.item_id == ReviewItem.id, ReviewSkip.user_id == user_id)
    stmt = (
        select(ReviewItem.id, ReviewItem.double_label, ReviewItem.position)
        .where(
            ReviewItem.sample_id == sample_id,
            ReviewItem.filled == false(),  # "=", not "IS": the partial index's predicate
            ReviewItem.position > after,
            ~mine_label,
            ~mine_lease,
            ~mine_skip,
            leases < k,
            labellers < k,
        )
        .order_by(ReviewItem.position, ReviewItem.id)
        .limit(1)
    )
    if postgresql:
        stmt = stmt.with_for_update(skip_locked=skip_locked, of=ReviewItem)
    return stmt


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
            stmt = _next_candidate(engine.dialect.name == "postgresql", skip_locked)
            row = conn.execute(
                stmt,
                {"q_user_id": user.id, "q_user_name": user.name, "q_sample_id": sample_id,
                 "q_now": now, "q_after": after},
            ).first()  # fmt: skip
            if row is None:
                if skip_locked:
                    skip_locked, after = False, -1
                    continue
                return None
            item_id, k, after = int(row.id), _k(bool(row.double_label)), int(row.position)
            # Locked now: count again; expired leases of the item are free slots.
            holders, expired = _reviewers_now(conn, item_id, now)
            if user.name in holders or len(holders) >= k:
                continue
            taken = {s for s in holders.values() if s is not None}
            free = [s for s in range(k) if s not in taken]
            if not free:
                continue
            if expired:
                conn.execute(
                    delete(ReviewLease).where(
                        ReviewLease.item_id == item_id,
                        ReviewLease.done_at.is_(None),
                        ReviewLease.expires_at <= now,
                    )
                )
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


def _lock_item(conn: Connection, engine: Engine, item_id: int) -> int | None:
    """Lock the item's row (PostgreSQL; SQLite's write lock is held already); its K, or None
    when there is no such item."""
    stmt = select(ReviewItem.double_label).where(ReviewItem.id == item_id)
    if engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    double = conn.execute(stmt).scalar_one_or_none()
    return None if double is None else _k(bool(double))


# An item's labels in the order stored (built once: every label runs it).
_ITEM_LABELS = (
    select(ReviewLabel.reviewer, ReviewLabel.topic, ReviewLabel.label, ReviewLabel.adjudication)
    .where(ReviewLabel.item_id == bindparam("l_item", type_=BigInteger()))
    .order_by(ReviewLabel.created_at, ReviewLabel.id)
)


def _settle_labelled(conn: Connection, item_id: int, k: int) -> None:
    """After a label: the item's settled state (as `storage.review_labels._settle` decides it,
    from its overall labels in the order stored) and, with its K-th reviewer, its `filled`
    mark (later claims pass over it; never taken off). One read and one write for both."""
    rows = conn.execute(_ITEM_LABELS, {"l_item": item_id}).all()
    given = [(str(label), bool(adj)) for _, topic, label, adj in rows if topic == ANY_TOPIC]
    values: dict[str, bool] = {"settled": resolve(given) in (YES, NO)}
    if len({str(r) for r, _, _, adj in rows if not adj}) >= k:
        values["filled"] = True
    conn.execute(update(ReviewItem).where(ReviewItem.id == item_id).values(**values))


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
        k = _lock_item(conn, engine, item_id)
        # The lease is marked done first: no row means it is gone (a failure below undoes this).
        # An expired lease nobody has taken over yet still counts: the slot was never given away.
        done = conn.execute(
            update(ReviewLease)
            .where(
                ReviewLease.item_id == item_id,
                ReviewLease.user_id == user.id,
                ReviewLease.done_at.is_(None),
            )
            .values(done_at=now)
        )
        if not done.rowcount:
            raise LeaseLost(f"item {item_id} is no longer leased to {user.name}")
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
        _settle_labelled(conn, item_id, k or 1)
        # Last: on PostgreSQL the audit chain's lock is held from here to the commit, and every
        # writer of the app waits for it. A reviewer labels an item once (the unique key
        # above), so there is no old value.
        audit.append(
            conn, "label", user=user.name, item_id=item_id,
            detail={"old": None, "new": dict(labels), "note": note is not None}, at=now,
        )  # fmt: skip


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
    """The queue page's figures. Items waiting are the sample's items not filled less those the
    user may not take (theirs, skipped, or with K reviewers): counted from the leases and
    labels, not by checking each of a large sample's items in turn."""
    now = utc_naive(now)
    item = ReviewItem
    holders = union(
        select(ReviewLabel.item_id, ReviewLabel.reviewer).where(
            ReviewLabel.adjudication.is_(False)
        ),
        select(ReviewLease.item_id, ReviewLease.reviewer).where(
            or_(ReviewLease.done_at.is_not(None), ReviewLease.expires_at > now)
        ),
    ).subquery()
    unfilled = (item.sample_id == sample_id, item.filled == false())
    with engine.connect() as conn:
        items = conn.execute(select(func.count()).where(item.sample_id == sample_id)).scalar_one()
        open_items = conn.execute(select(func.count()).where(*unfilled)).scalar_one()
        taken = conn.execute(
            select(
                holders.c.item_id,
                item.double_label,
                func.count(),
                func.max(case((holders.c.reviewer == user.name, 1), else_=0)),
            )
            .join(item, item.id == holders.c.item_id)
            .where(*unfilled)
            .group_by(holders.c.item_id, item.double_label)
        ).all()
        blocked = {int(i) for i, double, n, mine in taken if mine or n >= _k(bool(double))}
        blocked.update(
            int(i)
            for i in conn.execute(
                select(ReviewSkip.item_id)
                .join(item, item.id == ReviewSkip.item_id)
                .where(ReviewSkip.user_id == user.id, *unfilled)
            ).scalars()
        )
        mine = conn.execute(
            select(func.count(distinct(ReviewLabel.item_id)))
            .join(item, item.id == ReviewLabel.item_id)
            .where(
                item.sample_id == sample_id,
                ReviewLabel.reviewer == user.name,
                ReviewLabel.adjudication.is_(False),
            )
        ).scalar_one()
        own = _own_live_lease(conn, user, sample_id, now)
    return QueueStatus(
        sample_id=sample_id,
        items=int(items),
        labelled_by_me=int(mine),
        waiting_for_me=int(open_items) - len(blocked),
        leased_to_me=int(own) if own is not None else None,
    )
