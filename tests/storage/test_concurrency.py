"""Processes that start at once: creating and migrating one database never crashes one of them.

Workers (tests/storage/migrate_worker.py) import everything first, then are handed the same
request at the same moment, trial after trial. VEMETER_RACE_TRIALS sets the number of trials
(the issue's bar is 50; CI runs fewer). Without the migration lock, two processes on a new
SQLite file crash in nearly every trial ("table alembic_version already exists").
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.engine import current_revision, head_revision, make_engine
from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("VEMETER_RACE_TRIALS", "10"))
ANSWER_TIMEOUT = 120.0


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.migrate_worker"], cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1,
        )  # fmt: skip

    def send(self, request: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()

    def answer(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], ANSWER_TIMEOUT)
        assert ready, f"no answer within {ANSWER_TIMEOUT} s"
        return self.process.stdout.readline().strip()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def workers(n: int) -> Iterator[list[Worker]]:
    started = [Worker() for _ in range(n)]
    try:
        yield started
    finally:
        for w in started:
            w.close()


def race(pool: list[Worker], request: str) -> list[str]:
    """Hand every worker the request at once; their answers."""
    for w in pool:
        w.send(request)
    return [w.answer() for w in pool]


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_creating_one_new_sqlite_file_at_once_never_crash(
    tmp_path: Path, processes: int
) -> None:
    trials = TRIALS if processes == 2 else max(1, TRIALS // 2)
    crashes = []
    with workers(processes) as pool:
        for trial in range(trials):
            url = f"sqlite:///{tmp_path / f'trial{trial}' / 'new.db'}"
            answers = race(pool, f"open {url}")
            crashes += [a for a in answers if a != "ok"]
            engine = make_engine(url)
            assert current_revision(engine) == head_revision()
            engine.dispose()
    assert crashes == [], f"{len(crashes)} crashes in {trials} trials: {crashes[:3]}"


def test_an_empty_sqlite_file_is_migrated_by_one_of_several_processes(tmp_path: Path) -> None:
    """An empty file (a crashed first start, or `touch`) counts as new, and a race on it too."""
    with workers(2) as pool:
        for trial in range(max(1, TRIALS // 2)):
            path = tmp_path / f"empty{trial}.db"
            path.touch()
            assert race(pool, f"open sqlite:///{path}") == ["ok", "ok"]


def test_processes_upgrading_one_postgres_schema_at_once_take_turns() -> None:
    if not POSTGRES_URL:
        pytest.skip("set VEMETER_TEST_POSTGRES_URL to run PostgreSQL tests")
    admin = create_engine(POSTGRES_URL)
    crashes = []
    try:
        with workers(2) as pool:
            for _ in range(max(1, TRIALS // 2)):
                schema = f"t_{uuid.uuid4().hex[:10]}"
                with admin.begin() as conn:
                    conn.execute(text(f"CREATE SCHEMA {schema}"))
                try:
                    crashes += [
                        a for a in race(pool, f"upgrade {POSTGRES_URL} {schema}") if a != "ok"
                    ]
                    engine = create_engine(
                        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}
                    )
                    assert current_revision(engine) == head_revision()
                    engine.dispose()
                finally:
                    with admin.begin() as conn:
                        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()
    assert crashes == []
