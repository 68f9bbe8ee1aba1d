"""The pseudonym key's fingerprint, kept with the data, and the key periods it divides runs into.

Authors are stored as HMAC pseudonyms keyed by a secret that never reaches the database. What
the database keeps is the key's fingerprint (an HMAC of a fixed string with the key, computed
by `crawler.pseudonym.Pseudonymiser.fingerprint`): a crawl or import with another key would
give the same authors second pseudonyms, so it is refused before anything is stored. Starting
over with a new key (the old one lost or retired) is a deliberate step, `vemeter db rekey`,
which opens a new key period: the runs after it pseudonymise with the new key, and authors do
not link across periods.

Settings rows (table `settings`):

- `pseudonym_key.fingerprint`: the current key's fingerprint (64 hex digits);
- `pseudonym_key.periods`: JSON list of every period, oldest first:
  `{"period": 1, "fingerprint": "…", "started_at": "2026-12-05T10:00:00", "after_run": 0}`,
  where runs with an id above `after_run` (and up to the next period's) used that key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select, update

from crawler.errors import InputError, StorageError
from storage.engine import insert_for, utc_now
from storage.models import CrawlRun, Setting

FINGERPRINT = "pseudonym_key.fingerprint"
PERIODS = "pseudonym_key.periods"


class KeyMismatch(StorageError):
    """The pseudonym key is not the key this database's authors were pseudonymised with."""


@dataclass(frozen=True)
class KeyPeriod:
    """A stretch of runs whose authors were pseudonymised with one key."""

    period: int
    fingerprint: str
    started_at: datetime
    after_run: int  # runs with a larger id (up to the next period's after_run) used this key

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "started_at": self.started_at.isoformat(timespec="seconds")}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> KeyPeriod:
        return cls(
            period=int(str(raw["period"])),
            fingerprint=str(raw["fingerprint"]),
            started_at=datetime.fromisoformat(str(raw["started_at"])),
            after_run=int(str(raw["after_run"])),
        )


def _get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()


def _periods(conn: Connection) -> list[KeyPeriod]:
    raw = _get(conn, PERIODS)
    return [KeyPeriod.from_json(p) for p in json.loads(raw)] if raw else []


def key_periods(engine: Engine) -> list[KeyPeriod]:
    """Every key period of the database, oldest first (empty before the first crawl or import)."""
    with engine.connect() as conn:
        return _periods(conn)


def _last_run(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(CrawlRun.id), 0))).scalar_one())


def _now() -> datetime:
    return utc_now().replace(microsecond=0)  # as the periods' JSON keeps it


def _short(fingerprint: str) -> str:
    return fingerprint[:8] + "…"


def check_key(engine: Engine, fingerprint: str, *, env_name: str) -> KeyPeriod:
    """The current key period when `fingerprint` is its key's; KeyMismatch when it is not.

    The first check of a database records the key as period 1 (a database from before
    fingerprints were kept adopts the key it is first used with).
    """
    with engine.begin() as conn:
        stored = _get(conn, FINGERPRINT)
        if stored is None:
            now = _now()
            first = KeyPeriod(1, fingerprint, now, _last_run(conn))
            inserted = conn.execute(
                insert_for(engine)(Setting)
                .values(key=FINGERPRINT, value=fingerprint, updated_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
            ).rowcount
            if inserted == 1:
                conn.execute(
                    insert_for(engine)(Setting)
                    .values(key=PERIODS, value=json.dumps([first.to_json()]), updated_at=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                return first
            stored = _get(conn, FINGERPRINT)  # another process recorded its key just now
        periods = _periods(conn)
    if stored == fingerprint and periods:
        return periods[-1]
    if stored == fingerprint:
        return KeyPeriod(1, fingerprint, _now(), 0)
    current = periods[-1] if periods else None
    since = f" since {current.started_at:%Y-%m-%d}" if current else ""
    earlier = next((p for p in periods[:-1] if p.fingerprint == fingerprint), None)
    which = (
        f"it is the key of the earlier key period {earlier.period}"
        if earlier is not None
        else f"its fingerprint is {_short(fingerprint)}"
    )
    raise KeyMismatch(
        f"the pseudonym key in {env_name} is not this database's key ({which}; the database's "
        f"key{f' of period {current.period}' if current else ''}{since} has fingerprint "
        f"{_short(str(stored))}), so the same authors would get new pseudonyms: set {env_name} "
        "to the project's key; only if that key is lost or retired, start a new key period "
        "with: vemeter db rekey CONFIG"
    )


def rekey(engine: Engine, fingerprint: str) -> tuple[KeyPeriod | None, KeyPeriod]:
    """Start a new key period with the key of `fingerprint`; returns (previous, new) period.

    The runs recorded so far (also one still running) keep the old key; every later run uses
    the new one. A database without a recorded key records it as period 1 (previous None).
    """
    with engine.begin() as conn:
        now = _now()
        stored = _get(conn, FINGERPRINT)
        periods = _periods(conn)
        if stored == fingerprint:
            period = periods[-1].period if periods else 1
            raise InputError(
                f"this key is already the database's pseudonym key (key period {period}): "
                "nothing to do (set the new key in the environment variable first)"
            )
        previous = periods[-1] if periods else None
        if stored is not None and previous is None:  # a fingerprint without its history
            previous = KeyPeriod(1, stored, now, 0)
            periods = [previous]
        new = KeyPeriod((previous.period + 1) if previous else 1, fingerprint, now, _last_run(conn))
        periods.append(new)
        values = {
            FINGERPRINT: fingerprint,
            PERIODS: json.dumps([p.to_json() for p in periods]),
        }
        for key, value in values.items():
            done = conn.execute(
                update(Setting).where(Setting.key == key).values(value=value, updated_at=now)
            ).rowcount
            if not done:
                conn.execute(
                    insert_for(engine)(Setting).values(key=key, value=value, updated_at=now)
                )
    return previous, new
