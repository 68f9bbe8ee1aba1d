"""An import's writers after the first are forked from it once its classifier is built
(crawler.storing.fork_writers): they store their batches, and end with the pool, aborted or
killed alike."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.items import PostItem
from crawler.storing import PENDING_RUN, ForkedWriter, StorePool, StoreSpec
from storage.engine import open_database
from storage.models import Post
from storage.runs import start_run

pytestmark = pytest.mark.e2e
LANGS = ("ru", "kk", "ky", "uz", "tg", "en")


def items(first: int, n: int) -> list[PostItem]:
    return [
        PostItem("vk", "s", "club1", f"-1_{i}", datetime(2025, 3, 1, tzinfo=UTC),
                 "Суд рассмотрел дело о членстве в ИГИЛ")
        for i in range(first, first + n)
    ]  # fmt: skip


def pool_for(tmp_path: Path, run_id: int | None = None) -> tuple[StorePool, str]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = open_database(url)
    if run_id is None:
        run_id = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    engine.dispose()
    spec = StoreSpec(url, run_id, (), LANGS, "py3langid", "flagged", tmp_path / "unsaved.jsonl")
    return StorePool(spec, batch_size=5, workers=2), url


def forked_pid(pool: StorePool) -> int:
    """The second writer's pid, once it has sent it (bounded: its classifier takes seconds)."""
    process = pool._stores[1]._process
    assert isinstance(process, ForkedWriter)
    deadline = time.monotonic() + 120
    while process.pid is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.pid is not None
    return process.pid


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def gone(pid: int, wait: float = 30.0) -> bool:
    """Whether `pid` has ended (a zombie has) within `wait` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_the_second_writer_is_forked_from_the_first_and_stores_its_batches(
    tmp_path: Path,
) -> None:
    pool, url = pool_for(tmp_path)
    pid = forked_pid(pool)
    leader = pool._stores[0]._process.pid
    assert pid != leader and parent_of(pid) == leader  # not a second `python -m` of ours
    for item in items(0, 20):
        pool.submit(item)
    totals = pool.close()
    assert (totals.new, totals.error, pool.error) == (20, None, None)
    # Each batch to the writer holding the fewest: both store some.
    assert sum(store.totals.new for store in pool._stores) == 20
    assert all(store.totals.new >= 5 for store in pool._stores)
    assert pool._stores[1].versions == pool._stores[0].versions != {}
    engine = open_database(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar_one() == 20
    engine.dispose()
    assert gone(pid)


def test_an_aborted_pool_ends_the_forked_writer_too(tmp_path: Path) -> None:
    pool, _ = pool_for(tmp_path, run_id=PENDING_RUN)
    pid = forked_pid(pool)
    pool.abort()
    assert gone(pid)
    assert pool._stores[0]._process.poll() is not None  # type: ignore[union-attr]


def test_a_killed_forked_writer_is_reported_and_the_other_stores_on(tmp_path: Path) -> None:
    pool, url = pool_for(tmp_path)
    pid = forked_pid(pool)
    os.kill(pid, signal.SIGKILL)
    assert gone(pid)
    deadline = time.monotonic() + 30
    while not pool._stores[1].ended and time.monotonic() < deadline:
        time.sleep(0.01)  # its pipe's end reaches the pool's reader thread
    for item in items(0, 20):
        pool.submit(item)
    totals = pool.close()  # returns: nothing waits on the dead writer
    assert pool.error == "the writer process died"
    assert totals.new == 20  # every batch went to the writer still alive
    engine = open_database(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Post)).scalar_one() == 20
    engine.dispose()
