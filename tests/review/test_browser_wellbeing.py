"""Wellbeing in a real browser (Debian's chromium via Playwright): the break reminder on an item
page, going back with B to change a label, and the calm page at the daily cap. The app's clock is
moved by the test, so minutes pass without waiting. Screenshots (reminder, cap page, the lead's
exposure table) go to test-output/review/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from review.app import AppSettings
from review.auth import Role, add_user
from review.wellbeing import Limits
from storage import audit
from storage.engine import open_database
from storage.models import ReviewLabel, ReviewLease
from tests.review.conftest import PASSWORD, Clock, make_sample
from tests.review.test_browser import CHROMIUM, OUTPUT, serving

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Engine, list[int], Clock]]:
    engine = open_database(f"sqlite:///{tmp_path / 'wellbeing.db'}")
    add_user(engine, "ann", Role.reviewer, PASSWORD)
    add_user(engine, "lea", Role.lead, PASSWORD)
    texts = [
        f"Synthetic post {i} for the review app. It quotes a recruitment call so that the "
        "lexicon match shows; nothing here is real content."
        for i in range(14)
    ]
    sample = make_sample(engine, texts, source="synthetic-channel")
    clock = Clock()
    settings = AppSettings(
        engine=engine, clock=clock, limits=Limits(break_minutes=25, daily_cap_minutes=60)
    )
    try:
        with serving(engine, settings) as base:
            yield base, engine, sample.items, clock
    finally:
        engine.dispose()


def test_reminder_back_key_and_daily_cap(
    served: tuple[str, Engine, list[int], Clock],
) -> None:
    base, engine, items, clock = served
    OUTPUT.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))

        page.goto(f"{base}/login")
        page.fill("#name", "ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        assert page.locator("#exposure").inner_text() == "Today: 0 min of 60 · this session 0 min"

        def label_current(key: str, minutes: float) -> None:
            """Reveal, read for `minutes` (the app's clock), label with `key`, save and next."""
            with page.expect_response(lambda r: r.url.endswith("/reveal")):
                page.keyboard.press("r")
            clock.advance(minutes=minutes)
            page.keyboard.press(key)
            with page.expect_navigation():
                page.keyboard.press("n")

        page.keyboard.press("n")
        page.wait_for_url(f"{base}/item/{items[0]}")
        for _ in range(7):  # 4 minutes an item: 28 minutes without a pause
            assert page.locator("#break-reminder").count() == 0
            label_current("2", 4)
        assert page.url == f"{base}/item/{items[7]}"
        banner = page.locator("#break-reminder")
        assert banner.is_visible() and "28 minutes" in banner.inner_text()
        assert page.locator("#exposure").inner_text() == "Today: 28 min of 60 · this session 28 min"
        page.screenshot(path=str(OUTPUT / "item-break-reminder.png"), full_page=True)

        # B: back to the item labelled before; change "no" to "yes"; back to the held item.
        page.keyboard.press("b")
        page.wait_for_url(f"{base}/item/{items[6]}/change")
        assert page.locator('input[name="label"][value="no"]').is_checked()
        page.keyboard.press("1")
        with page.expect_navigation():
            page.keyboard.press("n")
        assert page.url == f"{base}/item/{items[7]}"

        page.click("#take-break")
        page.wait_for_url(f"{base}/break")
        clock.advance(minutes=6)
        page.goto(f"{base}/item/{items[7]}")
        assert page.locator("#break-reminder").count() == 0

        for _ in range(4):  # 9 minutes an item (with pauses): past 60 minutes today
            label_current("2", 9)
            clock.advance(minutes=6)
        assert page.locator("#cap-page").is_visible()
        assert "00:00 UTC" in page.locator("#cap-page").inner_text()
        page.screenshot(path=str(OUTPUT / "cap.png"), full_page=True)

        # The lead sees each reviewer's minutes today.
        page.click("text=Sign out")
        page.wait_for_url(f"{base}/login")
        page.fill("#name", "lea")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/lead")
        row = page.locator("#exposure-by-reviewer tbody tr", has_text="ann")
        assert "64" in row.inner_text() and "reached" in row.inner_text()
        page.screenshot(path=str(OUTPUT / "lead-exposure.png"), full_page=True)
        browser.close()

    assert errors == [], f"console errors or dialogs: {errors}"
    with engine.connect() as conn:
        changed = conn.execute(
            select(ReviewLabel.label).where(
                ReviewLabel.item_id == items[6], ReviewLabel.topic == "*"
            )
        ).scalar_one()
        leased = conn.execute(select(ReviewLease.item_id).where(ReviewLease.done_at.is_(None)))
        held: list[Any] = list(leased)
    assert changed == "yes"
    assert held == []  # the cap page took no lease
    details = [json.loads(r.detail) for r in audit.read(engine) if r.item_id == items[6]]
    assert {"old": {"*": "no"}, "new": {"*": "yes"}, "note": False, "changed": True} in details
    assert audit.verify(engine).ok
