"""`vemeter report` through the CLI, after `vemeter import`: an offline folder whose numbers match stats."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.analysis.test_report import as_int, tables
from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

CONFIG = """project: reported
storage: {url: 'sqlite:///reported.db'}
import:
  platform: telegram
"""
FLAGGED = "Суд рассмотрел дело о членстве в ИГИЛ"  # neutral news wording the lexicon tags
PLAIN = ["Погода: завтра снег", "Bozorda narxlar", "City council meets on Monday"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """One import for the module: the classifiers take seconds to load in a new process."""
    tmp_path = tmp_path_factory.mktemp("report")
    rows = [
        {"id": f"chan{i % 3}/{i}", "text": FLAGGED if i % 4 == 0 else PLAIN[i % 3],
         "published_at": f"2025-03-{1 + i % 20:02d}T10:00:00Z", "target": f"chan{i % 3}"}
        for i in range(90)
    ]  # fmt: skip
    file = tmp_path / "dump.jsonl"
    file.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    (tmp_path / "p.yaml").write_text(CONFIG, encoding="utf-8")
    project = Project(tmp_path, tmp_path / "p.yaml")
    done = project.run("import", str(file), "--config", str(project.config))
    assert done.returncode == 0, done.stderr
    return project


def stats_rows(project: Project, by: str) -> list[dict[str, Any]]:
    done = project.run("stats", str(project.config), "--by", by, "--format", "json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    rows: list[dict[str, Any]] = body["rows"] if isinstance(body, dict) else body
    return rows


def test_report_folder_matches_stats_suppresses_and_needs_no_network(project: Project) -> None:
    out = project.dir / "out"
    done = project.run("report", str(project.config), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "index.html")
    page = (out / "index.html").read_text(encoding="utf-8")
    # One file: every chart is embedded, nothing beside index.html is needed.
    refs = re.findall(r'src="([^"]+)"', page)
    # Rates over time, languages, topics (this data has no review sample and no ranked target).
    assert len(refs) == 3 and all(ref.startswith("data:image/png;base64,") for ref in refs)
    assert [p.name for p in out.iterdir()] == ["index.html"]
    assert not re.search(r"https?://", page)
    t = tables(page)
    languages = {r[0]: (as_int(r[1]), as_int(r[2])) for r in t["Languages"][0][1:]}
    assert languages == {
        r["language"]: (r["posts"], r["flagged"]) for r in stats_rows(project, "language")
    }
    # Without export.min_cell in the config a report hides counts below 10.
    flagged = {r["target"]: r["flagged"] for r in stats_rows(project, "target")}
    assert all(0 < n < 10 for n in flagged.values())  # every target's flagged count is hidden
    # ... so no target is ranked, and none of their counts is printed or drawn.
    assert "Top targets by flagged posts" not in t
    assert "No published count of flagged posts per target in this period." in page
    assert "no review sample yet: run vemeter review sample" in page


def test_a_window_that_cuts_through_a_day_is_one_error_line(project: Project) -> None:
    bad = project.run("report", str(project.config), "-o", "x", "--until", "2025-03-05T12:00")
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "Error: --until: 2025-03-05T12:00:00+00:00 is not midnight UTC (reports cover whole "
        "days: write a date such as 2025-01-31)"
    )
