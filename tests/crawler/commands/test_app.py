"""The CLI's output formats and checks, on a small stored project."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.commands.app import app
from storage.engine import open_database
from storage.records import PostRecord, TagRecord
from storage.runs import start_run
from storage.writer import PostWriter
from tests.cli import unset, vemeter

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\n"
        "sources: [{name: vk-a, platform: vk, targets: [club1, club2]}]\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    writer = PostWriter(
        engine, start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    )
    topic = [TagRecord("topic", "designated_org", 1.0, "lexicon", "1.x")]
    writer.write([
        PostRecord("vk", "vk-a", "club1", "-1_1", datetime(2025, 1, 1, tzinfo=UTC), "ru", "Cyrl", 0.9, True, True, tags=topic),
        PostRecord("vk", "vk-a", "club1", "-1_2", datetime(2025, 1, 2, tzinfo=UTC), "kk", "Cyrl", 0.9, False, True),
        PostRecord("vk", "vk-a", "club2", "-2_1", datetime(2025, 1, 2, tzinfo=UTC), "ru", "Cyrl", 0.9, False, False),
    ])  # fmt: skip
    engine.dispose()
    return config


def test_stats_json_csv_and_table(project: Path) -> None:
    done = runner.invoke(
        app, ["stats", str(project), "--by", "target,language", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rows"] == [
        {"target": "club1", "language": "kk", "posts": 1, "flagged": 0},
        {"target": "club1", "language": "ru", "posts": 1, "flagged": 1},
        {"target": "club2", "language": "ru", "posts": 1, "flagged": 0},
    ]
    as_csv = runner.invoke(app, ["stats", str(project), "--by", "day", "--format", "csv"])
    body = [line for line in as_csv.stdout.splitlines() if not line.startswith("# ")]
    assert list(csv.DictReader(body)) == [
        {"day": "2025-01-01", "posts": "1", "flagged": "1"},
        {"day": "2025-01-02", "posts": "2", "flagged": "0"},
    ]
    table = runner.invoke(app, ["stats", str(project), "--since", "2025-01-02"])
    assert "posts" in table.stdout and "│     2 │       0 │" in table.stdout


def test_stats_rejects_unknown_keys_and_dates(project: Path) -> None:
    bad = runner.invoke(app, ["stats", str(project), "--by", "author"])
    assert bad.exit_code == 2 and "cannot group by author" in bad.output
    when = runner.invoke(app, ["stats", str(project), "--since", "yesterday"])
    assert when.exit_code == 2 and "is not a date" in when.output


def test_config_check_lists_sources_and_warns_about_unset_secrets(project: Path) -> None:
    done = vemeter("config", "check", str(project), env=unset("VK_TOKEN", "VEMETER_PSEUDONYM_KEY"))
    assert done.returncode == 0, done.stderr
    assert "vk-a" in done.stdout
    assert (
        "VK_TOKEN is not set" in done.stderr and "VEMETER_PSEUDONYM_KEY is not set" in done.stderr
    )


def test_db_upgrade_and_platforms(tmp_path: Path) -> None:
    config = tmp_path / "q.yaml"
    config.write_text(
        "project: q\nsources: [{name: a, platform: vk, targets: [club1]}]\n", encoding="utf-8"
    )
    done = runner.invoke(app, ["db", "upgrade", str(config)])
    assert done.exit_code == 0 and (tmp_path / "vemeter.db").exists()
    listed = runner.invoke(app, ["platforms"])
    assert "vk" in listed.stdout and "service token" in listed.stdout
