"""`vemeter report` from a small synthetic database: files, numbers, suppression, review, privacy."""

from __future__ import annotations

import base64
import re
import struct
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from analysis.report import gather, write_report
from analysis.report_html import render_html
from analysis.stratified import StratumSample, stratified_estimate
from crawler.config import ProjectConfig, parse_config
from crawler.errors import InputError
from storage.models import ReviewItem, ReviewLabel
from storage.records import PostRecord, TagRecord
from storage.review import reviewed_strata
from storage.runs import TargetOutcome, finish_run, record_targets, start_run
from storage.stats import count_posts
from storage.writer import PostWriter

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday
TEXT = "synthetic-post-text-marker"
AUTHOR = "pseudonym-marker-0f0f0f"


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts, keyed by the <h2> above it."""

    def __init__(self) -> None:
        super().__init__()
        self.by_section: dict[str, list[list[list[str]]]] = {}
        self.section = ""
        self._in: str | None = None
        self._row: list[str] = []
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.by_section.setdefault(self.section, []).append([])
        elif tag in ("h2", "td", "th"):
            self._in, self._text = tag, ""
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self.section, self._in = self._text.strip(), None
        elif tag in ("td", "th"):
            self._row.append(self._text.strip())
            self._in = None
        elif tag == "tr":
            self.by_section[self.section][-1].append(self._row)

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data


def tables(page: str) -> dict[str, list[list[list[str]]]]:
    parser = Tables()
    parser.feed(page)
    return parser.by_section


def as_int(cell: str) -> int:
    return int(cell.replace(",", ""))


def _post(i: int, platform: str, target: str, lang: str, flagged: bool, topic: str) -> PostRecord:
    tags = [TagRecord("topic", topic, 1.0, "lexicon", "1.abc")] if flagged else []
    return PostRecord(
        platform=platform, source=f"{platform}-src", target=target, post_id=f"{target}_{i}",
        published_at=T0 + timedelta(days=i % 40, hours=i % 7), language=lang, script="Cyrl",
        language_probability=0.9, flagged=flagged, has_text=True, text=TEXT if flagged else None,
        author=AUTHOR, tags=tags,
    )  # fmt: skip


def build(engine: Engine, extra_target: str = "chan_b") -> None:
    """vk/ru 400 posts (40 flagged), vk/uz 100 (none), telegram/kk 200 (3 flagged)."""
    run = start_run(engine, project="p", config_hash="cafe0001", version="0.1", classifiers={})
    posts = [_post(i, "vk", "club1", "ru", i % 10 == 0, "designated_org") for i in range(400)]
    posts += [_post(i, "vk", "club2", "uz", False, "") for i in range(100)]
    posts += [_post(i, "telegram", extra_target, "kk", i in (5, 70, 130), "glorification")
              for i in range(200)]  # fmt: skip
    PostWriter(engine, run).write(posts)
    record_targets(engine, run, [
        TargetOutcome("vk", "vk-src", "club1", "ok", None, 400, 0, True, None, None),
        TargetOutcome("vk", "vk-src", "club2", "ok", None, 100, 0, True, None, None),
        TargetOutcome("vk", "vk-src", "club3", "inaccessible", "closed community", 0, 0, False, None, None),
        TargetOutcome("telegram", "telegram-src", extra_target, "ok", None, 200, 0, True, None, None),
    ])  # fmt: skip
    finish_run(
        engine, run, status="ok", new=700, seen=0, flagged=43, requests=9,
        classifiers={"language": "py3langid@0.4.0", "lexicon": "lexicon@1.abc"},
    )  # fmt: skip


def config(tmp_path: Path) -> ProjectConfig:
    text = "project: synth\nstorage: {url: 'sqlite:///unused.db'}\n"
    return parse_config(text, tmp_path / "p.yaml")


def report(engine: Engine, tmp_path: Path, min_cell: int = 10, **kw: Any) -> str:
    out = tmp_path / "report"
    write_report(engine, config(tmp_path), out, min_cell=min_cell, **kw)
    return (out / "index.html").read_text(encoding="utf-8")


def html_only(engine: Engine, tmp_path: Path, min_cell: int = 10, **kw: Any) -> str:
    """The HTML alone, without drawing charts (a second each): for tests of its tables."""
    return render_html(gather(engine, config(tmp_path), min_cell=min_cell, **kw))


def charts_of(page: str) -> dict[str, bytes]:
    """The PNG charts embedded in a page, by their id."""
    return {
        name: base64.b64decode(data)
        for data, name in re.findall(
            r'<img src="data:image/png;base64,([^"]+)" alt="[^"]*" id="([^"]+)"', page
        )
    }


def test_report_is_one_file_with_legible_embedded_charts(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "topics.png").write_bytes(b"stale chart of an older version")
    page = report(engine, tmp_path)
    out = tmp_path / "report"
    assert [p.name for p in out.iterdir()] == ["index.html"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs and all(ref.startswith("data:image/png;base64,") for ref in refs)
    embedded = charts_of(page)
    assert len(embedded) == len(refs)
    assert {"rate_by_platform", "rate_by_language", "topics", "estimates", "coverage"} <= set(
        embedded
    )
    assert not re.search(r"https?://|<script|<link|@import|url\(", page)
    for name, png in embedded.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert width == 990 and 200 <= height <= 1400, (name, width, height)
    assert charts_of(report(engine, tmp_path)) == embedded  # the same data, the same bytes


def test_tables_match_storage_counts(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    t = tables(html_only(engine, tmp_path, min_cell=0))
    summary = {r[0]: (as_int(r[1]), as_int(r[2])) for r in t["Summary"][0][1:]}
    expected = {
        r["platform"]: (r["posts"], r["flagged"]) for r in count_posts(engine, ["platform"])
    }
    total = count_posts(engine, [])[0]
    assert summary == {**expected, "all platforms": (total["posts"], total["flagged"])}
    languages = {r[0]: (as_int(r[1]), as_int(r[2])) for r in t["Languages"][0][1:]}
    assert languages == {
        r["language"]: (r["posts"], r["flagged"]) for r in count_posts(engine, ["language"])
    }
    topics = {r[0]: as_int(r[1]) for r in t["Topics"][0][1:]}
    assert topics == {
        r["topic"]: r["flagged"] for r in count_posts(engine, ["topic"]) if r["topic"] != "(none)"
    }
    vk = next(r for r in t["Summary"][0] if r[0] == "vk")
    assert vk[3] == "8.00% (95% CI 5.93-10.71%)"  # Wilson(40, 500): 0.059298, 0.107106
    coverage = t["Coverage"]
    assert coverage[0][0] == ["platform", "ok", "inaccessible", "targets"]
    assert ["vk", "2", "1", "3"] in coverage[0]
    assert coverage[1][1][:5] == ["vk", "vk-src", "club3", "inaccessible", "closed community"]


def test_counts_below_the_threshold_are_suppressed_with_their_rates(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine)
    t = tables(html_only(engine, tmp_path, min_cell=10))
    summary = {r[0]: r for r in t["Summary"][0][1:]}
    assert summary["telegram"][1:4] == ["200", "<10", "suppressed"]
    # 43 flagged in all minus vk's 40 would give telegram's 3 back: vk's is hidden too.
    assert summary["vk"][2:4] == ["x", "suppressed"] and summary["all platforms"][2] == "43"
    languages = {r[0]: r for r in t["Languages"][0][1:]}
    assert languages["uz"][2] == "0"  # a zero discloses nothing and stays
    assert "<10" in {r[1] for r in t["Topics"][0][1:]}
    shown = tables(html_only(engine, tmp_path, min_cell=3))
    assert {r[0]: r for r in shown["Summary"][0][1:]}["telegram"][2] == "3"


def test_report_without_review_sample_says_so(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    page = html_only(engine, tmp_path)
    assert page.count("no review sample yet: run vemeter review sample") == 2
    assert "no review sample</td>" in page


def test_no_post_text_or_author_reaches_any_file(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    report(engine, tmp_path)
    for file in (tmp_path / "report").iterdir():
        data = file.read_bytes()
        assert TEXT.encode() not in data and AUTHOR.encode() not in data, file.name


def test_database_values_are_escaped(engine: Engine, tmp_path: Path) -> None:
    build(engine, extra_target="<b>chan</b>")
    page = html_only(engine, tmp_path, min_cell=0)
    assert "<b>chan</b>" not in page and "&lt;b&gt;chan&lt;/b&gt;" in page


def test_window_must_be_whole_days_and_output_a_folder(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    with pytest.raises(InputError, match="not midnight UTC"):
        report(engine, tmp_path, since=datetime(2025, 3, 5, 12, tzinfo=UTC))
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        write_report(engine, config(tmp_path), tmp_path / "file")


def _sample(engine: Engine, label: bool) -> int:
    from analysis.sampling import SampleRequest, draw

    until = T0.replace(hour=0) + timedelta(days=40)
    drawn = draw(
        engine,
        SampleRequest(size=120, since=T0.replace(hour=0), until=until, by=("platform",), seed=5),
        now=until + timedelta(days=30),
    )
    if label:
        with engine.begin() as conn:
            items = conn.execute(
                select(ReviewItem.id, ReviewItem.stratum).where(
                    ReviewItem.sample_id == drawn.sample_id
                )
            ).all()
            conn.execute(insert(ReviewLabel), [
                {"item_id": i, "reviewer": "r1", "topic": "*", "adjudication": False,
                 "label": "yes" if stratum == "flagged" and i % 2 else "no",
                 "created_at": datetime(2025, 6, 1)}
                for i, stratum in items
            ])  # fmt: skip
    return drawn.sample_id


def test_labelled_review_sample_gives_reviewed_estimates(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    sample = _sample(engine, label=True)
    since, until = T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=40)
    page = report(engine, tmp_path, since=since, until=until)
    assert "no review sample yet" not in page
    strata = reviewed_strata(engine, sample)
    expected = stratified_estimate(
        [StratumSample(f"{s.cell} {s.stratum}", s.size, s.reviewed, s.positives,
                       "flagged" if s.stratum == "flagged" else "unflagged") for s in strata],
        seed=5,
    )  # fmt: skip
    t = tables(page)
    assert next(r for r in t["Summary"][0] if r[0] == "all platforms")[4] == expected.published()
    status = {r[0]: r for r in t["Review status"][0][1:]}
    assert as_int(status["flagged"][3]) == sum(s.reviewed for s in strata if s.stratum == "flagged")
    assert "reviewed (stratified, design-based)" not in page  # chart legend text stays in the PNG
    assert "model-based" in page  # the per-week figures say what they are


def test_drawn_but_unlabelled_sample_says_what_to_do(engine: Engine, tmp_path: Path) -> None:
    build(engine)
    _sample(engine, label=False)
    page = html_only(engine, tmp_path)
    assert "but has no yes/no labels yet" in page
    assert "not this report&#x27;s period" in page  # the report covers every day, the sample 40


def test_empty_database_still_gives_a_page(engine: Engine, tmp_path: Path) -> None:
    page = report(engine, tmp_path)
    assert "there are no posts in this window" in page
    assert "No crawl or import runs are recorded." in page
    # every topic at 0: what was looked for, and found nowhere
    assert list(charts_of(page)) == ["topics"]


def test_small_bins_are_not_plotted_and_the_time_unit_can_be_chosen(
    engine: Engine, tmp_path: Path
) -> None:
    from analysis.counts import count_groups

    build(engine)
    weekly = gather(engine, config(tmp_path), min_cell=10, unit="week")
    assert weekly.bin_unit == "week"
    true = {(r["platform"], r["week"]): r for r in count_groups(engine, ("platform", "week"))}
    plotted = hidden = 0
    for series in weekly.by_platform:
        name = series.label.split(":")[0]
        for p in series.points:
            if p.is_gap:
                continue
            plotted += 1
            counts = true[(name, p.start.isoformat())]
            assert p.start.weekday() == 0  # weeks start on Monday
            assert counts["posts"] >= 10 and not 0 < counts["flagged"] < 10, counts
        hidden += len(series.hidden)
    assert plotted and hidden  # some weeks drawn, some left out (telegram's 1-3 flagged a week)
    monthly = gather(engine, config(tmp_path), min_cell=0, unit="month")
    assert {p.start.day for s in monthly.by_platform for p in s.points} == {1}
    with pytest.raises(InputError, match="not a time unit"):
        gather(engine, config(tmp_path), unit="fortnight")


def test_all_platforms_is_explained_where_it_differs_from_the_parts(
    engine: Engine, tmp_path: Path
) -> None:
    build(engine)
    _sample(engine, label=True)
    since, until = T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=40)
    page = html_only(engine, tmp_path, min_cell=10, since=since, until=until)
    # telegram's 3 flagged posts are hidden, so vk's 40 are too: neither is drawn.
    assert "“All platforms” is not an average of the platforms drawn" in page
    assert "includes the posts of telegram, vk" in page
