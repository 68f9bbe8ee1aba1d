"""`vemeter review` in-process: usage errors, closed periods, the text warning, sheet formats."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.commands.app import app
from crawler.errors import InputError
from storage.engine import open_database
from storage.records import PostRecord
from storage.runs import finish_run, start_run
from storage.writer import PostWriter

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """20 posts in March 2025, 4 flagged; text kept for flagged posts only, as keep_text: flagged."""
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nprivacy: {keep_text: flagged}\n"
        "review: {double_share: 0.5}\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    PostWriter(engine, run).write([
        PostRecord(
            "vk" if i % 2 else "ok", "s", "t", f"p{i}", datetime(2025, 3, 1, tzinfo=UTC) + timedelta(hours=i),
            "ru", "Cyrl", 0.9, i < 4, True, text="synthetic flagged post" if i < 4 else None,
            url=f"https://example.org/{i}",
        )
        for i in range(20)
    ])  # fmt: skip
    finish_run(engine, run, status="ok", new=20, seen=0, flagged=4, requests=0)
    engine.dispose()
    return config


def test_sample_warns_once_that_unflagged_posts_have_no_text(project: Path) -> None:
    done = runner.invoke(app, ["review", "sample", str(project), "--size", "10", "--until", "2025-04-01", "--by", "platform", "--seed", "1", "--format", "csv"])  # fmt: skip
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert [(r["platform"], r["stratum"], r["posts"]) for r in rows] == [
        ("ok", "flagged", "2"), ("ok", "low", "8"), ("vk", "flagged", "2"), ("vk", "low", "8"),
    ]  # fmt: skip
    warnings = [line for line in done.stderr.splitlines() if line.startswith("Warning")]
    assert len(warnings) == 1
    assert "sampled posts have no stored text" in warnings[0] and "url column" in warnings[0]
    assert "set privacy.keep_text: all (now 'flagged'" in warnings[0]
    assert "set privacy.keep_text: all" in warnings[0]


def test_sample_refuses_open_periods_and_unknown_keys(project: Path) -> None:
    future = runner.invoke(app, ["review", "sample", str(project), "--size", "5", "--until", "2999-01-01"])  # fmt: skip
    assert isinstance(future.exception, InputError) and "is in the future" in str(future.exception)
    bad = runner.invoke(app, ["review", "sample", str(project), "--size", "5", "--until", "2025-04-01", "--by", "day"])  # fmt: skip
    assert bad.exit_code == 2 and "cannot sample by day" in bad.output
    none = runner.invoke(app, ["review", "export", str(project)])
    assert isinstance(none.exception, InputError) and "no review sample" in str(none.exception)


def test_export_csv_blind_and_json(project: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["review", "sample", str(project), "--size", "6", "--until", "2025-04-01", "--seed", "2"])  # fmt: skip
    done = runner.invoke(app, ["review", "export", str(project)])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(done.stdout.splitlines()))
    assert len(rows) == 6
    assert [c for c in rows[0] if c in ("item_id", "url", "text", "flagged", "stratum")] == [
        "item_id", "flagged", "url", "text", "stratum",
    ]  # fmt: skip
    assert all((r["text"] != "") == (r["flagged"] == "yes") for r in rows)
    assert all(r["url"].startswith("https://example.org/") for r in rows)
    # double_share 0.5 in the config: half of each stratum is marked for a second reviewer.
    assert sum(r["double_label"] == "yes" for r in rows) == 3
    blind = runner.invoke(app, ["review", "export", str(project), "--blind", "--format", "json"])
    items = json.loads(blind.stdout)
    assert [i["item_id"] for i in items] == [int(r["item_id"]) for r in rows]
    assert not {"flagged", "stratum", "inclusion_probability"} & set(items[0])
    out = tmp_path / "sheet.csv"
    runner.invoke(app, ["review", "export", str(project), "-o", str(out)])
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("item_id,post_id,platform")


def test_import_with_a_default_reviewer_then_status(project: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["review", "sample", str(project), "--size", "6", "--until", "2025-04-01", "--seed", "2"])  # fmt: skip
    rows = list(
        csv.DictReader(runner.invoke(app, ["review", "export", str(project)]).stdout.splitlines())
    )
    sheet = tmp_path / "labels.csv"
    sheet.write_text(
        "item_id,label\n" + "".join(f"{r['item_id']},{'1' if r['flagged'] == 'yes' else '0'}\n" for r in rows),
        encoding="utf-8",
    )  # fmt: skip
    missing = runner.invoke(app, ["review", "import", str(project), str(sheet)])
    assert isinstance(missing.exception, InputError)
    assert "line 1: missing column reviewer" in str(missing.exception)
    done = runner.invoke(app, ["review", "import", str(project), str(sheet), "--reviewer", "ann"])
    assert done.exit_code == 0, done.output
    assert "Stored 6 labels; 0 bad rows skipped" in done.stderr
    status = runner.invoke(app, ["review", "status", str(project), "--format", "json"])
    by_stratum = {r["stratum"]: r for r in json.loads(status.stdout)}
    flagged = sum(r["flagged"] == "yes" for r in rows)
    assert (by_stratum["flagged"]["reviewed"], by_stratum["flagged"]["positives"]) == (
        flagged,
        flagged,
    )
    assert (by_stratum["low"]["size"], by_stratum["low"]["positives"]) == (16, 0)
    agreement = runner.invoke(app, ["review", "agreement", str(project)])
    assert "No item has two reviewers' labels yet" in agreement.stderr
