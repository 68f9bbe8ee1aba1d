"""`stats --estimate reviewed`: design-based where the sample was drawn, model-based below it."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analysis.stratified import StratumSample, stratified_estimate
from crawler.commands.app import app
from storage.engine import open_database
from storage.records import PostRecord
from storage.review import reviewed_strata, sample_info
from storage.runs import finish_run, start_run
from storage.writer import PostWriter

runner = CliRunner()
POSTS = 400


def _truth(i: int) -> bool:
    """Synthetic truth: posts 0-29 are flagged, 0-19 of them truly positive; 5 more are missed."""
    return i < 20 or 100 <= i < 105


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nprivacy: {keep_text: all}\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    start = datetime(2025, 3, 1, tzinfo=UTC)
    PostWriter(engine, run).write([
        PostRecord(
            "vk" if i % 2 else "ok", "s", "t", f"p{i}", start + timedelta(hours=i % 96),
            "ru", "Cyrl", 0.9, i < 30, True, text=f"synthetic post {i}",
        )
        for i in range(POSTS)
    ])  # fmt: skip
    finish_run(engine, run, status="ok", new=POSTS, seen=0, flagged=30, requests=0)
    engine.dispose()
    return config


def _sample_and_label(project: Path, *extra: str, label: str | None = None) -> None:
    done = runner.invoke(
        app,
        ["review", "sample", str(project), "--size", "120", "--until", "2025-04-01",
         "--seed", "3", *extra],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    sheet = runner.invoke(app, ["review", "export", str(project)]).stdout
    labels = project.parent / "labels.csv"
    with labels.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item_id", "reviewer", "label"])
        for row in csv.DictReader(sheet.splitlines()):
            truth = _truth(int(row["post_id"][1:]))
            writer.writerow([row["item_id"], "r1", label or ("yes" if truth else "no")])
    done = runner.invoke(app, ["review", "import", str(project), str(labels)])
    assert done.exit_code == 0, done.output


def _stats(project: Path, *args: str) -> dict[str, object]:
    done = runner.invoke(
        app, ["stats", str(project), "--estimate", "reviewed", "--format", "json", *args]
    )
    assert done.exit_code == 0, done.output
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_whole_period_is_the_stratified_estimate_of_the_sample(project: Path) -> None:
    _sample_and_label(project)
    out = _stats(project)
    [row] = out["rows"]  # type: ignore[misc]
    engine = open_database(f"sqlite:///{project.parent / 'p.db'}")
    info = sample_info(engine)
    strata = reviewed_strata(engine, info.id)
    engine.dispose()
    expected = stratified_estimate(
        [
            StratumSample(s.stratum, s.size, s.reviewed, s.positives, kind="flagged" if s.stratum == "flagged" else "unflagged")
            for s in strata
        ],
        seed=info.seed,
    )  # fmt: skip
    assert row["posts"] == POSTS and row["flagged"] == 30 and row["reviewed"] == 120
    assert row["method"] == "stratified-hybrid"
    assert (row["prevalence"], row["ci_low"], row["ci_high"]) == pytest.approx(
        (expected.prevalence, expected.ci_low, expected.ci_high), abs=5e-7
    )  # rates are published with 6 decimals
    review = out["provenance"]["review"]  # type: ignore[index]
    assert review["sample"] == info.id and review["reviewed"] == 120
    assert review["window"] == "start .. 2025-04-01"
    assert review["precision"].startswith("0.667")  # 20 of the 30 flagged posts


def test_design_keys_give_design_based_rows_and_finer_keys_model_based(project: Path) -> None:
    _sample_and_label(project, "--by", "platform")
    by_platform = _stats(project, "--by", "platform")["rows"]
    assert [r["platform"] for r in by_platform] == ["ok", "vk"]  # type: ignore[index]
    assert {r["method"] for r in by_platform} == {"stratified-hybrid"}  # type: ignore[union-attr]
    by_day = _stats(project, "--by", "platform,day")["rows"]
    assert len(by_day) == 8  # type: ignore[arg-type]
    assert {r["method"] for r in by_day} == {"model-based"}  # type: ignore[union-attr]


def test_fewer_than_five_positives_publish_only_an_upper_limit(project: Path) -> None:
    _sample_and_label(project, label="no")
    [row] = _stats(project)["rows"]  # type: ignore[misc]
    assert row["positives"] == 0 and row["prevalence"] is None and row["ci_low"] is None
    assert row["ci_high"] > 0 and row["published"].startswith("≤ ")


def test_reviewed_needs_a_sample_and_cannot_group_by_topic(project: Path) -> None:
    done = runner.invoke(app, ["stats", str(project), "--estimate", "reviewed"])
    assert done.exit_code == 1 and "no review sample yet" in str(done.exception)
    _sample_and_label(project)
    done = runner.invoke(app, ["stats", str(project), "--estimate", "reviewed", "--by", "topic"])
    assert done.exit_code == 1 and "not topic" in str(done.exception)


def test_hidden_review_counts_hide_the_estimate_built_on_them(project: Path) -> None:
    _sample_and_label(project, "--by", "platform")
    shown = _stats(project, "--by", "platform", "--min-cell", "15")["rows"]
    for row in shown:  # type: ignore[attr-defined]
        if row["positives"] is None or row["reviewed"] is None:
            assert row["suppressed"] is True
            assert [row[c] for c in ("prevalence", "ci_low", "ci_high", "published")] == [None] * 4
    assert any(row["positives"] is None for row in shown)  # type: ignore[attr-defined]
    # Rows finer than the design repeat their platform's review counts: hidden alike.
    by_day = _stats(project, "--by", "platform,day", "--min-cell", "15")["rows"]
    hidden = {r["platform"] for r in shown if r["positives"] is None}  # type: ignore[attr-defined]
    for row in by_day:  # type: ignore[attr-defined]
        if row["platform"] in hidden:
            assert row["positives"] is None and row["ci_high"] is None


def test_with_no_positive_reviewed_recall_says_why_instead_of_nan(project: Path) -> None:
    _sample_and_label(project, label="no")
    done = runner.invoke(app, ["stats", str(project), "--estimate", "reviewed", "--format", "json"])
    review = json.loads(done.stdout)["provenance"]["review"] if done.exit_code == 0 else None
    assert review is not None, done.output
    assert review["recall"].startswith("undefined: no reviewed post was labelled yes")
    assert "nan" not in json.dumps(review)
