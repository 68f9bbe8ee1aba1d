"""`vemeter stats` exports: naive prevalence, provenance in every format, suppression, Parquet."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from analysis.intervals import wilson_interval
from analysis.suppression import suppress
from crawler.commands.app import app
from storage.engine import open_database
from storage.records import PostRecord, TagRecord
from storage.runs import TargetOutcome, record_targets, start_run
from storage.writer import PostWriter

runner = CliRunner()
CLASSIFIERS = {"language": "py3langid@0.4.0", "lexicon": "lexicon@2.abc"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """12 posts on club1 (3 flagged), 2 on club2 (none flagged); club3 was inaccessible."""
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nexport: {min_cell: 0}\n"
        "sources: [{name: vk-a, platform: vk, targets: [club1, club2, club3]}]\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(engine, project="p", config_hash="abc123", version="0", classifiers=CLASSIFIERS)
    topic = [TagRecord("topic", "designated_org", 1.0, "lexicon", "2.abc")]
    day = datetime(2025, 1, 1, tzinfo=UTC)
    posts = [
        PostRecord("vk", "vk-a", "club1", f"-1_{i}", day, "ru", "Cyrl", 0.9, i < 3, True,
                   tags=topic if i < 3 else [])
        for i in range(12)
    ] + [
        PostRecord("vk", "vk-a", "club2", f"-2_{i}", day, "kk", "Cyrl", 0.9, False, True)
        for i in range(2)
    ]  # fmt: skip
    PostWriter(engine, run).write(posts)
    record_targets(
        engine,
        run,
        [
            TargetOutcome("vk", "vk-a", "club1", "ok", None, 12, 12, True, None, None),
            TargetOutcome("vk", "vk-a", "club2", "ok", None, 2, 2, True, None, None),
            TargetOutcome("vk", "vk-a", "club3", "inaccessible", "closed community", 0, 0, True, None, None),
        ],
    )  # fmt: skip
    engine.dispose()
    return config


def test_naive_estimate_is_classify_and_count_with_a_wilson_interval(project: Path) -> None:
    done = runner.invoke(
        app, ["stats", str(project), "--by", "target", "--estimate", "naive", "--format", "json"]
    )
    assert done.exit_code == 0, done.output
    club1, club2 = json.loads(done.stdout)["rows"]
    assert (club1["posts"], club1["flagged"], club1["prevalence"]) == (12, 3, 0.25)
    # Rates are decimals with 6 places: "0.088942", never an exponent.
    assert (club1["ci_low"], club1["ci_high"]) == pytest.approx(wilson_interval(3, 12), abs=5e-7)
    assert '"ci_low": 0.088942,' in done.stdout and '"ci_low": 0.000000,' in done.stdout
    assert not re.search(r"\d[eE][-+]?\d", done.stdout)  # no 5.551e-17
    assert club1["method"] == "naive-wilson"
    assert club2["prevalence"] == 0.0 and club2["ci_low"] == 0.0 and club2["ci_high"] > 0.3


def test_every_export_carries_provenance(project: Path, tmp_path: Path) -> None:
    done = runner.invoke(app, ["stats", str(project), "--format", "json", "--since", "2025-01-01"])
    origin = json.loads(done.stdout)["provenance"]
    assert origin["project"] == "p" and len(origin["config_hash"]) == 16
    assert origin["config_hashes_of_runs"] == ["abc123"]
    assert origin["classifiers"] == {"language": ["py3langid@0.4.0"], "lexicon": ["lexicon@2.abc"]}
    assert origin["since"] == "2025-01-01T00:00:00Z" and origin["until"] is None
    assert origin["coverage"]["by_status"] == {"ok": 2, "inaccessible": 1}
    assert origin["coverage"]["problems"] == ["vk/vk-a/club3: inaccessible (closed community)"]
    assert origin["exported_at"].endswith("Z")

    as_csv = runner.invoke(app, ["stats", str(project), "--format", "csv"]).stdout
    comments = [line for line in as_csv.splitlines() if line.startswith("# ")]
    assert any("config " in line and "exported" in line for line in comments)
    assert any("1 inaccessible" in line for line in comments)

    table = runner.invoke(app, ["stats", str(project)]).stdout
    assert "lexicon=lexicon@2.abc" in table and "3 targets" in table

    path = tmp_path / "stats.parquet"
    done = runner.invoke(
        app, ["stats", str(project), "--by", "target", "--estimate", "naive",
              "--format", "parquet", "--output", str(path)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    table_pq = pq.read_table(path)
    assert table_pq.column("posts").to_pylist() == [12, 2]
    assert table_pq.column("prevalence").to_pylist() == [0.25, 0.0]
    metadata = json.loads(table_pq.schema.metadata[b"vemeter"])
    assert metadata["estimate"] == "naive" and metadata["config_hashes_of_runs"] == ["abc123"]


def test_small_cells_are_shown_as_less_than_k(project: Path, tmp_path: Path) -> None:
    done = runner.invoke(
        app, ["stats", str(project), "--by", "target", "--estimate", "naive",
              "--format", "json", "--min-cell", "5"],
    )  # fmt: skip
    club1, club2 = json.loads(done.stdout)["rows"]
    # 3 flagged is below 5: hidden (null in JSON) with every figure derived from it. 2 posts
    # on club2 is hidden too, and then club1's 12 as well: 14 in all minus 12 would give it.
    assert club1["flagged"] is None and club1["posts"] is None and club1["suppressed"] is True
    assert club1["prevalence"] is None and club1["ci_low"] is None and club1["ci_high"] is None
    # 0 flagged discloses nothing and stays; 2 posts does not.
    assert club2["posts"] is None and club2["flagged"] == 0 and club2["ci_high"] is None
    assert json.loads(done.stdout)["provenance"]["min_cell"] == 5

    path = tmp_path / "small.csv"
    runner.invoke(app, ["stats", str(project), "--by", "target", "--format", "csv",
                        "--min-cell", "5", "--output", str(path)])  # fmt: skip
    body = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert [(r["posts"], r["flagged"]) for r in csv.DictReader(body)] == [("x", "<5"), ("<5", "0")]

    parquet = tmp_path / "small.parquet"
    runner.invoke(app, ["stats", str(project), "--by", "target", "--format", "parquet",
                        "--min-cell", "5", "--output", str(parquet)])  # fmt: skip
    read = pq.read_table(parquet)
    assert read.column("flagged").to_pylist() == [None, 0]
    assert read.column("posts").to_pylist() == [None, None]
    assert read.column("suppressed").to_pylist() == [True, True]


def test_the_configured_min_cell_applies_by_default(project: Path) -> None:
    project.write_text(project.read_text().replace("min_cell: 0", "min_cell: 13"))
    rows = json.loads(runner.invoke(app, ["stats", str(project), "--format", "json"]).stdout)
    assert rows["rows"][0]["posts"] == 14 and rows["rows"][0]["flagged"] is None


def test_suppress_keeps_zeros_and_leaves_input_alone() -> None:
    rows = [{"posts": 0, "flagged": 0}, {"posts": 9, "flagged": 1, "prevalence": 0.11}]
    out = suppress(rows, ["posts", "flagged"], 10, derived=["prevalence"])
    assert [{k: str(v) for k, v in r.items()} for r in out] == [
        {"posts": "0", "flagged": "0", "suppressed": "False"},
        {"posts": "<10", "flagged": "<10", "prevalence": "None", "suppressed": "True"},
    ]
    assert rows[1]["posts"] == 9


def test_weeks_and_months_are_sums_of_days(project: Path) -> None:
    by_week = json.loads(runner.invoke(app, ["stats", str(project), "--by", "week", "--format", "json"]).stdout)  # fmt: skip
    assert [(r["week"], r["posts"], r["flagged"]) for r in by_week["rows"]] == [
        ("2024-12-30", 14, 3)  # 1 January 2025 was a Wednesday: its week began on Monday
    ]
    by_month = json.loads(runner.invoke(app, ["stats", str(project), "--by", "target,month", "--format", "json"]).stdout)  # fmt: skip
    assert [(r["target"], r["month"], r["posts"]) for r in by_month["rows"]] == [
        ("club1", "2025-01", 12), ("club2", "2025-01", 2),
    ]  # fmt: skip
    both = runner.invoke(app, ["stats", str(project), "--by", "day,week"])
    assert both.exit_code == 2 and "one time unit at a time" in both.output


def test_no_naive_estimate_by_topic(project: Path) -> None:
    done = runner.invoke(app, ["stats", str(project), "--by", "topic", "--estimate", "naive"])
    assert done.exit_code == 2 and "1 or 0 by construction" in done.output
    counts = runner.invoke(app, ["stats", str(project), "--by", "topic", "--format", "json"])
    assert counts.exit_code == 0, counts.output


def test_parquet_refuses_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.commands import output
    from crawler.errors import VemeterError

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(output.sys, "stdout", Terminal())
    with pytest.raises(VemeterError, match="stdout is a terminal"):
        output.render([{"posts": 1}], ["posts"], output.ExportFormat.parquet)
