"""Reviewer wellbeing and the item page's own keys: exposure minutes (from the audit trail, on a
movable clock), the break reminder, the daily cap, going back to change a label, the blur
preference; a lead refused on an item they labelled; imports and exports in the audit trail."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from crawler.config import load_config
from crawler.errors import ConfigError
from review import leads
from review.app import AppSettings
from review.auth import Role, User, add_user
from review.security import IMMUTABLE
from review.wellbeing import (
    MAX_OPEN,
    Event,
    EventCache,
    Limits,
    day_bounds,
    exposure,
    exposure_spans,
    load_events,
    stretch_start,
)
from storage import audit
from storage.engine import open_database
from storage.models import ReviewLabel, ReviewLease
from tests.cli import vemeter
from tests.review.conftest import PASSWORD, Clock, ReviewClient, make_sample

Client = Callable[[str | None], ReviewClient]
T = datetime(2026, 1, 5, 9, 0)  # the conftest clock's start (naive UTC)
EXPOSURE = re.compile(
    r'id="exposure"[^>]*>Today: (\d+) min(?: of (\d+))? · this session (\d+) min<'
)


def ev(minute: float, action: str, shows: bool | None = None) -> Event:
    shown = action == "reveal" if shows is None else shows
    return Event(T + timedelta(minutes=minute), action, 1, shown)


def at(minute: float) -> datetime:
    return T + timedelta(minutes=minute)


# --- the arithmetic, on events ---------------------------------------------------------------


def test_a_text_counts_from_its_reveal_to_the_next_action_and_at_most_max_open() -> None:
    events = [
        ev(0, "view"), ev(1, "reveal"), ev(4, "label"),  # 3 min
        ev(5, "view", shows=True), ev(35, "view"),  # shown at once, left open: MAX_OPEN
        ev(40, "view"), ev(41, "reveal"),  # still open at `now`
    ]  # fmt: skip
    spans = exposure_spans(events, at(43))
    assert spans == [(at(1), at(4)), (at(5), at(5) + MAX_OPEN), (at(41), at(43))]
    limits = Limits(daily_cap_minutes=60)
    figures = exposure(events, at(43), limits, session_start=at(30))
    assert figures.today == timedelta(minutes=3 + 10 + 2)
    assert figures.session == timedelta(minutes=2)  # only what lies after the sign-in
    assert figures.summary == "Today: 15 min of 60 · this session 2 min"
    assert not figures.capped


def test_continuous_work_restarts_after_a_pause_and_the_cap_counts_the_local_day() -> None:
    # An item every 4 minutes, each read for 3: never a gap of 5 minutes.
    busy = [ev(m + d, a) for m in range(0, 28, 4) for d, a in ((0, "reveal"), (3, "label"))]
    pause = timedelta(minutes=5)
    assert stretch_start(busy, exposure_spans(busy, at(28)), at(28), pause) == at(0)
    assert stretch_start(busy, exposure_spans(busy, at(31)), at(31), pause) == at(0)
    # Five quiet minutes after the last label (minute 27): the stretch is over.
    assert stretch_start(busy, exposure_spans(busy, at(32)), at(32), pause) is None
    remind = exposure(busy, at(28), Limits(break_minutes=25), None)
    assert remind.remind and remind.continuous == timedelta(minutes=28)
    assert not exposure(busy, at(28), Limits(break_minutes=30), None).remind
    assert not exposure(busy, at(28), Limits(break_minutes=0), None).remind  # 0: off

    # Asia/Almaty is UTC+5: its day began at 19:00 UTC the evening before.
    start, resets = day_bounds(T, ZoneInfo("Asia/Almaty"))
    assert start == datetime(2026, 1, 4, 19, 0)
    assert resets == datetime(2026, 1, 6, 0, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    late = [Event(datetime(2026, 1, 4, 18, 55), "reveal", 1, True),
            Event(datetime(2026, 1, 4, 19, 4), "label", 1, False)]  # fmt: skip
    almaty = exposure(late, T, Limits(timezone="Asia/Almaty", daily_cap_minutes=4), None)
    assert almaty.today == timedelta(minutes=4)  # the 5 minutes before midnight are yesterday's
    assert almaty.capped
    assert almaty.resets == "00:00 Asia/Almaty (in 10 h 0 min)"


def test_the_event_cache_reads_what_a_full_read_would(engine: Engine, clock: Clock) -> None:
    cache = EventCache()
    since = clock() - timedelta(hours=1)
    for round_ in range(4):
        for who in ("ann", "bob"):
            audit.record(engine, "view", user=who, item_id=round_, detail={"page": "item"},
                         at=clock())  # fmt: skip
            audit.record(engine, "reveal", user=who, item_id=round_, at=clock())
        clock.advance(minutes=20)
        assert cache.events(engine, "ann", since) == load_events(engine, "ann", since)
        assert len(cache.events(engine, "ann", since)) == 2 * (round_ + 1)
    # The window moves on: what fell out of it is forgotten, what is new is read.
    later = clock() - timedelta(minutes=30)
    audit.record(engine, "label", user="ann", item_id=3, at=clock())
    assert cache.events(engine, "ann", later) == load_events(engine, "ann", later)
    assert [e.action for e in cache.events(engine, "ann", later)] == ["view", "reveal", "label"]
    assert cache.events(engine, "cat", since) == []


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"daily_cap_minutes": -1}, "daily_cap_minutes: must be 0 (no cap) to 1440"),
        ({"break_minutes": 600}, "break_minutes: must be 0 (off) to 480"),
        ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not a time zone name"),
    ],
)
def test_limits_refuse_nonsense_in_one_line(limits: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Limits(**limits)  # type: ignore[arg-type]


def test_the_project_config_names_a_bad_setting_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nreview:\n  app:\n    daily_cap_minutes: 2000\n    timezone: Mars/Olympus\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    lines = str(raised.value).splitlines()
    assert any("review.app.daily_cap_minutes" in line and "1440" in line for line in lines)
    assert any("review.app.timezone" in line and "Asia/Almaty" in line for line in lines)
    config.write_text("project: p\n", encoding="utf-8")
    defaults = load_config(config).review.app
    assert (defaults.break_minutes, defaults.daily_cap_minutes, defaults.blur) == (25, 120, True)


# --- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def app_settings(engine: Engine, clock: Clock) -> AppSettings:
    return AppSettings(
        engine=engine, clock=clock, limits=Limits(break_minutes=25, daily_cap_minutes=30)
    )


def take(client: ReviewClient) -> int | None:
    response = client.post("/next", data={"csrf": client.csrf})
    if response.status_code == 200:
        return None  # the cap page
    location = response.headers["location"]
    return int(location.rsplit("/", 1)[1]) if location.startswith("/item/") else None


def work(client: ReviewClient, clock: Clock, minutes: float, value: str = "yes") -> int:
    """Take the next item, reveal it, read for `minutes`, label it; returns the item."""
    item = take(client)
    assert item is not None
    assert client.get(f"/item/{item}").status_code == 200
    assert client.post(f"/item/{item}/reveal", data={"csrf": client.csrf}).status_code == 204
    clock.advance(minutes=minutes)
    response = client.post(f"/item/{item}/label", data={"csrf": client.csrf, "label": value})
    assert response.status_code in (200, 303)
    return item


def shown(html: str) -> tuple[int, int | None, int]:
    found = EXPOSURE.search(html)
    assert found, "no exposure figure in the page's header"
    today, cap, session = found.groups()
    return int(today), int(cap) if cap else None, int(session)


def test_queue_and_item_pages_show_todays_and_this_sessions_minutes(
    engine: Engine, client_for: Client, clock: Clock
) -> None:
    make_sample(engine, [f"synthetic post {i}" for i in range(4)])
    ann = client_for("ann")
    assert shown(ann.get("/").text) == (0, 30, 0)
    work(ann, clock, 7)
    assert shown(ann.get("/").text) == (7, 30, 7)
    # Signed in again later the same day: today keeps counting, the session starts over.
    clock.advance(minutes=1)
    again = client_for("ann")
    item = take(again)
    page = again.get(f"/item/{item}").text
    assert shown(page) == (7, 30, 0)
    again.post(f"/item/{item}/reveal", data={"csrf": again.csrf})
    clock.advance(minutes=3)
    assert shown(again.get("/").text) == (10, 30, 3)


def test_the_break_reminder_shows_after_continuous_work_and_goes_after_a_pause(
    engine: Engine, client_for: Client, clock: Clock
) -> None:
    sample = make_sample(engine, [f"synthetic post {i}" for i in range(12)])
    ann = client_for("ann")
    work(ann, clock, 4)
    assert "break-reminder" not in ann.get(f"/item/{take(ann)}").text
    for _ in range(6):  # 4 minutes each, never a 5-minute gap
        work(ann, clock, 4)
    item = take(ann)
    page = ann.get(f"/item/{item}").text
    assert 'id="break-reminder"' in page and 'href="/break"' in page
    assert "working for 28 minutes" in page
    # The reminder does not block: the item can be labelled as ever.
    assert (
        ann.post(f"/item/{item}/label", data={"csrf": ann.csrf, "label": "no"}).status_code == 303
    )
    assert "Take a break" in ann.get("/break").text
    clock.advance(minutes=6)
    assert "break-reminder" not in ann.get(f"/item/{take(ann)}").text
    assert sample.items  # (the queue still has items: the reminder is not the cap)


def test_the_daily_cap_gives_no_item_until_the_day_ends(
    engine: Engine, client_for: Client, clock: Clock
) -> None:
    sample = make_sample(engine, [f"synthetic post {i}" for i in range(6)])
    ann = client_for("ann")
    for _ in range(3):
        work(ann, clock, 9)
    clock.advance(minutes=1)
    assert shown(ann.get("/").text)[0] == 27
    last = work(ann, clock, 4)  # 31 minutes: the label is stored, then the cap page
    with engine.connect() as conn:
        leases = conn.execute(select(func.count()).select_from(ReviewLease)).scalar_one()
    assert leases == 4  # the four items labelled; none was leased for the cap page
    response = ann.post("/next", data={"csrf": ann.csrf})
    assert response.status_code == 200
    assert 'id="cap-page"' in response.text
    assert "00:00 UTC (in 14 h" in response.text
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReviewLease)).scalar_one() == 4
        assert conn.execute(
            select(func.count()).where(ReviewLabel.item_id == last, ReviewLabel.topic == "*")
        ).scalar_one() == 1  # fmt: skip
    queue_page = ann.get("/").text
    assert 'id="cap-notice"' in queue_page and 'id="next-form"' not in queue_page
    # Another reviewer is not affected; and the next day ann gets items again.
    assert take(client_for("bob")) == sample.items[4]
    clock.advance(hours=15)  # (bob's lease has run out meanwhile: the item is free again)
    assert take(client_for("ann")) == sample.items[4]


def test_back_changes_a_label_of_this_session_with_old_and_new_value_audited(
    engine: Engine, client_for: Client, clock: Clock, users: dict[str, User]
) -> None:
    sample = make_sample(engine, [f"synthetic post {i}" for i in range(3)])
    ann = client_for("ann")
    first = work(ann, clock, 1, "yes")
    second = take(ann)
    page = ann.get(f"/item/{second}").text
    assert 'id="back-link" class="button secondary">' in page
    assert f'href="/item/{first}/change"' in page
    change = ann.get(f"/item/{first}/change").text
    assert 'value="yes" data-key="1" required checked' in change
    assert f'action="/item/{first}/change"' in change and "skip-form" not in change
    response = ann.post(
        f"/item/{first}/change",
        data={"csrf": ann.csrf, "label": "no", "topic.recruitment": "unsure", "note": "misread"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/item/{second}"  # back to the item held
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                select(ReviewLabel.topic, ReviewLabel.label).where(
                    ReviewLabel.item_id == first, ReviewLabel.reviewer == "ann"
                )
            ).all()
        )
    assert stored == {"*": "no", "recruitment": "unsure"}
    labels = [r for r in audit.read(engine) if r.action == "label" and r.item_id == first]
    assert [json.loads(r.detail) for r in labels] == [
        {"old": None, "new": {"*": "yes"}, "note": False},
        {"old": {"*": "yes"}, "new": {"*": "no", "recruitment": "unsure"}, "note": True,
         "changed": True},
    ]  # fmt: skip
    assert audit.verify(engine).ok
    # From the changed item, back goes further: nothing before the first.
    assert "back-link" not in ann.get(f"/item/{first}/change").text

    # Only items labelled in this session: bob's, or ann's after signing in again, are refused.
    bob = client_for("bob")
    assert bob.get(f"/item/{first}/change").status_code == 403
    clock.advance(minutes=1)
    again = client_for("ann")
    refused = again.post(f"/item/{first}/change", data={"csrf": again.csrf, "label": "yes"})
    assert refused.status_code == 403 and "since you signed in" in refused.text
    assert sample.items[0] == first


def test_a_label_a_lead_has_decided_no_longer_changes(
    engine: Engine, client_for: Client, clock: Clock, users: dict[str, User]
) -> None:
    make_sample(engine, ["synthetic post"], double=frozenset({0}))
    ann, bob = client_for("ann"), client_for("bob")
    item = work(ann, clock, 1, "yes")
    work(bob, clock, 1, "no")
    leads.adjudicate(engine, users["lea"], item, {"*": "yes"}, None, clock())
    refused = ann.post(f"/item/{item}/change", data={"csrf": ann.csrf, "label": "no"})
    assert refused.status_code == 409 and "decided" in refused.text


def test_a_lead_is_refused_on_an_item_they_labelled_unless_the_app_allows_it(
    engine: Engine, client_for: Client, clock: Clock, users: dict[str, User],
    app_settings: AppSettings,
) -> None:  # fmt: skip
    make_sample(engine, ["synthetic post"], double=frozenset({0}))
    lea, ann = client_for("lea"), client_for("ann")
    item = work(lea, clock, 1, "yes")  # a lead labels too, as one of the two reviewers
    work(ann, clock, 1, "no")
    disputes = lea.get("/lead/disputes").text
    assert "you labelled it: another lead decides" in disputes
    assert f'href="/lead/adjudicate/{item}"' not in disputes
    page = lea.get(f"/lead/adjudicate/{item}")
    assert page.status_code == 403 and "another lead adjudicates it" in page.text
    posted = lea.post(f"/lead/adjudicate/{item}", data={"csrf": lea.csrf, "decide.*": "yes"})
    assert posted.status_code == 403
    with pytest.raises(leads.OwnItem):
        leads.adjudicate(engine, users["lea"], item, {"*": "yes"}, None, clock())
    with engine.connect() as conn:
        assert not conn.execute(
            select(func.count()).where(ReviewLabel.adjudication.is_(True))
        ).scalar_one()
    # Another lead may; and a single-lead team turns the refusal off.
    add_user(engine, "leo", Role.lead, PASSWORD)
    leo = client_for("leo")
    assert leo.get(f"/lead/adjudicate/{item}").status_code == 200
    app_settings.adjudicate_own_items = True
    assert lea.get(f"/lead/adjudicate/{item}").status_code == 200
    done = lea.post(f"/lead/adjudicate/{item}", data={"csrf": lea.csrf, "decide.*": "yes"})
    assert done.status_code == 303


def test_leads_see_each_reviewers_exposure_and_reviewers_do_not(
    engine: Engine, client_for: Client, clock: Clock
) -> None:
    make_sample(engine, [f"synthetic post {i}" for i in range(3)])
    ann = client_for("ann")
    work(ann, clock, 6)
    work(client_for("bob"), clock, 2)
    page = client_for("lea").get("/lead").text
    table = page.split('id="exposure-by-reviewer"')[1].split("</table>")[0]
    rows = dict(re.findall(r"<tr><td>(\w+)</td><td class=\"num\">(\d+)</td>", table))
    assert rows == {"ann": "6", "bob": "2", "lea": "0"}  # lea only signed in
    assert ann.get("/lead").status_code == 403


def test_a_reviewer_may_see_texts_unblurred_and_the_change_is_audited(
    engine: Engine, client_for: Client, clock: Clock
) -> None:
    make_sample(engine, [f"synthetic post {i}" for i in range(2)])
    ann = client_for("ann")
    item = take(ann)
    assert 'class="concealed"' in ann.get(f"/item/{item}").text
    saved = ann.post("/settings", data={"csrf": ann.csrf, "blur": "off"})
    assert saved.status_code == 303
    assert "httponly" in saved.headers["set-cookie"].lower()
    page = ann.get(f"/item/{item}").text
    assert 'class="concealed"' not in page and 'data-concealed="false"' in page
    clock.advance(minutes=2)  # shown at once: the exposure counts from the view
    assert shown(ann.get("/").text)[0] == 2
    assert ann.post("/settings", data={"csrf": ann.csrf, "blur": "maybe"}).status_code == 400
    rows = [r for r in audit.read(engine) if r.action == "setting"]
    assert [json.loads(r.detail) for r in rows] == [{"blur": {"old": "on", "new": "off"}}]


def test_static_files_at_their_versioned_address_are_cached_for_good(
    engine: Engine, client_for: Client
) -> None:
    make_sample(engine, ["synthetic post"])
    ann = client_for("ann")
    address = re.search(r'src="(/static/review\.js\?v=[0-9a-f]+)"', ann.get("/").text)
    assert address
    assert ann.get(address.group(1)).headers["cache-control"] == IMMUTABLE
    assert "cache-control" not in ann.get("/static/review.js").headers  # revalidated as before


def test_review_export_and_import_from_the_command_line_are_audited(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    sample = make_sample(engine, ["synthetic post 0", "synthetic post 1"])
    engine.dispose()
    sheet = tmp_path / "sheet.csv"
    exported = vemeter("review", "export", str(config), "-o", str(sheet), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    with sheet.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.update(reviewer="ann", label="no")
    with sheet.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    imported = vemeter("review", "import", str(config), str(sheet), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    trail = audit.read(engine)
    assert [r.action for r in trail] == ["export", "import"]
    assert all(r.user_name is None for r in trail)
    export_detail, import_detail = (json.loads(r.detail) for r in trail)
    assert export_detail["via"] == "command line" and export_detail["rows"] == 2
    assert export_detail["sample"] == sample.sample_id and export_detail["with_text"] == 2
    assert import_detail["stored"] == 2 and import_detail["reviewers"] == ["ann"]
    assert import_detail["file"] == "sheet.csv" and len(import_detail["sha256"]) == 64
    assert audit.verify(engine).ok
    engine.dispose()
