"""A PostgreSQL worker pool on one machine, for the pool's fault test and its benchmark.

A throwaway schema of the test database (VEMETER_TEST_POSTGRES_URL, which .ci/run sets),
a project config whose storage URL selects that schema, and `vemeter run` worker processes
(`python -m crawler.commands run`), each with its output in a log file. Nothing here talks to
anything but 127.0.0.1 (the fake APIs and PostgreSQL).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "pool-token-1234567890"
KEY = "pool-pseudonym-key-0123456789abcdef"


def with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@contextmanager
def pg_schema(base_url: str, prefix: str = "pool") -> Iterator[str]:
    """A fresh schema, migrated to vemeter's head; yields the URL that selects it."""
    from storage.engine import make_engine, upgrade

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = with_search_path(base_url, schema)
    engine = make_engine(url)
    try:
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def write_project(
    folder: Path,
    url: str,
    api_base: str,
    targets: list[str],
    *,
    rps: float,
    schedule: str = "* * * * *",
    name: str = "vk-pool",
) -> Path:
    config = folder / "pool.yaml"
    config.write_text(
        "\n".join(
            [
                "project: pool",
                f"storage: {{url: {json.dumps(url)}}}",
                "privacy: {keep_text: flagged}",
                "sources:",
                f"  - name: {name}",
                "    platform: vk",
                f"    api_base: {api_base}",
                f"    requests_per_second: {rps}",
                "    targets: [" + ", ".join(json.dumps(t) for t in targets) + "]",
                f"    schedule: {json.dumps(schedule)}",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return config


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class PoolRunner:
    """Start, kill and stop `vemeter run` workers of one project."""

    def __init__(self, config: Path, folder: Path, env: dict[str, str], args: list[str]) -> None:
        self.config = config
        self.folder = folder
        self.env = {**os.environ, "VK_TOKEN": TOKEN, "VEMETER_PSEUDONYM_KEY": KEY, **env}
        self.args = args
        self.workers: list[Worker] = []

    def start(self) -> Worker:
        n = len(self.workers)
        path = self.folder / f"worker-{n}.log"
        log = path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.commands", "run", str(self.config), *self.args],
            cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        worker = Worker(process, path, log)
        self.workers.append(worker)
        return worker

    def live(self) -> list[Worker]:
        return [w for w in self.workers if w.alive()]

    def kill(self, worker: Worker) -> None:
        """kill -9 of the worker process alone (its crawl dies with it by itself)."""
        os.kill(worker.pid, signal.SIGKILL)
        worker.process.wait(timeout=30)

    def wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for w in self.workers:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                w.process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                return False
        return True

    def stop_all(self, timeout: float = 60) -> None:
        for w in self.live():
            os.kill(w.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for w in self.workers:
            try:
                w.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
                w.process.wait()
        for w in self.workers:
            w.log.close()


def engine_for(url: str) -> Engine:
    from storage.engine import make_engine

    return make_engine(url)


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]
