"""Schedules: a cron expression per source, and what is due when the service looks.

Pure logic (no database, no processes): `Cron` reads an expression with croniter; `plan`
decides, from the latest period already accounted for and the time now, whether a run is due,
and which missed periods go to the gap ledger and why. Times are naive UTC, as stored.

The rules:

- A period is on time while the service looks at most `tolerance` seconds after it began
  (default: half the period, at most 10 minutes).
- However many periods are due, ONE run starts: the newest period's. Every due period before
  it, and the newest too when it is late, is a gap: `downtime` when it began before the service
  started (no service was running), `late` otherwise (the previous run was still going, or the
  service was held up). The run that starts then is a catch-up run and covers them: crawls are
  incremental, so it fetches everything since the last complete one.
- A paused source runs nothing: its due periods are gaps with reason `disabled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_TOLERANCE = 600.0
# Counting missed periods stops here (a one-minute schedule down for ~70 days).
MAX_COUNTED = 100_000


def check_cron(expression: str) -> str:
    """`expression` if it is a standard five-field cron expression; else a clear ValueError."""
    from croniter import croniter

    text = " ".join(str(expression).split())
    fields = text.split(" ")
    if len(fields) != 5 or not croniter.is_valid(text):
        raise ValueError(
            f"{expression!r} is not a cron expression: write five fields, minute hour "
            'day-of-month month day-of-week, e.g. "0 */6 * * *" (every 6 hours) or '
            '"*/30 * * * *" (every 30 minutes); times are UTC'
        )
    return text


def _naive(value: datetime) -> datetime:
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Cron:
    """A checked cron expression; every time here is naive UTC."""

    expression: str

    def _iter(self, start: datetime) -> Any:
        from croniter import croniter

        return croniter(self.expression, _naive(start))

    def next_after(self, moment: datetime) -> datetime:
        """The first period that begins strictly after `moment`."""
        result: datetime = self._iter(moment).get_next(datetime)
        return result

    def latest_at(self, moment: datetime) -> datetime:
        """The newest period that began at or before `moment`."""
        nxt = self.next_after(moment - timedelta(microseconds=1))
        if nxt == _naive(moment):
            return nxt
        result: datetime = self._iter(moment).get_prev(datetime)
        return result

    def next_runs(self, after: datetime, count: int) -> list[datetime]:
        it = self._iter(after)
        return [it.get_next(datetime) for _ in range(count)]

    def period(self, around: datetime) -> float:
        """Seconds between the two periods after `around` (cron periods may vary)."""
        first, second = self.next_runs(around, 2)
        return (second - first).total_seconds()

    def tolerance(self, around: datetime) -> float:
        return min(self.period(around) / 2, MAX_TOLERANCE)


@dataclass(frozen=True)
class GapPlan:
    first_slot: datetime
    last_slot: datetime
    periods: int
    reason: str
    detail: str
    after: datetime  # the period before first_slot (for merging with an open gap)


@dataclass(frozen=True)
class Plan:
    """What to do for a source now: the gaps to write, the period to run (if any), and the
    period accounted for afterwards."""

    accounted_until: datetime
    run_slot: datetime | None = None
    gaps: list[GapPlan] = field(default_factory=list)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def plan(
    cron: Cron,
    accounted_until: datetime,
    now: datetime,
    *,
    tolerance: float,
    up_since: datetime,
    disabled: str | None = None,
) -> Plan | None:
    """What is due for a source whose periods up to `accounted_until` are accounted for.

    None when no period began in (accounted_until, now]. `up_since` is when the service that
    asks started: periods before it were missed for downtime.
    """
    accounted_until, now, up_since = _naive(accounted_until), _naive(now), _naive(up_since)
    it = cron._iter(accounted_until)
    due: list[datetime] = []  # first and last of each class are enough; count them
    down: list[datetime] = []
    n_down = n_late = 0
    late: list[datetime] = []
    last: datetime | None = None
    counted = 0
    while counted < MAX_COUNTED:
        slot: datetime = it.get_next(datetime)
        if slot > now:
            break
        counted += 1
        if last is not None:  # the previous one is missed, whatever happens to this one
            if last < up_since:
                n_down += 1
                down = [down[0] if down else last, last]
            else:
                n_late += 1
                late = [late[0] if late else last, last]
        last = slot
    else:  # more than MAX_COUNTED: jump to the newest period and count the rest as downtime
        newest = cron.latest_at(now)
        if last is not None and newest > last:
            n_down += 1
            down = [down[0] if down else last, last]
            last = newest
    if last is None:
        return None
    due = [last]
    on_time = (now - last).total_seconds() <= tolerance
    if not on_time or disabled is not None:
        if disabled is None and last < up_since:
            n_down += 1
            down = [down[0] if down else last, last]
        elif disabled is None:
            n_late += 1
            late = [late[0] if late else last, last]
    gaps: list[GapPlan] = []
    if disabled is not None:
        first = min([*down[:1], *late[:1], last])
        periods = n_down + n_late + 1
        gaps.append(
            GapPlan(first, last, periods, "disabled", f"paused: {disabled}", accounted_until)
        )
        return Plan(accounted_until=last, gaps=gaps)
    if n_down:
        gaps.append(
            GapPlan(
                down[0], down[1], n_down, "downtime",
                f"no `vemeter run` was running: {n_down} period(s) from {_when(down[0])} to "
                f"{_when(down[1])} UTC did not run (the service started at {_when(up_since)})",
                accounted_until,
            )
        )  # fmt: skip
    if n_late:
        gaps.append(
            GapPlan(
                late[0], late[1], n_late, "late",
                f"{n_late} period(s) from {_when(late[0])} to {_when(late[1])} UTC could not "
                f"start within {tolerance:.0f} s (the previous run of the source was still "
                "going, or the service was held up)",
                down[1] if n_down else accounted_until,
            )
        )  # fmt: skip
    return Plan(accounted_until=due[-1], run_slot=due[-1], gaps=gaps)
