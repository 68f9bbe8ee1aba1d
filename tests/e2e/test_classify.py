"""`vemeter classify`: pipes in and out of a real process; --reclassify after a lexicon change."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Project

pytestmark = pytest.mark.e2e

V1 = {"designated_org": ["Zorbex Front", "Quillon Group"]}
V2 = {"designated_org": ["Zorbex Front"], "financing": ["Kelmar fund"]}
ROWS = [  # fictional names; keep_text: flagged stores the text of Z (chan/2) and Q (chan/1)
    ("chan/2", "2025-03-01T10:00:00Z", "The court heard a case about Zorbex Front membership."),
    ("chan/1", "2025-03-01T11:00:00Z", "A report on the Quillon Group was published today."),
    ("chan/3", "2025-03-02T09:00:00Z", "Neighbours discussed the Kelmar fund at the market."),
    ("chan/4", "2025-03-02T10:00:00Z", "Tomorrow the weather will be sunny and warm."),
]


def write_lexicons(directory: Path, lexicons: dict[str, list[str]]) -> None:
    directory.mkdir(exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    for topic, terms in lexicons.items():
        layer = "layer: un_listed\n" if topic == "designated_org" else ""
        body = "".join(f'  - {{term: "{t}", lang: [en], mode: word}}\n' for t in terms)
        (directory / f"{topic}.yaml").write_text(
            f"topic: {topic}\nfamily: test_names\n{layer}source: synthetic\nterms:\n{body}",
            encoding="utf-8",
        )


def by_topic(p: Project, *extra: str) -> dict[str, tuple[int, int]]:
    done = p.run("stats", str(p.config), "--by", "topic", "--format", "json", *extra)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    rows = data["rows"] if isinstance(data, dict) else data
    return {row["topic"]: (row["posts"], row["flagged"]) for row in rows}


def test_pipe_in_pipe_out_and_exit_codes(tmp_path: Path) -> None:
    given = json.dumps({"id": 1, "text": ROWS[0][2]}) + "\n[]\n" + json.dumps({"id": 2, "text": ""})
    # A real process: its streams' encoding is fixed when it starts (UTF-8 even under LC_ALL=C).
    done = subprocess.run(
        [sys.executable, "-m", "crawler.commands", "classify"], input=given.encode(), cwd=tmp_path,
        capture_output=True, env={**os.environ, "LC_ALL": "C"}, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    out = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [row["id"] for row in out] == [1, 2]
    assert "stdin: line 2: not a JSON object" in done.stderr.decode()
    p = Project(tmp_path, tmp_path / "unused.yaml")
    missing = p.run("classify", "--input", "nope.jsonl")
    assert missing.returncode == 1
    assert "Error: nope.jsonl: file not found" in missing.stderr


def test_reclassify_after_a_lexicon_change(tmp_path: Path) -> None:
    lexicons = tmp_path / "lexicons"
    write_lexicons(lexicons, V1)
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: reclass\nstorage: {url: 'sqlite:///r.db'}\nprivacy: {keep_text: flagged}\n"
        "classifier: {lexicons: [lexicons]}\nimport: {platform: telegram}\n",
        encoding="utf-8",
    )
    dump = tmp_path / "dump.jsonl"
    dump.write_text(
        "".join(json.dumps({"id": i, "published_at": t, "text": x}) + "\n" for i, t, x in ROWS),
        encoding="utf-8",
    )
    p = Project(tmp_path, config)
    imported = p.run("import", str(dump), "--config", str(config))
    assert imported.returncode == 0, imported.stderr
    assert by_topic(p) == {"designated_org": (2, 2), "(none)": (2, 0)}

    write_lexicons(lexicons, V2)
    done = p.run("classify", "--reclassify", str(config), "--format", "json")

    assert done.returncode == 0, done.stderr
    comparison = {
        (r["kind"], r["label"]): (r["before"], r["after"]) for r in json.loads(done.stdout)
    }
    assert comparison[("flagged", "yes")] == (2, 1)
    assert comparison[("topic", "designated_org")] == (2, 1)
    assert "2 posts classified again, 2 re-tagged" in done.stderr
    # k mentions the new financing term, but its text was never stored: it cannot change.
    assert "kept the old tags of 2 posts whose text is not stored" in done.stderr
    assert "recorded as run 2" in done.stderr
    expected = {"designated_org": (1, 1), "(none)": (3, 0)}
    assert by_topic(p) == expected
    # A window that is not whole days is counted from the posts and tags themselves.
    assert by_topic(p, "--since", "2000-01-01T00:00:01Z") == expected
    with sqlite3.connect(tmp_path / "r.db") as db:
        kinds = db.execute(
            "SELECT p.post_id, t.kind, t.version FROM tags t JOIN posts p ON p.id = t.post_pk "
            "ORDER BY p.post_id, t.kind"
        ).fetchall()
        runs = db.execute("SELECT classifiers, message FROM crawl_runs ORDER BY id").fetchall()
    versions = sorted({version for _, _, version in kinds})
    assert len(versions) == 2
    assert [(post, kind) for post, kind, _ in kinds] == [
        ("chan/1", "topic:old"), ("chan/2", "topic"), ("chan/2", "topic:old"),
    ]  # fmt: skip
    assert json.loads(runs[1][0])["lexicon"] != json.loads(runs[0][0])["lexicon"]
    assert runs[1][1].startswith("reclassify: 2 posts classified again")
    # Q is no longer flagged: keep_text: flagged no longer allows its text.
    assert "erased the text of 1 posts that privacy.keep_text (flagged) no longer allows" in (
        done.stderr
    )
    with sqlite3.connect(tmp_path / "r.db") as db:
        texts = dict(db.execute("SELECT post_id, text IS NOT NULL FROM posts").fetchall())
    assert texts == {"chan/2": 1, "chan/1": 0, "chan/3": 0, "chan/4": 0}
