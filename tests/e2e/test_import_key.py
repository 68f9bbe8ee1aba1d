"""`vemeter import` with another pseudonym key than the database's is refused, nothing stored."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

CONFIG = "project: keys\nstorage: {url: 'sqlite:///keys.db'}\nimport: {platform: telegram}\n"


def test_import_with_a_changed_key_is_refused_until_a_rekey(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    project = Project(tmp_path, config)

    def rows(first: int) -> Path:
        file = tmp_path / f"dump{first}.jsonl"
        file.write_text(
            "".join(
                json.dumps(
                    {
                        "id": f"c/{i}",
                        "text": "Погода: завтра снег",
                        "author": "a1",
                        "published_at": "2025-03-01T10:00:00Z",
                    }
                )
                + "\n"
                for i in range(first, first + 5)
            ),
            encoding="utf-8",
        )
        return file

    def stored() -> tuple[int, int]:
        with closing(sqlite3.connect(tmp_path / "keys.db")) as conn:
            posts, runs = conn.execute(
                "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM crawl_runs)"
            ).fetchone()
        return int(posts), int(runs)

    assert project.run("import", str(rows(0)), "--config", str(config)).returncode == 0
    before = stored()
    key_b = {"VEMETER_PSEUDONYM_KEY": "another-key-" + "b" * 32}
    refused = project.run("import", str(rows(10)), "--config", str(config), env=key_b)
    assert refused.returncode == 1
    assert "Error: the pseudonym key in VEMETER_PSEUDONYM_KEY is not this database's key" in (
        refused.stderr
    )
    assert stored() == before
    assert project.run("db", "rekey", str(config), env=key_b).returncode == 0
    accepted = project.run("import", str(rows(10)), "--config", str(config), env=key_b)
    assert accepted.returncode == 0, accepted.stderr
    assert stored() == (before[0] + 5, before[1] + 1)
