"""A crawled Telegram channel and an import of its export are one set of posts (crawler.post_keys)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spiders.fakes.telegram import FakeTelegram
from spiders.fakes.telegram_data import DAY, NOW, FakeChannel, FakeMessage, Scenario
from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

IDS = range(70, 81)  # message 77 is in both channels


def channel(name: str) -> FakeChannel:
    messages = [
        FakeMessage(i, NOW - 20 * DAY + i * 3600, text=f"Погода в {name}: завтра снег {i}")
        for i in IDS
    ]
    return FakeChannel(name, name.title(), messages)


@pytest.fixture
def fake_tg() -> Iterator[FakeTelegram]:
    server = FakeTelegram(Scenario([channel("alpha_news"), channel("beta_news")])).start()
    yield server
    server.stop()


def project(directory: Path, base_url: str | None) -> Project:
    lines = [
        "project: identity",
        "storage: {url: 'sqlite:///id.db'}",
        "import: {platform: telegram}",
    ]
    if base_url is not None:
        lines += [
            "sources:",
            "  - name: tg",
            "    platform: telegram",
            f"    base_url: {base_url}",
            "    requests_per_second: 0",
            "    targets: [alpha_news, beta_news]",
        ]
    path = directory / "p.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Project(directory, path)


def row(post_id: str, when: int, target: str | None = None, url: str | None = None) -> str:
    published = datetime.fromtimestamp(when, tz=UTC).isoformat()
    fields = {"id": post_id, "text": "Погода: завтра снег", "published_at": published}
    if target is not None:
        fields["target"] = target
    if url is not None:
        fields["url"] = url
    return json.dumps(fields, ensure_ascii=False)


def export(path: Path, ambiguous: bool = True) -> Path:
    """Both channels as other tools write them: bare numbers with a target, t.me links,
    channel/N in another casing, a url column; and one bare number with no channel."""
    lines = []
    for i in IDS:
        when = NOW - 20 * DAY + i * 3600
        lines.append(row(str(i), when, target="@Alpha_News"))
        if i % 3 == 0:
            lines.append(row(f"https://t.me/s/beta_news/{i}", when))
        elif i % 3 == 1:
            lines.append(row(f"Beta_News/{i}", when))
        else:
            lines.append(row(str(i), when, url=f"https://t.me/beta_news/{i}"))
    if ambiguous:
        lines.append(row("77", NOW - 20 * DAY))  # which channel's 77?
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def post_ids(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return sorted(r[0] for r in conn.execute("select post_id from posts"))


def truth() -> list[str]:
    return sorted(f"{c}/{i}" for c in ("alpha_news", "beta_news") for i in IDS)


def test_a_crawled_channel_imported_again_counts_each_post_once(
    tmp_path: Path, fake_tg: FakeTelegram
) -> None:
    p = project(tmp_path, fake_tg.base_url)
    crawled = p.crawl()
    assert crawled.returncode == 0, crawled.stderr
    assert post_ids(tmp_path / "id.db") == truth()

    file = export(tmp_path / "export.jsonl")
    done = p.run("import", str(file), "--config", str(p.config))
    assert done.returncode == 0, done.stderr
    assert "0 new posts, 22 already stored" in done.stderr
    assert f"{file}:23: id: message 77 has no channel" in done.stderr
    assert "import.fields.target" in done.stderr  # the fix is in the reason
    assert post_ids(tmp_path / "id.db") == truth()  # posts = truth: nothing doubled
    assert {r["target"]: r["posts"] for r in p.stats("target")} == {
        "alpha_news": len(IDS),
        "beta_news": len(IDS),
    }
    with closing(sqlite3.connect(tmp_path / "id.db")) as conn:
        quarantined = conn.execute("select line, post_id, field from quarantine").fetchall()
    assert quarantined == [(23, "77", "id")]


def test_message_77_of_two_channels_is_two_posts(tmp_path: Path) -> None:
    p = project(tmp_path, None)
    file = export(tmp_path / "export.jsonl", ambiguous=False)
    done = p.run("import", str(file), "--config", str(p.config))
    assert done.returncode == 0, done.stderr
    assert "22 new posts" in done.stderr
    ids = post_ids(tmp_path / "id.db")
    assert ids == truth()
    assert {"alpha_news/77", "beta_news/77"} <= set(ids)
