"""The project's choice of lists changes what counts, by each post's date, and a re-tag follows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from classifiers.post import PostClassifier
from crawler.items import PostItem
from storage.models import Post, Tag
from storage.reclassify import reclassify
from storage.records import build_record
from storage.runs import start_run
from storage.stats import count_posts
from storage.writer import PostWriter

# (post id, date, text): Taliban before and after the Kyrgyz delisting (Sept 2024), HTS before
# and after the US revocation (8 July 2025).
POSTS = [
    ("t1", datetime(2023, 6, 1, tzinfo=UTC), "A Taliban delegation arrived for the talks."),
    ("t2", datetime(2024, 10, 1, tzinfo=UTC), "A Taliban delegation arrived for the talks."),
    ("h1", datetime(2025, 6, 1, tzinfo=UTC), "Hayat Tahrir al-Sham fighters entered the town."),
    ("h2", datetime(2025, 8, 1, tzinfo=UTC), "Hayat Tahrir al-Sham fighters entered the town."),
]


@pytest.fixture(scope="module")
def by_choice() -> dict[str, PostClassifier]:
    return {
        "us": PostClassifier(designations=["us"]),
        "kg": PostClassifier(designations=["kg"]),
    }


def store(engine: Engine, classifier: PostClassifier) -> None:
    run = start_run(
        engine, project="p", config_hash="h", version="0", classifiers=classifier.versions
    )
    items = [PostItem("vk", "s", "club1", pid, when, text) for pid, when, text in POSTS]
    results = classifier.classify_many([item.text for item in items])
    records = [
        build_record(
            item, result, classifier.versions, "all",
            designated=classifier.designations.lists,
        )
        for item, result in zip(items, results, strict=True)
    ]  # fmt: skip
    PostWriter(engine, run).write(records)


def flagged_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(Post.post_id).where(Post.flagged.is_(True))))


def flagged_total(engine: Engine) -> int:
    return int(count_posts(engine, [])[0]["flagged"])


def test_the_us_list_counts_hts_until_its_revocation_and_never_the_taliban(
    engine: Engine, by_choice: dict[str, PostClassifier]
) -> None:
    store(engine, by_choice["us"])
    assert flagged_ids(engine) == {"h1"}
    assert flagged_total(engine) == 1
    with engine.connect() as conn:
        signals = set(
            conn.execute(
                select(Post.post_id)
                .join(Tag, Tag.post_pk == Post.id)
                .where(Tag.kind == "signal", Tag.label == "national_only_org")
            ).scalars()
        )
        evidence = conn.scalars(
            select(Tag.evidence)
            .join(Post, Post.id == Tag.post_pk)
            .where(Post.post_id == "h1", Tag.kind == "topic")
        ).one()
    # Named, but on no chosen list that day: kept for review as a signal, not counted.
    assert signals == {"t1", "t2", "h2"}
    assert evidence[0]["lists"] == ["us"]


def test_the_kyrgyz_list_counts_the_taliban_until_september_2024_and_hts_throughout(
    engine: Engine, by_choice: dict[str, PostClassifier]
) -> None:
    store(engine, by_choice["kg"])
    assert flagged_ids(engine) == {"t1", "h1", "h2"}
    assert flagged_total(engine) == 3


def test_changing_the_choice_and_reclassifying_moves_the_counts(
    engine: Engine, by_choice: dict[str, PostClassifier]
) -> None:
    store(engine, by_choice["us"])
    assert by_choice["us"].versions["lexicon"] != by_choice["kg"].versions["lexicon"]
    result = reclassify(engine, by_choice["kg"], project="p", config_hash="h2")
    assert result.retagged == 4
    assert flagged_ids(engine) == {"t1", "h1", "h2"}
    assert flagged_total(engine) == 3  # daily counts moved with the tags
