"""`vemeter review`: sample a closed period, export a sheet, import labels, then status and agreement."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

CONFIG = """project: review
storage: {url: 'sqlite:///review.db'}
privacy: {keep_text: all}
import: {platform: telegram}
"""
REQUIRED = [
    "item_id",
    "post_id",
    "platform",
    "source",
    "published_at",
    "language",
    "flagged",
    "text",
]


def imported(tmp_path: Path) -> Project:
    rows = [
        {"id": f"c/{i}", "published_at": f"2025-03-{1 + i % 28:02d}T10:00:00Z",
         "text": "Суд рассмотрел дело о членстве в ИГИЛ" if i < 6 else f"Погода: завтра снег, день {i}"}
        for i in range(40)
    ]  # fmt: skip
    (tmp_path / "posts.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    config_path = tmp_path / "p.yaml"
    config_path.write_text(CONFIG, encoding="utf-8")
    project = Project(tmp_path, config_path)
    done = project.run("import", "posts.jsonl", "--config", str(config_path))
    assert done.returncode == 0, done.stderr
    return project


def test_sample_export_import_status_and_agreement(tmp_path: Path) -> None:
    p = imported(tmp_path)
    cfg = str(p.config)
    done = p.run(
        "review",
        "sample",
        cfg,
        "--size",
        "12",
        "--until",
        "2025-04-01",
        "--seed",
        "5",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    strata = json.loads(done.stdout)
    assert [(s["stratum"], s["posts"]) for s in strata] == [("flagged", 6), ("low", 34)]
    assert sum(s["drawn"] for s in strata) == 12
    assert "Drew review sample 1: 12 posts (seed 5)" in done.stderr
    assert "Warning" not in done.stderr  # keep_text: all, so every sampled post has its text

    done = p.run("review", "export", cfg, "--output", "sheet.csv")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "sheet.csv").open(encoding="utf-8", newline="") as fh:
        sheet = list(csv.DictReader(fh))
    assert len(sheet) == 12 and set(REQUIRED) <= set(sheet[0])
    assert all(r["text"] and r["platform"] == "telegram" and r["label"] == "" for r in sheet)
    for r in sheet:
        r.update(reviewer="ann", label="yes" if "ИГИЛ" in r["text"] else "no")
    sheet[0]["label"] = "maybe"
    second = [dict(r, reviewer="bob") for r in sheet[1:5]]
    with (tmp_path / "labels.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet + second)

    done = p.run("review", "import", cfg, "labels.csv")
    assert done.returncode == 1  # one bad row; the good ones are stored
    assert (
        "labels.csv: line 2: label: 'maybe' is not a label (write yes, no or unsure)" in done.stderr
    )
    assert "Stored 15 labels; 1 bad rows skipped" in done.stderr
    again = p.run("review", "import", cfg, "labels.csv")
    assert "Stored 15 labels" in again.stderr  # re-import replaces, never duplicates

    done = p.run("review", "status", cfg, "--format", "json")
    assert done.returncode == 0, done.stderr
    status = {r["stratum"]: r for r in json.loads(done.stdout)}
    assert sum(r["reviewed"] for r in status.values()) == 11
    assert sum(r["unlabelled"] for r in status.values()) == 1
    # Every flagged post mentions the organisation and was labelled yes; the others no.
    expected = sum(1 for r in sheet[1:] if r["flagged"] == "yes")
    assert status["flagged"]["positives"] == status["flagged"]["reviewed"] == expected
    assert status["low"]["positives"] == 0

    done = p.run("review", "agreement", cfg, "--format", "json")
    assert done.returncode == 0, done.stderr
    pooled = json.loads(done.stdout)[-1]
    assert (pooled["stratum"], pooled["items"], pooled["raw_agreement"]) == (
        "all (unweighted)",
        4,
        1.0,
    )
