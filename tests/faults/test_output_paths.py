"""A bad output path (-o / --output) is one `Error:` line and exit 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import vemeter


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "bad"),
    [
        (("stats", "{config}", "--format", "csv", "-o", "{tmp}/missing/x.csv"), "missing/x.csv"),
        (("stats", "{config}", "--format", "json", "-o", "{tmp}"), "{tmp}"),  # a folder
        (
            ("stats", "{config}", "--format", "parquet", "-o", "{tmp}/missing/x.parquet"),
            "x.parquet",
        ),
        (("report", "{config}", "-o", "{config}"), "p.yaml"),  # a file where a folder goes
    ],
)
def test_a_bad_output_path_is_one_error_line(
    tmp_path: Path, config: Path, args: tuple[str, ...], bad: str
) -> None:
    filled = [a.format(config=config, tmp=tmp_path) for a in args]
    done = vemeter(*filled, env={"VEMETER_PSEUDONYM_KEY": "k" * 32})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, done.stderr
    assert bad.format(tmp=tmp_path) in errors[0]
