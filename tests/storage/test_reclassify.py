"""Re-tagging stored posts: new versions' tags beside the old ones, and counts that stay exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from classifiers.post import PostClassifier
from crawler.items import PostItem
from storage.models import CrawlRun, DailyCount, Post, Tag
from storage.reclassify import reclassify
from storage.records import build_record
from storage.runs import get_run, start_run
from storage.stats import GROUP_KEYS, _from_daily_counts, _from_posts
from storage.writer import PostWriter

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
# Fictional organisation and fund names: v2 drops "Quillon Group" and adds a financing term.
V1 = {"designated_org": ["Zorbex Front", "Quillon Group"]}
V2 = {"designated_org": ["Zorbex Front"], "financing": ["Kelmar fund"]}
POSTS = [  # (post id, day, text, keep text)
    ("p1", 0, "The court heard a case about Zorbex Front membership today.", True),
    ("p2", 0, "A report on the Quillon Group was published by the city library.", True),
    ("p3", 1, "Neighbours discussed the Kelmar fund at the market yesterday.", True),
    ("p4", 1, "Tomorrow the weather will be sunny and warm across the valley.", True),
    ("p5", 2, "Another hearing about the Quillon Group is planned for next week.", False),
    ("p6", 2, "Ертең қалада ауа райы жылы болады, жаңбыр күтілмейді.", True),
]
GROUPINGS = [[], ["topic"], ["language"], ["day", "topic"], list(GROUP_KEYS)]


def write_lexicons(directory: Path, lexicons: dict[str, list[str]]) -> list[Path]:
    directory.mkdir()
    for topic, terms in lexicons.items():
        lines = [f"topic: {topic}", "family: test_names", "source: synthetic test names"]
        if topic == "designated_org":
            lines.append("layer: un_listed")
        lines.append("terms:")
        lines += [f'  - {{term: "{term}", lang: [en], mode: word}}' for term in terms]
        (directory / f"{topic}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [directory]


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PostClassifier]:
    base = tmp_path_factory.mktemp("lexicons")
    v1 = write_lexicons(base / "v1", V1)
    v2 = write_lexicons(base / "v2", V2)
    return {
        "v1": PostClassifier(lexicon_paths=v1),
        "v2": PostClassifier(lexicon_paths=v2),
        # Without kk (and its confusers) the Kazakh post must go to another language.
        "v2-ru-en": PostClassifier(lexicon_paths=v2, languages=["ru", "en"]),
    }


def store(engine: Engine, classifier: PostClassifier) -> None:
    run = start_run(
        engine, project="p", config_hash="h", version="0", classifiers=classifier.versions
    )
    items = [
        PostItem("vk", "s" if i < 4 else "t", "club1", pid, T0 + timedelta(days=day), text)
        for i, (pid, day, text, _) in enumerate(POSTS)
    ]
    results = classifier.classify_many([item.text for item in items])
    records = [
        build_record(item, found, classifier.versions, "all" if keep else "none")
        for item, found, (*_, keep) in zip(items, results, POSTS, strict=True)
    ]
    PostWriter(engine, run).write(records)


def run(engine: Engine, classifier: PostClassifier, **window: Any) -> Any:
    return reclassify(engine, classifier, project="p", config_hash="h2", batch_size=4, **window)


def tags(engine: Engine, post_id: str) -> set[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Tag.kind, Tag.label, Tag.version)
            .join(Post, Post.id == Tag.post_pk)
            .where(Post.post_id == post_id)
        ).all()
    return {(kind, label, version) for kind, label, version in rows}


def assert_counts_exact(engine: Engine) -> None:
    """daily_counts (what `vemeter stats` reads) agrees with counting the posts and tags."""
    for by in GROUPINGS:
        assert _from_daily_counts(engine, by, None, None) == _from_posts(engine, by, None, None)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(DailyCount.posts <= 0)) == 0


def by_topic(engine: Engine) -> dict[str, tuple[int, int]]:
    return {
        r["topic"]: (r["posts"], r["flagged"])
        for r in _from_daily_counts(engine, ["topic"], None, None)
    }


def test_new_lexicon_version_retags_keeps_old_tags_and_moves_counts(
    engine: Engine, classifiers: dict[str, PostClassifier]
) -> None:
    v1, v2 = classifiers["v1"], classifiers["v2"]
    old, new = (c.versions["lexicon"].split("@")[1] for c in (v1, v2))
    store(engine, v1)
    assert by_topic(engine) == {"designated_org": (3, 3), "(none)": (3, 0)}

    result = run(engine, v2)

    assert (result.checked, result.no_text, result.retagged, result.moved) == (5, 1, 3, 2)
    assert result.superseded == {f"lexicon@{old}": 2}
    # p1: the same topic under both versions; p2: only the old version found it.
    assert tags(engine, "p1") == {
        ("topic:old", "designated_org", old),
        ("topic", "designated_org", new),
    }
    assert tags(engine, "p2") == {("topic:old", "designated_org", old)}
    assert tags(engine, "p3") == {("topic", "financing", new)}
    assert tags(engine, "p5") == {("topic", "designated_org", old)}  # text not stored: kept
    with engine.connect() as conn:
        flagged = {pid: f for pid, f in conn.execute(select(Post.post_id, Post.flagged))}
    assert flagged == {"p1": True, "p2": False, "p3": True, "p4": False, "p5": True, "p6": False}
    assert by_topic(engine) == {"designated_org": (2, 2), "financing": (1, 1), "(none)": (3, 0)}
    assert_counts_exact(engine)
    record = get_run(engine, result.run_id)
    assert record is not None
    assert record.classifiers == v2.versions
    assert record.status == "ok" and record.posts_seen == 5
    assert "kept the old tags of 1 posts whose text is not stored" in (record.message or "")
    assert result.before[("topic", "designated_org")] == 2
    assert result.after[("topic", "financing")] == 1


def test_reclassifying_again_or_back_and_forth_changes_nothing_twice(
    engine: Engine, classifiers: dict[str, PostClassifier]
) -> None:
    store(engine, classifiers["v1"])
    run(engine, classifiers["v2"])
    with engine.connect() as conn:
        after_first = conn.execute(select(Tag.post_pk, Tag.kind, Tag.label, Tag.version)).all()
    again = run(engine, classifiers["v2"])
    assert (again.retagged, again.moved) == (0, 0)
    # Back to v1 and forward again: earlier rows are reused, never duplicated.
    back = run(engine, classifiers["v1"])
    assert back.moved == 2
    assert_counts_exact(engine)
    run(engine, classifiers["v2"])
    with engine.connect() as conn:
        final = conn.execute(select(Tag.post_pk, Tag.kind, Tag.label, Tag.version)).all()
    current = {t for t in after_first if not t[1].endswith(":old")}
    assert {t for t in final if not t[1].endswith(":old")} == current
    # What is old now: what was old before, plus v2's tags from while v1 was back (p5 has
    # no stored text, so its v1 tag stayed current throughout).
    v2 = classifiers["v2"].versions["lexicon"].split("@")[1]
    assert {t for t in final if t[1].endswith(":old")} == {
        t for t in after_first if t[1].endswith(":old")
    } | {
        (pk, kind + ":old", label, version) for pk, kind, label, version in current if version == v2
    }
    assert_counts_exact(engine)


def test_language_classifier_change_moves_posts_between_languages(
    engine: Engine, classifiers: dict[str, PostClassifier]
) -> None:
    store(engine, classifiers["v2"])
    before = {
        r["language"]: r["posts"] for r in _from_daily_counts(engine, ["language"], None, None)
    }
    assert before == {"en": 5, "kk": 1}
    old_version = classifiers["v2"].versions["language"].split("@")[1]

    result = run(engine, classifiers["v2-ru-en"])

    assert result.moved == 1  # only the Kazakh post changes language
    assert result.retagged == 5  # every post with text gets the new language result
    with engine.connect() as conn:
        kazakh = conn.execute(select(Post).where(Post.post_id == "p6")).one()
    assert kazakh.language == "ru"
    assert kazakh.language_classifier == classifiers["v2-ru-en"].versions["language"]
    assert ("language:old", "kk", old_version) in tags(engine, "p6")
    after = {
        r["language"]: r["posts"] for r in _from_daily_counts(engine, ["language"], None, None)
    }
    assert after == {"en": 5, "ru": 1}
    assert_counts_exact(engine)


def test_window_and_source_limit_what_is_retagged(
    engine: Engine, classifiers: dict[str, PostClassifier]
) -> None:
    store(engine, classifiers["v1"])
    old = classifiers["v1"].versions["lexicon"].split("@")[1]
    result = run(engine, classifiers["v2"], since=T0 + timedelta(days=1), source="s")
    assert (result.checked, result.no_text) == (2, 0)  # p3, p4 (p5, p6 are source t)
    assert tags(engine, "p2") == {("topic", "designated_org", old)}  # outside the window
    assert tags(engine, "p3") != set()
    assert_counts_exact(engine)


def test_nothing_stored_in_the_window_records_no_run(
    engine: Engine, classifiers: dict[str, PostClassifier]
) -> None:
    store(engine, classifiers["v1"])
    result = run(engine, classifiers["v2"], source="no-such-source")
    assert result.run_id == 0 and result.checked == 0
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CrawlRun)) == 1
