"""End-to-end helpers: a fake VK API on 127.0.0.1 and `vemeter` run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spiders.fakes.vk import FakeVK
from spiders.fakes.vk_data import Scenario

TOKEN = "test-token-1234567890"
KEY = "test-pseudonym-key-0123456789abcdef"


@dataclass
class Project:
    dir: Path
    config: Path

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "VK_TOKEN": TOKEN, "VEMETER_PSEUDONYM_KEY": KEY, **(env or {})}
        return subprocess.run(
            [sys.executable, "-m", "crawler.commands", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=self.dir,
            check=False,
        )

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
