"""An import starts its writer processes before it opens the database (their classifiers load
meanwhile) and gives them the run once it has one; an import that stops before that ends them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.config import load_config
from crawler.errors import ConfigError
from crawler.importer import import_file
from storage.engine import open_database
from storage.models import CrawlRun, Post


def writers_alive() -> list[int]:
    """Writer processes (`python -m crawler.storing`) that are children of this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if ppid == os.getpid() and state != "Z" and b"crawler.storing" in cmdline:
            found.append(int(entry.name))
    return found


def rows_file(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = {"id": f"c/{i}", "text": "Погода в Бишкеке", "published_at": 1735700000 + i,
                   "platform": "telegram", "target": "c"}  # fmt: skip
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEMETER_PSEUDONYM_KEY", "test-key-0123456789abcdef")


@pytest.mark.e2e
def test_early_writers_store_the_import_under_its_run(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\nimport: {batch_size: 7}\n")
    result = import_file(load_config(config), rows_file(tmp_path / "rows.jsonl", 30))
    assert (result.new, result.error) == (30, None)
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        runs = set(conn.execute(select(Post.run_id)).scalars())
        status = conn.execute(select(CrawlRun.status)).scalar_one()
    assert runs == {result.run_id} and result.run_id > 0 and status == "ok"
    assert writers_alive() == []


@pytest.mark.e2e
def test_an_import_stopped_by_a_config_error_leaves_no_writer_running(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("topic: designated_org\nterms: 5\n")
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nclassifier: {lexicons: [bad.yaml]}\n"
    )
    with pytest.raises(ConfigError, match="terms"):
        import_file(load_config(config), rows_file(tmp_path / "rows.jsonl", 5))
    assert writers_alive() == []
    assert not (tmp_path / "p.db").exists()  # stopped before the database was opened


def test_writers_started_early_and_never_used_end_quietly(tmp_path: Path) -> None:
    """The CLI starts an import's writers before it reads the config; a config error (or
    --check) then ends them: each reads the end of its pipe and exits, with no traceback."""
    import subprocess

    from crawler.writer_processes import close_channels, start_writers

    channels = start_writers(2)
    first = channels[0][0]
    assert isinstance(first, subprocess.Popen) and writers_alive() == [first.pid]
    close_channels(channels)
    assert first.returncode == 0 and writers_alive() == []


@pytest.mark.e2e
def test_an_import_uses_the_writers_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from crawler import storing
    from crawler.writer_processes import start_writers

    def no_more_writers(count: int) -> None:
        raise AssertionError(f"{count} more writers started")

    monkeypatch.setattr(storing, "start_writers", no_more_writers)

    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\nimport: {batch_size: 7}\n")
    channels = start_writers(2)
    first = channels[0][0]
    assert isinstance(first, subprocess.Popen)
    result = import_file(
        load_config(config), rows_file(tmp_path / "r.jsonl", 30), channels=channels
    )
    assert (result.new, result.error) == (30, None)
    assert first.poll() is not None and writers_alive() == []
    # --check stores nothing and needs no writers: the ones given are ended.
    channels = start_writers(2)
    checked = import_file(
        load_config(config), rows_file(tmp_path / "c.jsonl", 5), check=True, channels=channels
    )
    assert checked.rows == 5 and writers_alive() == []


def test_the_import_command_ends_its_early_writers_on_a_config_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crawler.commands.app import app

    (tmp_path / "p.yaml").write_text("project: p\nstorage: {url: 3}\n")
    rows = rows_file(tmp_path / "rows.jsonl", 3)
    result = CliRunner().invoke(app, ["import", str(rows), "--config", str(tmp_path / "p.yaml")])
    assert result.exit_code != 0 and "storage.url" in str(result.exception)
    assert writers_alive() == []
