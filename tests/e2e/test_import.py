"""`vemeter import`: JSON lines and CSV from other tools, bad rows reported, re-imports idempotent."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

CONFIG = """project: imports
storage: {url: 'sqlite:///imports.db'}
import:
  fields: {id: msg_id, text: body, published_at: date}
  platform: telegram
"""


def project(tmp_path: Path) -> Project:
    path = tmp_path / "p.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return Project(tmp_path, path)


def test_jsonl_import_reports_bad_lines_keeps_good_ones_and_is_idempotent(tmp_path: Path) -> None:
    rows = [
        json.dumps({"msg_id": "chan/1", "body": "Суд рассмотрел дело о членстве в ИГИЛ", "date": "2025-03-01T10:00:00Z", "author": "someone"}),
        json.dumps({"msg_id": "chan/2", "body": "Погода: завтра снег", "date": 1740823200, "views": "12"}),
        "{not json",
        json.dumps({"body": "no id here", "date": "2025-03-01"}),
        json.dumps({"msg_id": "chan/3", "body": "Bozorda narxlar", "date": "yesterday"}),
        json.dumps({"msg_id": "chan/4", "body": "", "date": "2025-03-02", "platform": "vk", "views": "many"}),
        json.dumps({"msg_id": "chan/5", "body": "Ertaga havo issiq", "date": "2025-03-02", "source": "tg-dump", "target": "chan"}),
    ]  # fmt: skip
    file = tmp_path / "dump.jsonl"
    file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    p = project(tmp_path)
    done = p.run("import", str(file), "--config", str(p.config))
    assert done.returncode == 0  # the good rows are stored, the bad ones quarantined
    lines = done.stderr
    assert f"{file}:3: not valid JSON" in lines
    assert f"{file}:4: msg_id: missing" in lines
    assert f"{file}:5: published_at: 'yesterday' is not a date" in lines
    assert f"{file}:6: views: 'many' is not a whole number" in lines
    assert "3 new posts" in lines and "4 bad rows quarantined" in lines
    assert p.stats("platform,source,target") == [
        {
            "platform": "telegram",
            "source": "import:dump",
            "target": "chan",  # the channel of ids written channel/77
            "posts": 2,
            "flagged": 1,
        },
        {"platform": "telegram", "source": "tg-dump", "target": "chan", "posts": 1, "flagged": 0},
    ]
    again = p.run("import", str(file), "--config", str(p.config))
    assert "0 new posts, 3 already stored" in again.stderr
    assert p.stats() == [{"posts": 3, "flagged": 1}]


def test_csv_import_with_platform_and_source_options(tmp_path: Path) -> None:
    file = tmp_path / "export.csv"
    with file.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["msg_id", "body", "date", "author", "views", "url"])
        writer.writerow(
            [
                "11",
                "Court hears case about ISIS membership",
                "2025-01-05T08:00:00+05:00",
                "u1",
                "1200",
                "https://ok.ru/x/11",
            ]
        )
        writer.writerow(
            ["12", "City council meets, line one\nline two", "2025-01-06", "u2", "", ""]
        )
        writer.writerow(["13", "extra cell", "2025-01-06", "u3", "", "", "surplus"])
    p = project(tmp_path)
    check = p.run("import", str(file), "--config", str(p.config), "--check", "--platform", "ok")
    assert check.returncode == 1 and "Checked 3 rows: 1 bad." in check.stderr
    assert p.stats() == [{"posts": 0, "flagged": 0}]  # --check stores nothing
    done = p.run(
        "import", str(file), "--config", str(p.config), "--platform", "ok", "--source", "ok-export"
    )
    assert f"{file}:5: 1 more cells than the header has columns" in done.stderr
    assert p.stats("platform,source,day") == [
        {"platform": "ok", "source": "ok-export", "day": "2025-01-05", "posts": 1, "flagged": 1},
        {"platform": "ok", "source": "ok-export", "day": "2025-01-06", "posts": 1, "flagged": 0},
    ]


def test_unknown_format_and_missing_file_are_one_line(tmp_path: Path) -> None:
    p = project(tmp_path)
    (tmp_path / "data.xml").write_text("<x/>", encoding="utf-8")
    odd = p.run("import", str(tmp_path / "data.xml"), "--config", str(p.config))
    assert odd.returncode == 1
    assert odd.stderr.strip().startswith("Error:") and "--format jsonl" in odd.stderr
    missing = p.run("import", str(tmp_path / "nope.jsonl"), "--config", str(p.config))
    assert missing.returncode == 1 and "file not found" in missing.stderr
