"""The review app in a real browser: Debian's chromium driven by Playwright over loopback.

Signs in, reveals, labels with the keyboard only, skips, and checks that posts whose text,
source name and address are XSS payloads display as text and run nothing (no dialog, no console
error, no element the payload would have made). Screenshots of the queue, of an item blurred and
revealed, and of a payload item are saved to test-output/review/ (or $VEMETER_TEST_OUTPUT).
A lead then adjudicates a disputed item with the keys, opens the agreement page and downloads
the export (the sheet `vemeter review import --adjudicate` reads back); the disputes list, the
adjudication page and the agreement page are saved there too.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, select

from review.app import AppSettings, create_app
from review.auth import Role, add_user
from review.queue import claim_next, submit
from storage import audit
from storage.engine import open_database, utc_now
from storage.models import ReviewLabel
from storage.review_labels import read_labels
from tests.review.conftest import PASSWORD, XSS_SOURCE, XSS_TEXTS, XSS_URL, make_sample

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install -y chromium; .ci/run installs it)",
    ),
]
if TYPE_CHECKING:
    from playwright.sync_api import Dialog

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

OUTPUT = (
    Path(os.environ.get("VEMETER_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"))
    / "review"
)
FIRST_TEXT = (
    "Synthetic test post for the review app.\n"
    "It quotes a recruitment call so that the lexicon match shows highlighted; "
    "nothing here is real content."
)


@contextlib.contextmanager
def serving(engine: Engine, settings: AppSettings | None = None) -> Iterator[str]:
    """The app on 127.0.0.1 (a free port) over `engine` (or `settings`); yields its address."""
    import uvicorn

    app = create_app(settings or AppSettings(engine=engine))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", server_header=False)
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the review app did not start")
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Engine, list[int]]]:
    """The app over an SQLite file with a benign and four XSS posts."""
    engine = open_database(f"sqlite:///{tmp_path / 'review.db'}")
    add_user(engine, "ann", Role.reviewer, PASSWORD)
    texts = [FIRST_TEXT, *XSS_TEXTS]
    sample = make_sample(
        engine,
        texts,
        sources=["synthetic-channel", *[XSS_SOURCE] * len(XSS_TEXTS)],
        urls=["https://example.org/synthetic/1", *[XSS_URL] * len(XSS_TEXTS)],
    )
    try:
        with serving(engine) as base:
            yield base, engine, sample.items
    finally:
        engine.dispose()


def test_sign_in_reveal_label_with_keys_and_payloads_stay_inert(
    served: tuple[str, Engine, list[int]],
) -> None:
    base, engine, items = served
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"{base}/login")
        page.fill("#name", "ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.screenshot(path=str(OUTPUT / "queue.png"), full_page=True)

        # n: the next item; its text is blurred and greyscale behind the warning.
        page.keyboard.press("n")
        page.wait_for_url(f"{base}/item/{items[0]}")
        concealed = page.locator("#concealed")
        assert "concealed" in (concealed.get_attribute("class") or "")
        style = concealed.evaluate("e => getComputedStyle(e).filter")
        assert "blur" in style and "grayscale" in style
        assert "Recruitment" in page.locator("#warning").inner_text()
        page.screenshot(path=str(OUTPUT / "item-blurred.png"), full_page=True)
        page.keyboard.press("r")
        assert concealed.evaluate("e => getComputedStyle(e).filter") == "none"
        assert page.locator("mark.hit").first.inner_text() == "recruitment"
        page.screenshot(path=str(OUTPUT / "item-revealed.png"), full_page=True)
        page.keyboard.press("1")
        assert page.locator('input[name="label"][value="yes"]').is_checked()
        page.keyboard.press("n")
        page.wait_for_url(f"{base}/item/{items[1]}")

        # s: skip the first payload item; then every other one labelled "no" by keys.
        page.keyboard.press("s")
        page.wait_for_url(f"{base}/item/{items[2]}")
        for n, item in enumerate(items[2:]):
            assert page.url == f"{base}/item/{item}"
            page.keyboard.press("r")
            assert page.locator("#post-text").inner_text() == XSS_TEXTS[n + 1]
            assert page.locator("main img").count() == 0
            assert page.locator("a[href^='javascript']").count() == 0
            assert page.locator("script").count() == 1
            assert page.locator("main textarea").count() == 1
            assert XSS_SOURCE in page.locator("table.meta").inner_text()
            assert page.locator("#post-url").input_value() == XSS_URL
            if n == 0:
                page.screenshot(path=str(OUTPUT / "item-payload.png"), full_page=True)
            page.keyboard.press("2")
            with page.expect_navigation():
                page.keyboard.press("n")
        assert page.url == f"{base}/?m=empty"
        browser.close()

    assert dialogs == [], f"a payload opened a dialog: {dialogs}"
    assert errors == [], f"console errors: {errors}"
    with engine.connect() as conn:
        labels = conn.execute(
            select(ReviewLabel.item_id, ReviewLabel.label).where(ReviewLabel.topic == "*")
        ).all()
    assert sorted(tuple(r) for r in labels) == sorted(
        [(items[0], "yes")] + [(i, "no") for i in items[2:]]
    )


# (ann's overall label, bob's) per double-labelled item; three overall disputes, one on a topic.
LEAD_LABELS = [
    ("yes", "no"), ("no", "no"), ("yes", "yes"), ("no", "no"), ("no", "yes"), ("no", "no"),
    ("yes", "yes"), ("no", "no"), ("unsure", "no"), ("no", "no"), ("no", "no"), ("yes", "yes"),
]  # fmt: skip


@pytest.fixture
def served_disputes(tmp_path: Path) -> Iterator[tuple[str, Engine, list[int]]]:
    """The app over twelve double-labelled items that ann and bob have labelled."""
    engine = open_database(f"sqlite:///{tmp_path / 'lead.db'}")
    reviewers = [add_user(engine, name, Role.reviewer, PASSWORD) for name in ("ann", "bob")]
    add_user(engine, "lea", Role.lead, PASSWORD)
    texts = [
        f"Synthetic double-labelled post {i}: it quotes a recruitment call so the lexicon "
        "match shows; nothing here is real content."
        for i in range(len(LEAD_LABELS))
    ]
    sample = make_sample(engine, texts, double=frozenset(range(len(texts))),
                         source="synthetic-channel")  # fmt: skip
    for n, user in enumerate(reviewers):
        for i, item in enumerate(sample.items):
            assert claim_next(engine, user, sample.sample_id, utc_now()) == item
            labels = {"*": LEAD_LABELS[i][n]}
            if i == 10:
                labels["recruitment"] = ("yes", "no")[n]
            submit(engine, user, item, labels, None, utc_now())
    try:
        with serving(engine) as base:
            yield base, engine, sample.items
    finally:
        engine.dispose()


def test_lead_adjudicates_with_keys_and_reads_agreement(
    served_disputes: tuple[str, Engine, list[int]],
) -> None:
    base, engine, items = served_disputes
    OUTPUT.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        def on_dialog(dialog: Dialog) -> None:
            errors.append(f"dialog: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        page.goto(f"{base}/login")
        page.fill("#name", "lea")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.click("nav >> text=Disputes")
        page.wait_for_url(f"{base}/lead/disputes")
        rows = page.locator("#disputes tbody tr")
        assert rows.count() == 4  # items 0, 4 and 8 overall, item 10 on recruitment
        page.screenshot(path=str(OUTPUT / "lead-disputes.png"), full_page=True)

        page.click(f"a[href='/lead/adjudicate/{items[0]}']")
        page.wait_for_url(f"{base}/lead/adjudicate/{items[0]}")
        side = page.locator("#side-by-side").inner_text()
        assert "Reviewer A" in side and "Reviewer B" in side
        assert "ann" not in side and "bob" not in side
        concealed = page.locator("#concealed")
        assert "blur" in concealed.evaluate("e => getComputedStyle(e).filter")
        with page.expect_response(f"{base}/item/{items[0]}/reveal") as revealed:
            page.keyboard.press("r")
        assert revealed.value.status == 204
        assert concealed.evaluate("e => getComputedStyle(e).filter") == "none"
        page.keyboard.press("2")
        assert page.locator('input[name="decide.*"][value="no"]').is_checked()
        page.screenshot(path=str(OUTPUT / "lead-adjudicate.png"), full_page=True)
        page.keyboard.press("n")
        page.wait_for_url(f"{base}/lead/adjudicate/{items[4]}")

        page.click("nav >> text=Agreement")
        page.wait_for_url(f"{base}/lead/agreement")
        table = page.locator("#by-topic").inner_text()
        assert "Overall" in table and "Only 12 items" in table
        assert page.locator("#by-reviewer tbody tr").count() == 2
        page.screenshot(path=str(OUTPUT / "lead-agreement.png"), full_page=True)

        # The export: a download of the sheet `vemeter review import --adjudicate` reads.
        page.click("nav >> text=Disputes")
        page.wait_for_url(f"{base}/lead/disputes")
        with page.expect_download() as download:
            page.click("text=Download adjudications (CSV)")
        sheet = OUTPUT / "adjudications.csv"
        download.value.save_as(str(sheet))
        browser.close()

    assert errors == [], f"console errors or dialogs: {errors}"
    with engine.connect() as conn:
        decided = conn.execute(
            select(ReviewLabel.item_id, ReviewLabel.reviewer, ReviewLabel.label).where(
                ReviewLabel.adjudication.is_(True)
            )
        ).all()
    assert [tuple(r) for r in decided] == [(items[0], "lea", "no")]
    exported = read_labels(engine, sheet)
    assert exported.bad == []
    assert [(r.item_id, r.reviewer, r.topic, r.label) for r in exported.rows] == [
        (items[0], "lea", "*", "no")
    ]
    actions = [(r.user_name, r.action, r.item_id) for r in audit.read(engine)]
    assert ("lea", "reveal", items[0]) in actions
    assert ("lea", "adjudication", items[0]) in actions
    assert ("lea", "export", None) in actions
    assert audit.verify(engine).ok
