"""`vemeter forget`: one author's posts, tags and review items go; daily counts equal a recount
from the posts left; labelled review items are reported; the action is recorded without the
pseudonym."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from classifiers.post import PostClassifier
from crawler.items import PostItem
from storage.engine import utc_now
from storage.forget import forget_author, privacy_actions
from storage.models import Post, ReviewItem, ReviewLabel, ReviewSample, Tag
from storage.records import build_record
from storage.runs import start_run
from storage.writer import PostWriter
from tests.cli import vemeter
from tests.storage.test_reclassify import assert_counts_exact, write_lexicons

T0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
ALICE, BOB = "a" * 32, "b" * 32
POSTS = [  # (post id, day, author, text)
    ("p1", 0, ALICE, "The court heard a case about Zorbex Front membership today."),
    ("p2", 0, BOB, "A report on the Zorbex Front was published by the city library."),
    ("p3", 1, ALICE, "Tomorrow the weather will be sunny and warm across the valley."),
    ("p4", 1, BOB, "Tomorrow the weather will be sunny and warm across the valley again."),
    ("p5", 2, ALICE, "Another hearing about the Zorbex Front is planned for next week."),
    ("p6", 2, None, "Neighbours discussed the market at the square yesterday."),
]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> PostClassifier:
    lexicons = write_lexicons(
        tmp_path_factory.mktemp("lexicons") / "v1", {"designated_org": ["Zorbex Front"]}
    )
    return PostClassifier(lexicon_paths=lexicons)


def store(engine: Engine, classifier: PostClassifier) -> None:
    run = start_run(engine, project="p", config_hash="h", version="0",
                    classifiers=classifier.versions, heartbeat=False)  # fmt: skip
    items = [
        PostItem("vk", "s", "club1", pid, T0 + timedelta(days=day), text, author=author)
        for pid, day, author, text in POSTS
    ]
    results = classifier.classify_many([item.text for item in items])
    PostWriter(engine, run).write(
        [
            build_record(i, r, classifier.versions, "all")
            for i, r in zip(items, results, strict=True)
        ]
    )


def sample_with_labels(engine: Engine) -> int:
    """A review sample of every post; p1 (Alice) and p2 (Bob) labelled."""
    with engine.begin() as conn:
        sample = conn.execute(
            ReviewSample.__table__.insert().returning(ReviewSample.id),  # type: ignore[attr-defined]
            {"kind": "prevalence", "project": "p", "config_hash": "h", "created_at": utc_now(),
             "since": None, "until": utc_now(), "by_keys": "", "seed": 1, "size": 6,
             "design": {}},
        ).scalar_one()  # fmt: skip
        pks = dict(conn.execute(select(Post.post_id, Post.id)).all())
        for n, pid in enumerate(sorted(pks)):
            conn.execute(
                ReviewItem.__table__.insert(),  # type: ignore[attr-defined]
                {"sample_id": sample, "post_pk": pks[pid], "position": n + 1, "cell": "{}",
                 "stratum": "flagged", "stratum_size": 6, "stratum_views": None,
                 "inclusion_probability": 1.0, "draws": 1, "views": None,
                 "double_label": False, "settled": pid in ("p1", "p2")},
            )  # fmt: skip
        items = dict(
            conn.execute(
                select(Post.post_id, ReviewItem.id).join(Post, Post.id == ReviewItem.post_pk)
            ).all()
        )
        for pid in ("p1", "p2"):
            conn.execute(
                ReviewLabel.__table__.insert(),  # type: ignore[attr-defined]
                {"item_id": items[pid], "reviewer": "r1", "topic": "*", "label": "yes",
                 "note": None, "adjudication": False, "created_at": utc_now()},
            )  # fmt: skip
    return int(sample)


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_forgetting_an_author_removes_their_posts_and_keeps_counts_exact(
    engine: Engine, classifier: PostClassifier
) -> None:
    store(engine, classifier)
    sample = sample_with_labels(engine)
    assert_counts_exact(engine)
    tags_before = count(engine, Tag)
    plan = forget_author(engine, ALICE, now=utc_now(), dry_run=True)
    assert (plan.posts, plan.flagged, plan.review_items, plan.labelled_items) == (3, 2, 3, 1)
    assert count(engine, Post) == 6  # a dry run changes nothing

    done = forget_author(engine, ALICE, now=utc_now())

    assert (done.posts, done.flagged, done.review_items, done.labelled_items, done.labels) == (
        3, 2, 3, 1, 1,
    )  # fmt: skip
    assert done.samples == {sample: {"items": 3, "labelled": 1}}
    with engine.connect() as conn:
        left = sorted(conn.execute(select(Post.post_id)).scalars())
        assert conn.scalar(select(func.count()).where(Post.author == ALICE)) == 0
        assert conn.scalar(select(func.count()).select_from(ReviewLabel)) == 1  # Bob's
    assert left == ["p2", "p4", "p6"]
    assert count(engine, Tag) == tags_before - done.tags and done.tags > 0
    assert count(engine, ReviewItem) == 3
    assert_counts_exact(engine)  # every grouping of stats: daily counts = a recount from posts
    (action,) = privacy_actions(engine)
    assert (action.action, action.posts) == ("forget-author", 3)
    assert ALICE not in json.dumps(action.detail)
    assert forget_author(engine, ALICE, now=utc_now()).posts == 0


def test_the_command_asks_first_and_says_what_it_removed(
    tmp_path: Path, classifier: PostClassifier
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    from storage.engine import open_database

    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    store(engine, classifier)
    engine.dispose()
    refused = vemeter("forget", str(config), "--author", ALICE)
    assert refused.returncode != 0
    assert "this removes 3 post(s) (2 flagged)" in refused.stderr and "--yes" in refused.stderr
    bad = vemeter("forget", str(config), "--author", "alice")
    assert bad.returncode != 0 and "32 hex digits" in bad.stderr
    done = vemeter("forget", str(config), "--author", ALICE.upper(), "--yes")
    assert done.returncode == 0, done.stderr
    assert "Removed 3 post(s) (2 flagged)" in done.stderr
    again = vemeter("forget", str(config), "--author", ALICE, "--yes")
    assert again.returncode == 0 and "nothing to remove" in again.stderr


def test_the_service_applies_retention_once_a_day(
    tmp_path: Path, classifier: PostClassifier
) -> None:
    from crawler.config import load_config
    from crawler.service import Service
    from storage.engine import open_database
    from tests.crawler.test_schedule import Crawls, FakeClock

    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\nprivacy: {text_retention_days: 30}\n",
        encoding="utf-8",
    )
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    store(engine, classifier)  # collected now, text kept ("all")

    def with_text() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).where(Post.text.is_not(None))) or 0)

    assert with_text() == 6
    clock = FakeClock(utc_now() + timedelta(days=20))
    svc = Service(load_config(config), clock=clock, spawn=Crawls(), say=lambda _line: None)
    svc.step()
    assert with_text() == 6  # 20 days old: kept
    clock.advance(timedelta(days=11))
    svc.step()
    assert with_text() == 0  # 31 days old: erased by the service itself, no crawl ran
    svc.engine.dispose()
    engine.dispose()
