"""Review samples: strata, allocation, inclusion probabilities, reproducibility, closed periods."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from analysis.sampling import SampleRequest, draw
from crawler.errors import InputError
from storage.engine import open_database
from storage.models import CrawlRun, Post, ReviewItem, ReviewSample
from storage.records import PostRecord, TagRecord
from storage.runs import finish_run, start_run
from storage.writer import PostWriter

T0 = datetime(2025, 3, 1, tzinfo=UTC)
UNTIL = datetime(2025, 4, 1, tzinfo=UTC)


def post(
    i: int,
    *,
    flagged: bool = False,
    platform: str = "vk",
    tags: tuple[TagRecord, ...] = (),
    views: int | None = None,
    day: int = 0,
) -> PostRecord:
    return PostRecord(
        platform=platform, source="s", target="t", post_id=f"p{i}",
        published_at=T0 + timedelta(days=day, minutes=i), language="ru", script="Cyrl",
        language_probability=0.9, flagged=flagged, has_text=True, text=f"synthetic post {i}",
        views=views, tags=list(tags),
    )  # fmt: skip


SIGNAL = TagRecord("signal", "national_only_org", 1.0, "lexicon", "1")


def score(value: float) -> TagRecord:
    return TagRecord("score", "designated_org", value, "model", "1")


def store(engine: Engine, records: list[PostRecord]) -> None:
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    PostWriter(engine, run).write(records)
    finish_run(engine, run, status="ok", new=len(records), seen=0, flagged=0, requests=0)


def population(engine: Engine) -> None:
    """20 flagged, 30 borderline (10 signals, 20 scores ≥ 0.2), 250 low (incl. scores < 0.2)."""
    records = [post(i, flagged=True) for i in range(20)]
    records += [post(i, tags=(SIGNAL,)) for i in range(20, 30)]
    records += [post(i, tags=(score(0.2 + (i % 5) / 10),)) for i in range(30, 50)]
    records += [post(i, tags=(score(0.05),)) for i in range(50, 80)]
    records += [post(i) for i in range(80, 300)]
    store(engine, records)


def expected_stratum(i: int) -> str:
    return "flagged" if i < 20 else "borderline" if i < 50 else "low"


def items(engine: Engine, sample_id: int) -> list[tuple[str, str, int, float, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Post.post_id, ReviewItem.stratum, ReviewItem.stratum_size,
                ReviewItem.inclusion_probability, ReviewItem.cell,
            )
            .join(Post, Post.id == ReviewItem.post_pk)
            .where(ReviewItem.sample_id == sample_id)
        ).all()  # fmt: skip
    return [(r[0], r[1], int(r[2]), float(r[3]), r[4]) for r in rows]


def test_three_strata_drawn_as_allocated_with_inclusion_probabilities(engine: Engine) -> None:
    population(engine)
    drawn = draw(engine, SampleRequest(size=60, until=UNTIL, seed=7))
    by_stratum = {s.stratum: s for s in drawn.strata}
    assert {k: v.size for k, v in by_stratum.items()} == {
        "flagged": 20,
        "borderline": 30,
        "low": 250,
    }
    assert sum(s.allocated for s in drawn.strata) == 60 == drawn.items
    # The floor keeps every stratum reviewed (15% of 60 with three strata), however rare.
    assert all(s.drawn == s.allocated >= 9 for s in drawn.strata)
    got = items(engine, drawn.sample_id)
    assert len({post_id for post_id, *_ in got}) == 60
    for post_id, stratum, size, probability, cell in got:
        assert stratum == expected_stratum(int(post_id[1:]))
        assert size == by_stratum[stratum].size
        assert probability == pytest.approx(by_stratum[stratum].allocated / size)
        assert cell == "{}"
    with engine.connect() as conn:
        sample = conn.execute(select(ReviewSample)).one()._mapping
    assert sample["seed"] == 7 and sample["kind"] == "prevalence"
    design = sample["design"]
    assert [s["stratum"] for s in design["strata"]] == ["flagged", "borderline", "low"]
    assert design["floor"] == 9 and set(design["planning"]) == {"flagged", "borderline", "low"}


def test_planning_values_from_the_config_move_the_allocation(engine: Engine) -> None:
    population(engine)
    default = draw(engine, SampleRequest(size=60, until=UNTIL, seed=7))
    planned = draw(engine, SampleRequest(size=60, until=UNTIL, seed=7, planning={"low": 0.2}))
    low = {
        d.sample_id: s.allocated for d in (default, planned) for s in d.strata if s.stratum == "low"
    }
    assert low[planned.sample_id] > low[default.sample_id]
    with engine.connect() as conn:
        design = conn.execute(
            select(ReviewSample.design).where(ReviewSample.id == planned.sample_id)
        ).scalar_one()
    assert design["planning"]["low"] == 0.2


def test_same_seed_same_items_other_seed_other_items(engine: Engine) -> None:
    population(engine)
    first = {
        p
        for p, *_ in items(
            engine, draw(engine, SampleRequest(size=40, until=UNTIL, seed=3)).sample_id
        )
    }
    again = {
        p
        for p, *_ in items(
            engine, draw(engine, SampleRequest(size=40, until=UNTIL, seed=3)).sample_id
        )
    }
    other = {
        p
        for p, *_ in items(
            engine, draw(engine, SampleRequest(size=40, until=UNTIL, seed=4)).sample_id
        )
    }
    assert first == again
    assert first != other


def test_without_scores_or_signals_there_are_two_strata(engine: Engine) -> None:
    store(engine, [post(i, flagged=i < 5) for i in range(100)])
    drawn = draw(engine, SampleRequest(size=20, until=UNTIL, seed=1))
    assert [(s.stratum, s.size) for s in drawn.strata] == [("flagged", 5), ("low", 95)]
    # Two strata: the floor is 20% of the budget, and a stratum never gets more than it holds.
    assert {s.stratum: s.drawn for s in drawn.strata}["flagged"] == 5


def test_cells_by_platform_and_period_bounds(engine: Engine) -> None:
    records = [post(i, platform="vk", flagged=i % 10 == 0) for i in range(60)]
    records += [post(i, platform="ok", flagged=i % 10 == 0) for i in range(60, 100)]
    records += [post(i, platform="ok", day=40) for i in range(100, 110)]  # after --until
    store(engine, records)
    drawn = draw(engine, SampleRequest(size=40, until=UNTIL, by=("platform",), seed=2))
    assert [(s.cell, s.stratum, s.size) for s in drawn.strata] == [
        ({"platform": "ok"}, "flagged", 4),
        ({"platform": "ok"}, "low", 36),
        ({"platform": "vk"}, "flagged", 6),
        ({"platform": "vk"}, "low", 54),
    ]
    for post_id, _, _, _, cell in items(engine, drawn.sample_id):
        i = int(post_id[1:])
        assert i < 100
        assert json.loads(cell) == {"platform": "vk" if i < 60 else "ok"}
    since = draw(
        engine, SampleRequest(size=5, since=T0 + timedelta(minutes=90), until=UNTIL, seed=2)
    )
    assert sum(s.size for s in since.strata) == 10  # posts 90..99 only


def test_an_open_period_is_refused(engine: Engine) -> None:
    store(engine, [post(i) for i in range(10)])
    future = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(InputError, match="in the future"):
        draw(engine, SampleRequest(size=5, until=future))
    with engine.begin() as conn:
        conn.execute(update(CrawlRun).values(finished_at=datetime(2025, 3, 20)))
    with pytest.raises(
        InputError, match="may still be missing posts: the last one ended 2025-03-20"
    ):
        draw(engine, SampleRequest(size=5, until=UNTIL))
    with engine.connect() as conn:
        assert conn.execute(select(ReviewSample.id)).first() is None


def test_bad_requests_say_what_to_change(engine: Engine) -> None:
    store(engine, [post(i, flagged=i < 3, tags=(SIGNAL,) if i == 5 else ()) for i in range(10)])
    with pytest.raises(InputError, match="smaller than the 3 design strata"):
        draw(engine, SampleRequest(size=2, until=UNTIL))
    with pytest.raises(InputError, match="no posts were published"):
        draw(engine, SampleRequest(size=5, until=T0))
    with pytest.raises(InputError, match="cannot sample by day"):
        draw(engine, SampleRequest(size=5, until=UNTIL, by=("day",)))


def test_a_budget_above_the_population_reviews_every_post(engine: Engine) -> None:
    store(engine, [post(i, flagged=i < 4) for i in range(30)])
    drawn = draw(engine, SampleRequest(size=100, until=UNTIL, seed=5))
    assert drawn.items == 30
    assert {p for _, _, _, p, _ in items(engine, drawn.sample_id)} == {1.0}


def test_view_sample_draws_by_views_and_counts_repeats(engine: Engine) -> None:
    records = [post(i, flagged=i < 10, views=10_000 if i in (0, 50) else 1) for i in range(100)]
    records += [post(i, views=None) for i in range(100, 110)]
    store(engine, records)
    drawn = draw(engine, SampleRequest(size=30, until=UNTIL, kind="views", seed=11))
    views = {s.stratum: s.views for s in drawn.strata}
    assert views == {"flagged": 10_009, "low": 10_089}
    with engine.connect() as conn:
        rows = conn.execute(
            select(Post.post_id, ReviewItem.draws, ReviewItem.views, ReviewItem.stratum_views).join(
                Post, Post.id == ReviewItem.post_pk
            )
        ).all()
    draws = {r[0]: int(r[1]) for r in rows}
    assert sum(draws.values()) == 30
    allocated = {s.stratum: s.allocated for s in drawn.strata}
    # Nearly all views in each stratum are on one post, so nearly every draw lands on it.
    assert draws["p0"] >= 0.8 * allocated["flagged"] and draws["p50"] >= 0.8 * allocated["low"]
    assert not any(int(p[1:]) >= 100 for p in draws)  # posts without views are never drawn
    assert {r[3] for r in rows} <= {10_009, 10_089}
    assert Counter(r[2] for r in rows)[10_000] == 2


def test_the_same_seed_draws_the_same_posts_whatever_the_storage_order(tmp_path: Path) -> None:
    """Parallel writers store posts in any order; the sample must depend on the posts only."""
    drawn: list[list[str]] = []
    for order in (range(60), reversed(range(60))):
        engine = open_database(f"sqlite:///{tmp_path / f'order{len(drawn)}.db'}")
        run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
        PostWriter(engine, run).write([
            PostRecord("vk", "s", "t", f"p{i:02d}", datetime(2025, 3, 1, tzinfo=UTC), "ru", "Cyrl", 0.9, i < 10, True)
            for i in order
        ])  # fmt: skip
        finish_run(engine, run, status="ok", new=60, seen=0, flagged=10, requests=0)
        request = SampleRequest(size=12, until=datetime(2025, 4, 1, tzinfo=UTC), seed=5)
        draw(engine, request)
        with engine.connect() as conn:
            drawn.append(sorted(conn.execute(
                select(Post.post_id).join(ReviewItem, ReviewItem.post_pk == Post.id)
            ).scalars()))  # fmt: skip
        engine.dispose()
    assert drawn[0] == drawn[1] and len(drawn[0]) == 12
