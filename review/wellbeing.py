"""Reviewer wellbeing: minutes of text exposure per session and per day, break reminders, a daily cap.

Nothing new is stored: exposure is read from the audit trail the app writes anyway. A text is
exposed from the moment it is shown — a `reveal`, or a `view` whose detail says the text was
shown unblurred (`"shown": true`, a reviewer who turned blurring off) — until the reviewer's
next recorded action of any kind (a label, a skip, the next view, signing out), and for at most
`MAX_OPEN` (a text left open longer is taken for a reviewer who walked away).

Continuous work is the current stretch of recorded actions and exposure with no gap of
`pause` or longer; past `break_after` the item page shows a reminder. Once a day's exposure
reaches the cap, the queue gives no new item until the day (in the configured time zone) ends.

Reading a reviewer's rows costs a scan of the audit table (it has no index by user), so the app
keeps each reviewer's recent events (`EventCache`) and afterwards reads only rows with a higher
id: a range of the primary key. That is sound because appends are serialised (storage.audit):
a row's id is visible only after every lower id is.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Connection,
    DateTime,
    Engine,
    String,
    bindparam,
    func,
    literal,
    null,
    select,
    union_all,
)

from review.connections import autocommit
from storage.engine import utc_naive
from storage.models import ReviewAudit

__all__ = [
    "MAX_OPEN",
    "Event",
    "EventCache",
    "Exposure",
    "Limits",
    "day_bounds",
    "exposure",
    "exposure_by_user",
    "exposure_spans",
    "load_events",
    "minutes",
    "overlap",
    "stretch_start",
    "window",
]

# A text open this long without another action counts this long, no more.
MAX_OPEN = timedelta(minutes=10)


@dataclass(frozen=True)
class Limits:
    """The wellbeing settings of an app (`review.app` in the project config)."""

    break_minutes: int = 25  # remind after this much continuous work; 0: never
    pause_minutes: int = 5  # a gap this long ends a stretch of continuous work
    daily_cap_minutes: int = 120  # no new item after this much exposure in a day; 0: no cap
    blur: bool = True  # texts blurred until revealed, unless a reviewer turns it off
    timezone: str = "UTC"  # the day the cap counts and resets in

    def __post_init__(self) -> None:
        if not 0 <= self.break_minutes <= 480:
            raise ValueError("break_minutes: must be 0 (off) to 480")
        if not 1 <= self.pause_minutes <= 120:
            raise ValueError("pause_minutes: must be 1 to 120")
        if not 0 <= self.daily_cap_minutes <= 1440:
            raise ValueError("daily_cap_minutes: must be 0 (no cap) to 1440")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone: {self.timezone!r} is not a time zone name (e.g. UTC, Asia/Almaty)"
            ) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Event:
    """One audit row of a reviewer, as exposure sees it."""

    at: datetime  # naive UTC
    action: str
    item_id: int | None
    shows_text: bool  # the text became visible with this event


def exposure_spans(
    events: Sequence[Event], now: datetime, max_open: timedelta = MAX_OPEN
) -> list[tuple[datetime, datetime]]:
    """(start, end) of each time a text was on screen, in order."""
    spans: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    for event in events:
        if opened is not None:
            spans.append((opened, max(opened, min(event.at, opened + max_open))))
            opened = None
        if event.shows_text:
            opened = event.at
    if opened is not None:
        spans.append((opened, max(opened, min(now, opened + max_open))))
    return spans


def overlap(
    spans: Iterable[tuple[datetime, datetime]], since: datetime, until: datetime
) -> timedelta:
    """How much of the spans falls in [since, until)."""
    total = timedelta()
    for start, end in spans:
        lo, hi = max(start, since), min(end, until)
        if hi > lo:
            total += hi - lo
    return total


def stretch_start(
    events: Sequence[Event],
    spans: Sequence[tuple[datetime, datetime]],
    now: datetime,
    pause: timedelta,
) -> datetime | None:
    """When the current stretch of work began (actions and exposure with no gap of `pause` or
    longer up to now); None when the reviewer has paused that long."""
    busy = sorted([(e.at, e.at) for e in events] + list(spans))
    current: tuple[datetime, datetime] | None = None
    for start, end in busy:
        if current is not None and start - current[1] < pause:
            current = (current[0], max(current[1], end))
        else:
            current = (start, end)
    if current is None or now - current[1] >= pause:
        return None
    return current[0]


def day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of `now`'s day in `zone` (naive UTC) and when the next day starts (in `zone`)."""
    local = utc_naive(now).replace(tzinfo=UTC).astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    nxt = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC).replace(tzinfo=None), nxt


def minutes(span: timedelta) -> int:
    """Whole minutes, rounded down (a reviewer reads "12 min" for 12 min 50 s)."""
    return int(span.total_seconds() // 60)


@dataclass(frozen=True)
class Exposure:
    today: timedelta
    session: timedelta
    continuous: timedelta  # the current stretch of work; zero after a pause
    limits: Limits
    resets_at: datetime  # when the day's count starts again (aware, in the limits' zone)
    now: datetime

    @property
    def capped(self) -> bool:
        cap = self.limits.daily_cap_minutes
        return cap > 0 and self.today >= timedelta(minutes=cap)

    @property
    def remind(self) -> bool:
        every = self.limits.break_minutes
        return every > 0 and self.continuous >= timedelta(minutes=every)

    @property
    def summary(self) -> str:
        """ "Today: 23 min of 120 · this session 12 min"."""
        cap = self.limits.daily_cap_minutes
        of = f" of {cap}" if cap else ""
        return f"Today: {minutes(self.today)} min{of} · this session {minutes(self.session)} min"

    @property
    def resets(self) -> str:
        """ "00:00 UTC (in 6 h 40 min)"."""
        left = self.resets_at.astimezone(UTC).replace(tzinfo=None) - utc_naive(self.now)
        hours, mins = divmod(max(0, minutes(left)), 60)
        wait = f"{hours} h {mins} min" if hours else f"{mins} min"
        return f"{self.resets_at:%H:%M} {self.limits.timezone} (in {wait})"


def _event(at: datetime, action: str, item_id: int | None, detail: str) -> Event:
    shows = action == "reveal"
    if action == "view" and '"shown"' in detail:
        try:
            shows = bool(json.loads(detail).get("shown"))
        except ValueError:
            shows = False
    return Event(utc_naive(at), action, int(item_id) if item_id is not None else None, shows)


def load_events(engine: Engine, user: str, since: datetime) -> list[Event]:
    """`user`'s audit rows from `since` (naive UTC), in the order they were written."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ReviewAudit.at, ReviewAudit.action, ReviewAudit.item_id, ReviewAudit.detail)
            .where(ReviewAudit.user_name == user, ReviewAudit.at >= since)
            .order_by(ReviewAudit.id)
        ).all()
    return [_event(*row) for row in rows]


@dataclass(frozen=True)
class _Seen:
    floor: datetime  # events from here on are held
    last: int  # the highest audit id read
    events: tuple[Event, ...]


_COLUMNS = (ReviewAudit.at, ReviewAudit.action, ReviewAudit.item_id, ReviewAudit.detail)


class EventCache:
    """Each reviewer's events since a time, kept between requests; only newer rows are read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, _Seen] = {}

    def events(self, engine: Engine, user: str, since: datetime) -> list[Event]:
        """`load_events(engine, user, since)`, from what was read before plus the new rows."""
        with self._lock:
            seen = self._users.get(user)
        with autocommit(engine) as conn:
            if seen is None or since < seen.floor:
                seen = _read(conn, user, since, None)
            else:
                newer = _read(conn, user, seen.floor, seen.last)
                if newer.last < seen.last:  # the table is not the one read before: read it all
                    seen = _read(conn, user, since, None)
                elif newer.last > seen.last:
                    seen = _Seen(seen.floor, newer.last, seen.events + newer.events)
        if since > seen.floor:  # the window moved on (a new day): forget what fell out of it
            seen = _Seen(since, seen.last, tuple(e for e in seen.events if e.at >= since))
        with self._lock:
            held = self._users.get(user)
            if held is None or held.last <= seen.last:
                self._users[user] = seen
        return list(seen.events)


def _read(conn: Connection, user: str, since: datetime, after: int | None) -> _Seen:
    """`user`'s rows from `since` (`after` None), or those with an id above `after`, with the
    highest id of the table, in one statement: one snapshot (a row of `user` committed a moment
    later has a higher id than the one returned, and is read next time)."""
    if after is None:
        params: dict[str, object] = {"e_user": user, "e_since": since}
    else:
        params = {"e_user": user, "e_after": after}
    rows: list[Any] = sorted(
        conn.execute(_events_query(after is None), params).all(), key=lambda r: (r[0], r[1] or 0)
    )
    last = int(rows[0][1] or 0)
    return _Seen(since, last, tuple(_event(*r[2:]) for r in rows[1:]))


@functools.cache
def _events_query(from_time: bool) -> CompoundSelect[*tuple[Any, ...]]:
    """A user's rows (:e_user) from a time (:e_since) or above an id (:e_after), and a row
    (kind 0) with the table's highest id. Built once: every page runs one of the two."""
    mine = select(literal(1).label("kind"), ReviewAudit.id, *_COLUMNS).where(
        ReviewAudit.user_name == bindparam("e_user", type_=String())
    )
    if from_time:
        mine = mine.where(ReviewAudit.at >= bindparam("e_since", type_=DateTime(timezone=True)))
    else:
        mine = mine.where(ReviewAudit.id > bindparam("e_after", type_=BigInteger()))
    top = select(literal(0), func.max(ReviewAudit.id), null(), null(), null(), null())
    return union_all(mine, top)


def window(now: datetime, limits: Limits, session_start: datetime | None) -> datetime:
    """The earliest time whose events matter now: the day's or the session's start, whichever
    is earlier, less MAX_OPEN (a text opened just before still counts inside)."""
    day_start, _ = day_bounds(now, limits.zone)
    start = min(day_start, utc_naive(session_start)) if session_start else day_start
    return start - MAX_OPEN


def exposure(
    events: Sequence[Event], now: datetime, limits: Limits, session_start: datetime | None
) -> Exposure:
    """The exposure figures of one reviewer from their events (see `load_events`, `window`)."""
    now = utc_naive(now)
    events = [e for e in events if e.at <= now]  # (a row stamped by another clock)
    day_start, resets = day_bounds(now, limits.zone)
    spans = exposure_spans(events, now)
    began = stretch_start(events, spans, now, timedelta(minutes=limits.pause_minutes))
    return Exposure(
        today=overlap(spans, day_start, now),
        session=overlap(spans, utc_naive(session_start), now) if session_start else timedelta(),
        continuous=now - began if began is not None else timedelta(),
        limits=limits,
        resets_at=resets,
        now=now,
    )


def exposure_by_user(engine: Engine, now: datetime, limits: Limits) -> dict[str, Exposure]:
    """Every reviewer's exposure today (the lead page); session figures are left at zero."""
    now = utc_naive(now)
    since = window(now, limits, None)
    by_user: dict[str, list[Event]] = defaultdict(list)
    with engine.connect() as conn:
        for name, at, action, item_id, detail in conn.execute(
            select(
                ReviewAudit.user_name, ReviewAudit.at, ReviewAudit.action, ReviewAudit.item_id,
                ReviewAudit.detail,
            )
            .where(ReviewAudit.at >= since, ReviewAudit.user_name.is_not(None))
            .order_by(ReviewAudit.id)
        ):  # fmt: skip
            by_user[str(name)].append(_event(at, action, item_id, detail))
    return {name: exposure(events, now, limits, None) for name, events in sorted(by_user.items())}
