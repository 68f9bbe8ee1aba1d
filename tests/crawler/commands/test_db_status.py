"""`vemeter status` marks killed runs interrupted; `vemeter db rekey` opens a new key period."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.engine import open_database
from storage.models import CrawlRun
from storage.runs import start_run
from storage.writer import PostWriter
from tests.cli import unset, vemeter
from tests.storage.test_storage import record

KEY_A = "key-a-" + "a" * 32
KEY_B = "key-b-" + "b" * 32


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    return path


def test_status_marks_a_run_whose_process_is_gone_interrupted(config: Path) -> None:
    engine = open_database(f"sqlite:///{config.parent / 'p.db'}")
    live = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    run_id = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    PostWriter(engine, run_id).write([record(1, flagged=True), record(2)])
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with engine.begin() as conn:
        conn.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(pid=child.pid))
    engine.dispose()

    done = vemeter("status", str(config), "--format", "json", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    rows = {row["run"]: row for row in json.loads(done.stdout)["runs"]}
    assert (rows[run_id]["status"], rows[run_id]["new"], rows[run_id]["flagged"]) == (
        "interrupted", 2, 1,
    )  # fmt: skip
    assert rows[live]["status"] == "running" and rows[live]["process"].startswith(
        f"{os.getpid()} on "
    )
    assert f"Marked 1 run(s) interrupted (their process is gone): {run_id}" in done.stderr
    again = vemeter("status", str(config), cwd=config.parent)
    assert again.returncode == 0 and "Marked" not in again.stderr and "interrupted" in again.stdout


def test_rekey_records_refuses_the_same_key_and_opens_a_period(config: Path) -> None:
    def rekey(key: str | None) -> tuple[int, str]:
        env = {"VEMETER_PSEUDONYM_KEY": key} if key else unset("VEMETER_PSEUDONYM_KEY")
        done = vemeter("db", "rekey", str(config), env=env, cwd=config.parent)
        return done.returncode, done.stderr

    code, err = rekey(None)
    assert code == 1 and err.startswith("Error: ") and "VEMETER_PSEUDONYM_KEY" in err
    code, err = rekey(KEY_A)
    assert code == 0 and "as the database's pseudonym key (key period 1" in err
    code, err = rekey(KEY_A)
    assert code == 1 and "Error: this key is already the database's pseudonym key" in err
    code, err = rekey(KEY_B)
    assert code == 0 and "key period 2 starts now" in err and KEY_B not in err
    status = vemeter("status", str(config), cwd=config.parent)
    assert "Pseudonym key: period 2 since" in status.stderr
