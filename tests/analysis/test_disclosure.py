"""No published output gives back a count it hides (issue 11, "suppression that holds").

A project with small cells is published every way vemeter can: `stats` for every combination of
--by keys in table, CSV, JSON and Parquet, and the HTML report with the data its charts are
drawn from. Each output is parsed as a reader would, and tests.analysis.disclosure.recover
(integer programming over everything published) looks for a hidden count with one possible
value. A second test shows that the same attacker does recover counts when only the small cells
are hidden, so the first is not passing by being blind.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from analysis import suppression
from analysis.report import gather, write_report
from analysis.report_charts import chart_data
from analysis.suppression import Hidden
from crawler.commands.app import app
from crawler.config import load_config
from storage.engine import open_database
from storage.records import PostRecord, TagRecord
from storage.runs import TargetOutcome, finish_run, record_targets, start_run
from storage.writer import PostWriter
from tests.analysis.disclosure import recover, wilson_inverse

runner = CliRunner()
K = 5
WEEKS = [date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)]  # Mondays
# (platform, target, language): (posts, flagged) in each of the three weeks. Every language is
# found on two platforms or more and every platform has two languages or more.
CELLS = {
    ("vk", "club1", "ru"): [(20, 3), (18, 6), (15, 0)],
    ("vk", "club1", "kk"): [(4, 1), (7, 2), (6, 0)],
    ("vk", "club2", "uz"): [(6, 0), (2, 1), (9, 5)],
    ("telegram", "chan1", "kk"): [(8, 2), (10, 4), (3, 0)],
    ("telegram", "chan1", "ru"): [(6, 0), (1, 1), (7, 2)],
    ("web", "site1", "uz"): [(2, 1), (3, 0), (1, 1)],
    ("web", "site1", "ru"): [(5, 0), (4, 2), (6, 1)],
}
# Linked: ru and uz are found on one platform each, en only on web (which has nothing else).
NESTED = {
    ("vk", "club1", "ru"): [(20, 3), (18, 6), (15, 0)],
    ("vk", "club1", "kk"): [(4, 1), (7, 2), (6, 0)],
    ("vk", "club2", "ru"): [(12, 0), (2, 1), (9, 5)],
    ("telegram", "chan1", "kk"): [(8, 2), (10, 4), (3, 0)],
    ("telegram", "chan1", "uz"): [(6, 0), (1, 1), (7, 2)],
    ("web", "site1", "en"): [(2, 1), (3, 0), (1, 1)],
}
KEYS = ("platform", "language", "week")
DERIVED = ("prevalence", "ci_low", "ci_high")


def _build(tmp: Path, cells: dict[tuple[str, str, str], list[tuple[int, int]]]) -> Path:
    config = tmp / "p.yaml"
    config.write_text(
        f"project: small\nstorage: {{url: 'sqlite:///{tmp / 'p.db'}'}}\nexport: {{min_cell: {K}}}\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp / 'p.db'}")
    run = start_run(engine, project="small", config_hash="h", version="0", classifiers={})
    posts = []
    for (platform, target, language), weeks in cells.items():
        for week, (n, flagged) in zip(WEEKS, weeks, strict=True):
            for i in range(n):
                topics = ["designated_org"] + (["glorification"] if i % 3 == 0 else [])
                posts.append(PostRecord(
                    platform, f"{platform}-src", target, f"{target}-{language}-{week}-{i}",
                    datetime(week.year, week.month, week.day, 9, tzinfo=UTC) + timedelta(days=i % 7),
                    language, "Cyrl", 0.9, i < flagged, False,
                    tags=[TagRecord("topic", t, 1.0, "lexicon", "1") for t in topics] if i < flagged else [],
                ))  # fmt: skip
    PostWriter(engine, run).write(posts)
    record_targets(engine, run, [
        TargetOutcome(p, f"{p}-src", t, "ok", None, 0, 0, True, None, None)
        for p, t in sorted({(p, t) for p, t, _ in cells})
    ])  # fmt: skip
    finish_run(engine, run, status="ok", new=len(posts), seen=0, flagged=0, requests=0)
    engine.dispose()
    return config


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("spread"), CELLS)


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("nested"), NESTED)


def _subsets(keys: tuple[str, ...] = KEYS, most: int = 2) -> Iterator[tuple[str, ...]]:
    for n in range(min(len(keys), most) + 1):
        yield from itertools.combinations(keys, n)


def _universe(
    tables: dict[tuple[str, ...], list[dict[str, Any]]],
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Every (platform, language, week) that the published two-key tables allow to hold posts."""
    pairs = {
        keys: {tuple(str(r[k]) for k in keys) for r in rows}
        for keys, rows in tables.items()
        if len(keys) == 2
    }
    values = [sorted({str(r[k]) for r in tables[(k,)]}) for k in KEYS]
    cells = [
        cell for cell in itertools.product(*values)
        if all(tuple(cell[KEYS.index(k)] for k in keys) in seen for keys, seen in pairs.items())
    ]  # fmt: skip
    return KEYS, cells


def _stats(project: Path, keys: tuple[str, ...], fmt: str, out: Path | None = None) -> str:
    args = ["stats", str(project), "--estimate", "naive", "--format", fmt]
    if keys:
        args += ["--by", ",".join(keys)]
    if out is not None:
        args += ["--output", str(out)]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    return done.stdout


def _count(cell: Any) -> Any:
    """A published count as the attacker reads it: int, "<k", "x", or None (hidden, kind unknown)."""
    if cell is None:
        return None
    text = str(cell).replace(",", "").strip()
    return int(text) if text.isdigit() else text


def _table_rows(text: str) -> list[dict[str, str]]:
    """The rows of a Rich table (box drawing) as dicts by header."""
    lines = [line for line in text.splitlines() if "│" in line or "┃" in line]
    cells = [[c.strip() for c in re.split(r"[│┃]", line)[1:-1]] for line in lines]
    header, body = cells[0], cells[1:]
    return [dict(zip(header, row, strict=True)) for row in body]


def _parse(project: Path, tmp: Path, keys: tuple[str, ...], fmt: str) -> list[dict[str, Any]]:
    """stats --by keys in one format, as rows of keys, counts and derived figures."""
    if fmt == "json":
        rows = json.loads(_stats(project, keys, "json"))["rows"]
    elif fmt == "csv":
        body = [
            line for line in _stats(project, keys, "csv").splitlines() if not line.startswith("#")
        ]
        rows = list(csv.DictReader(body))
    elif fmt == "parquet":
        path = tmp / f"{'-'.join(keys) or 'all'}.parquet"
        _stats(project, keys, "parquet", path)
        rows = pq.read_table(path).to_pylist()
    else:
        rows = _table_rows(_stats(project, keys, "table"))
    out = []
    for row in rows:
        parsed = {k: str(row[k]) for k in keys}
        parsed.update({c: _count(row[c]) for c in ("posts", "flagged")})
        parsed.update({c: row[c] for c in DERIVED})
        out.append(parsed)
    return out


def _hidden(value: Any) -> bool:
    return not isinstance(value, int)


def _no_figure(value: Any) -> bool:
    return value is None or value == ""


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet", "table"])
def test_no_stats_output_gives_a_hidden_count_back(project: Path, tmp_path: Path, fmt: str) -> None:
    tables = {keys: _parse(project, tmp_path, keys, fmt) for keys in _subsets()}
    markers = {str(r[c]) for rows in tables.values() for r in rows for c in ("posts", "flagged")}
    assert f"<{K}" in markers or "None" in markers  # there are small cells
    if fmt in ("csv", "table"):
        assert "x" in markers  # and complementary suppression was needed
    for rows in tables.values():
        for row in rows:
            if _hidden(row["posts"]) or _hidden(row["flagged"]):
                assert all(_no_figure(row[c]) for c in DERIVED), row  # no rate, no interval
    # Every table by up to two of platform, language and week, together: nothing is pinned.
    assert recover(tables, ("posts", "flagged"), K, universe=_universe(tables)) == []


def test_linked_tables_that_give_counts_away_are_named_in_the_output(
    nested: Path, tmp_path: Path
) -> None:
    """Where the coarser tables alone pin a count (ru only on vk: vk's kk = vk - ru), no
    suppression in the finer table can hide it; the output says so, and the attacker recovers
    nothing it does not name."""
    from analysis.counts import COUNT_LAYOUT, count_groups
    from analysis.suppression import protect_lattice

    cfg = load_config(nested)
    engine = open_database(cfg.database_url)
    exposed: list[Any] = []
    protect_lattice(KEYS, COUNT_LAYOUT, K, lambda s: count_groups(engine, s), exposed)
    engine.dispose()
    assert exposed
    tables = {keys: _parse(nested, tmp_path, keys, "csv") for keys in _subsets(most=3)}
    recovered = recover(tables, ("posts", "flagged"), K)
    named = {(keys, tuple(str(v) for v in key), column) for keys, key, column in exposed}
    assert recovered and {r[:3] for r in recovered} <= named
    notes = [line for line in _stats(nested, KEYS, "csv").splitlines() if line.startswith("#")]
    assert any(f"warning: {len(exposed)} hidden counts" in line for line in notes)
    body = json.loads(_stats(nested, KEYS, "json"))
    assert body["provenance"]["warnings"][0].startswith(f"warning: {len(exposed)} hidden counts")


def test_the_attacker_recovers_counts_when_only_small_cells_are_hidden(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suppression._Table, "complete", lambda self: None)
    tables = {keys: _parse(project, tmp_path, keys, "csv") for keys in _subsets()}
    recovered = recover(tables, ("posts", "flagged"), K, universe=_universe(tables))
    assert recovered, "the attacker should find the small cells that totals give back"


# --- the report ------------------------------------------------------------------------------


def _html_tables(page: str) -> dict[str, list[list[list[str]]]]:
    from tests.analysis.test_report import tables

    return tables(page)


def _report_tables(
    project: Path, tmp: Path, KR: int
) -> tuple[dict[tuple[str, ...], list[dict[str, Any]]], Any]:
    """What the report publishes, as tables of counts, from its page and its chart data."""
    cfg = load_config(project)
    engine = open_database(cfg.database_url)
    try:
        write_report(engine, cfg, tmp / "report", min_cell=KR, unit="week")
        report = gather(engine, cfg, min_cell=KR, unit="week")
    finally:
        engine.dispose()
    page = (tmp / "report" / "index.html").read_text(encoding="utf-8")
    t = _html_tables(page)
    out: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    summary = [r for r in t["Summary"][0][1:]]
    out[()] = [
        {"posts": _count(r[1]), "flagged": _count(r[2])} for r in summary if r[0] == "all platforms"
    ]
    out[("platform",)] = [
        {"platform": r[0], "posts": _count(r[1]), "flagged": _count(r[2])}
        for r in summary if r[0] != "all platforms"
    ]  # fmt: skip
    for r in summary:
        if not isinstance(_count(r[1]), int) or not isinstance(_count(r[2]), int):
            assert r[3] == "suppressed" and r[4] in ("suppressed", "no review sample"), r
    out[("language",)] = [
        {"language": r[0], "posts": _count(r[1]), "flagged": _count(r[2])}
        for r in t["Languages"][0][1:]
    ]  # fmt: skip
    if "Top targets by flagged posts" in t:
        out[("platform", "target")] = [
            {"platform": r[0], "target": r[2], "posts": _count(r[3]), "flagged": _count(r[4])}
            for r in t["Top targets by flagged posts"][0][1:]
        ]  # fmt: skip
    data = chart_data(report)
    total_posts = sum(n for weeks in CELLS.values() for n, _ in weeks)
    for key, name in (("platform", "rate_by_platform"), ("language", "rate_by_language")):
        rows = []
        for series in data.get(name, []):  # type: ignore[attr-defined]
            label = series.label.split(":")[0]
            for p in series.points:
                if p.is_gap:
                    continue
                flagged, posts = wilson_inverse(p.low, p.high, p.rate, total_posts)
                rows.append(
                    {key: label, "week": p.start.isoformat(), "posts": posts, "flagged": flagged}
                )
            for start, _end in series.hidden:
                rows.append({key: label, "week": start.isoformat(), "posts": None, "flagged": "?"})
        out[(key, "week")] = rows
    return out, data


@pytest.mark.parametrize("KR", [5, 10])  # 5: some weeks charted; 10: platforms hidden
def test_no_report_table_chart_or_text_gives_a_hidden_count_back(
    project: Path, tmp_path: Path, KR: int
) -> None:
    tables, data = _report_tables(project, tmp_path, KR)
    # Bars of hidden counts have no length, and no chart point or bar carries a hidden count.
    for name in ("topics", "top_sources"):
        for bar in data.get(name, []):
            assert bar.value is None or isinstance(bar.value, int)
            if bar.value is None:
                assert bar.mark in (f"<{KR} (suppressed)", "x (hidden)")
    hidden_bars = [b.label for b in data.get("topics", []) if b.value is None]
    assert hidden_bars == sorted(hidden_bars)  # not ranked
    markers = {str(r[c]) for rows in tables.values() for r in rows for c in ("posts", "flagged")}
    assert {f"<{KR}", "None"} & markers  # there are hidden counts, in tables or charts
    # The attacker's universe: each target of its platform, any language, any week.
    targets = sorted({(p, t) for p, t, _ in CELLS})
    languages = sorted({lang for _, _, lang in CELLS})
    weeks = [w.isoformat() for w in WEEKS]
    universe = [(p, t, lang, w) for p, t in targets for lang in languages for w in weeks]
    assert (
        recover(
            tables,
            ("posts", "flagged"),
            KR,
            universe=(("platform", "target", "language", "week"), universe),
        )
        == []
    )
    # Series titles name their posts only when the count is published.
    for name in ("rate_by_platform", "rate_by_language"):
        for series in data.get(name, []):
            label = series.label.split(": ", 1)[1]
            assert re.fullmatch(rf"[\d,]+ posts|<{KR} posts|posts hidden", label), label


def test_hidden_marker_and_published_value() -> None:
    assert str(Hidden(10)) == "<10" and str(Hidden(10, below=False)) == "x"
    assert suppression.published(Hidden(10)) is None and suppression.published(12) == 12


def test_a_table_too_large_to_audit_keeps_the_row_and_column_rule_and_says_so() -> None:
    """Above AUDIT_MAX_ROWS the linear-programming audit is skipped (its time grows faster than
    the table): every total still has 0 or at least 2 hidden cells under it, and the note says
    the table was not audited."""
    import random

    from analysis.counts import COUNT_LAYOUT
    from analysis.suppression import (
        AUDIT_MAX_ROWS,
        UNAUDITED,
        Hidden,
        exposed_note,
        protect_lattice,
    )

    rng = random.Random(1)
    cells = {
        (f"t{t}", f"d{d:02d}"): rng.choice([1, 2, 3, 5, 8, 12, 20, 40])
        for t in range(40)
        for d in range(20)
    }
    assert len(cells) > AUDIT_MAX_ROWS

    def table(keys: tuple[str, ...]) -> list[dict[str, object]]:
        sums: dict[tuple[str, ...], int] = {}
        for (t, d), posts in cells.items():
            key = tuple(v for name, v in (("target", t), ("day", d)) if name in keys)
            sums[key] = sums.get(key, 0) + posts
        return [
            {**dict(zip(keys, k, strict=True)), "posts": p, "flagged": 0} for k, p in sums.items()
        ]

    exposed: list = []
    lattice = protect_lattice(("target", "day"), COUNT_LAYOUT, 10, table, exposed)
    assert any(e[2] == UNAUDITED for e in exposed)
    assert "too large for the full audit" in exposed_note(exposed, 10)
    rows = lattice[("target", "day")]
    for key in ("target", "day"):
        for value in {r[key] for r in rows}:
            hidden = sum(isinstance(r["posts"], Hidden) for r in rows if r[key] == value)
            assert hidden != 1, (key, value)
