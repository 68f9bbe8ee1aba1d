"""End-to-end helpers: a fake VK API on 127.0.0.1, crawls in processes of their own (a Scrapy
crawl runs one Twisted reactor per process), every other command in-process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.vk import FakeVK, RequestRecord
from spiders.fakes.vk_data import Scenario
from tests.cli import Outcome, vemeter
from tests.e2e.launcher import Launcher

TOKEN = "test-token-1234567890"
KEY = "test-pseudonym-key-0123456789abcdef"
LAUNCHER = Launcher()  # started on first use, by each xdist worker that runs a crawl


@pytest.fixture(scope="session", autouse=True)
def _stop_launcher() -> Iterator[None]:
    yield
    LAUNCHER.close()


@dataclass
class Project:
    dir: Path
    config: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"VK_TOKEN": TOKEN, "VEMETER_PSEUDONYM_KEY": KEY, **(extra or {})}

    def run(self, *args: str, env: dict[str, str] | None = None) -> Outcome:
        """`vemeter ARGS` in this process, from the project's folder, with the test secrets."""
        return vemeter(*args, env=self.env(env), cwd=self.dir)

    def process(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """`vemeter ARGS` in a process of its own, forked by the launcher (tests/e2e/launcher.py).

        Tests where the interpreter's own start is the point run `sys.executable` themselves;
        VEMETER_TEST_EXEC=1 makes every crawl a fresh `python -m crawler.commands` instead.
        """
        full_env = {**os.environ, **self.env(env)}
        if os.environ.get("VEMETER_TEST_EXEC"):  # a fresh interpreter each time, to compare
            return subprocess.run(
                [sys.executable, "-m", "crawler.commands", *args], capture_output=True,
                text=True, env=full_env, timeout=timeout, cwd=self.dir, check=False,
            )  # fmt: skip
        return LAUNCHER.run(list(args), full_env, self.dir, timeout)

    def crawl(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`vemeter crawl CONFIG ARGS` in a process of its own."""
        return self.process("crawl", str(self.config), *args, env=env)

    def stats(self, by: str = "") -> list[dict[str, Any]]:
        args = ["stats", str(self.config), "--format", "json"] + (["--by", by] if by else [])
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        rows: list[dict[str, Any]] = json.loads(done.stdout)["rows"]
        return rows


def write_config(
    directory: Path,
    api_base: str,
    targets: list[str],
    *,
    rps: float = 50,
    extra: str = "",
    since: str | None = None,
) -> Project:
    lines = [
        "project: e2e",
        "storage: {url: 'sqlite:///e2e.db'}",
        "privacy: {keep_text: flagged}",
        "sources:",
        "  - name: vk-test",
        "    platform: vk",
        f"    api_base: {api_base}",
        f"    requests_per_second: {rps}",
        "    targets: [" + ", ".join(json.dumps(t) for t in targets) + "]",
    ]
    if since:
        lines.append(f"    since: {since}")
    if extra:
        lines.extend("    " + line for line in extra.strip().splitlines())
    path = directory / "project.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Project(directory, path)


@pytest.fixture
def fake_vk() -> Iterator[Any]:
    servers: list[FakeVK] = []

    def start(scenario: Scenario, port: int = 0, **kwargs: Any) -> FakeVK:
        server = FakeVK(scenario, token=TOKEN, **kwargs).start(port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def copy_project(
    project: Project, directory: Path, replace: dict[str, str] | None = None
) -> Project:
    """A copy of a crawled project, config and SQLite files, for a test that changes it.

    `replace` rewrites the config, e.g. to point it at a server of the test's own.
    """
    for file in project.dir.glob("*.db*"):
        shutil.copy2(file, directory / file.name)
    text = project.config.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    config = directory / project.config.name
    config.write_text(text, encoding="utf-8")
    return Project(directory, config)


@dataclass
class Crawled:
    """One crawl of a fake VK, shared by the tests of a module that only read what it left."""

    project: Project
    scenario: Scenario
    server: FakeVK
    done: subprocess.CompletedProcess[str]
    requests: list[RequestRecord]  # what the server received during that crawl

    def calls(self, method: str) -> int:
        return sum(r.method == method for r in self.requests)


@contextmanager
def crawled_vk(
    directory: Path, scenario: Scenario, targets: list[str], **config: Any
) -> Iterator[Crawled]:
    """Serve `scenario`, crawl it once into a project in `directory`; the server stays up."""
    server = FakeVK(scenario, token=TOKEN).start()
    try:
        project = write_config(directory, server.api_base, targets, **config)
        done = project.crawl()
        yield Crawled(project, scenario, server, done, list(server.request_log))
    finally:
        server.stop()
