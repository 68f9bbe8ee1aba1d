"""The review app in a real browser: Debian's chromium driven by Playwright over loopback.

Signs in, reveals, labels with the keyboard only, skips, and checks that posts whose text,
source name and address are XSS payloads display as text and run nothing (no dialog, no console
error, no element the payload would have made). Screenshots of the queue, of an item blurred and
revealed, and of a payload item are saved to test-output/review/ (or $VEMETER_TEST_OUTPUT).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from review.app import AppSettings, create_app
from review.auth import Role, add_user
from storage.engine import open_database
from storage.models import ReviewLabel
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


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Engine, list[int]]]:
    """The app on 127.0.0.1 (a free port) over an SQLite file with a benign and four XSS posts."""
    engine = open_database(f"sqlite:///{tmp_path / 'review.db'}")
    add_user(engine, "ann", Role.reviewer, PASSWORD)
    texts = [FIRST_TEXT, *XSS_TEXTS]
    sample = make_sample(
        engine,
        texts,
        sources=["synthetic-channel", *[XSS_SOURCE] * len(XSS_TEXTS)],
        urls=["https://example.org/synthetic/1", *[XSS_URL] * len(XSS_TEXTS)],
    )
    import uvicorn

    app = create_app(AppSettings(engine=engine))
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
        yield f"http://127.0.0.1:{port}", engine, sample.items
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
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

        def on_dialog(dialog: sync_api.Dialog) -> None:
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
