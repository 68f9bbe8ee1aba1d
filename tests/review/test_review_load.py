"""The load benchmark's reviewers at small scale, and what keeps the queue fast at large scale:
items marked filled once their K reviewers labelled them, and the queue page's counts."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, insert, select, update

from review.auth import User
from review.queue import claim_next, queue_status, reviewers_of, skip, submit
from storage.engine import SCHEMA_HEAD, current_revision, upgrade
from storage.models import ReviewItem, ReviewLabel, ReviewSkip
from tests.review.conftest import Clock, make_sample

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("review_load")


def test_reviewers_at_once_leave_no_item_over_k_no_duplicate_and_no_orphaned_lease(
    bench: ModuleType, tmp_path: Path
) -> None:
    # 3 reviewers ask for more labels than 40 items have slots (K=2 for about half): the
    # queue runs dry under contention, and every item must end with exactly its K reviewers.
    result = bench.measure("sqlite", tmp_path, items=40, reviewers=3, labels=40, double_share=0.5)
    checks, load = result.checks, result.load
    assert load.errors == []
    assert checks.ok, checks
    assert (checks.over_k, checks.duplicate_labels, checks.orphaned_leases) == (0, 0, 0)
    assert checks.short_of_k == 0  # the queue ran dry: every item has its K reviewers
    assert load.held == {}  # nobody holds a lease when nothing is left
    assert len(load.timings[bench.NEXT]) == len(load.timings[bench.SUBMIT]) == load.labelled
    assert 40 < load.labelled < 80  # some items are double, none triple


def test_the_checks_see_an_item_over_k_a_label_without_lease_and_an_orphaned_lease(
    bench: ModuleType, engine: Engine, users: dict[str, User], clock: Clock
) -> None:
    sample = make_sample(engine, ["synthetic a", "synthetic b"])
    first = claim_next(engine, users["ann"], sample.sample_id, clock())
    assert first == sample.items[0]
    submit(engine, users["ann"], first, {"*": "no"}, None, clock())
    claim_next(engine, users["bob"], sample.sample_id, clock())  # sample.items[1], not told
    load = bench.Load(labelled=1)
    checks = bench.check(engine, sample.sample_id, load, clock())
    assert checks.orphaned_leases == 1 and checks.over_k == 0 and not checks.ok
    load.held["bob"] = sample.items[1]
    assert bench.check(engine, sample.sample_id, load, clock()).ok
    # A second reviewer's label on a K=1 item, bypassing the queue: over K, without a lease.
    with engine.begin() as conn:
        conn.execute(
            insert(ReviewLabel).values(
                item_id=first, reviewer="cat", topic="*", label="yes", note=None,
                adjudication=False, created_at=clock(),
            )
        )  # fmt: skip
    checks = bench.check(engine, sample.sample_id, load, clock())
    assert checks.over_k == 1 and checks.labels_without_lease == 1 and checks.lost_labels == 1


def test_an_item_is_filled_once_its_k_reviewers_labelled_it_and_claims_pass_over_it(
    engine: Engine, users: dict[str, User], clock: Clock
) -> None:
    sample = make_sample(engine, [f"synthetic {i}" for i in range(3)], double=frozenset({0}))
    double, single, spare = sample.items

    def filled() -> set[int]:
        with engine.connect() as conn:
            return set(conn.execute(select(ReviewItem.id).where(ReviewItem.filled)).scalars())

    assert claim_next(engine, users["ann"], sample.sample_id, clock()) == double
    submit(engine, users["ann"], double, {"*": "no"}, None, clock())
    assert filled() == set()  # one of two reviewers
    assert claim_next(engine, users["bob"], sample.sample_id, clock()) == double
    submit(engine, users["bob"], double, {"*": "yes"}, None, clock())
    assert filled() == {double}
    # The mark is what a claim walks by: an item marked (as if labelled) is never offered.
    with engine.begin() as conn:
        conn.execute(update(ReviewItem).where(ReviewItem.id == single).values(filled=True))
    assert claim_next(engine, users["cat"], sample.sample_id, clock()) == spare


def test_queue_page_counts_exactly_the_items_a_claim_could_take(
    engine: Engine, users: dict[str, User], clock: Clock
) -> None:
    sample = make_sample(engine, [f"synthetic {i}" for i in range(8)], double=frozenset({1, 2, 5}))
    ann, bob, cat = users["ann"], users["bob"], users["cat"]
    sid = sample.sample_id
    # ann labels 0 (K=1) and 1 (K=2); bob takes 1's other slot and labels it; cat skips 2 and
    # holds 3; bob's lease on 2 (K=2) runs out and ann holds 2 now.
    for user in (ann, ann):
        item = claim_next(engine, user, sid, clock())
        assert item is not None
        submit(engine, user, item, {"*": "no"}, None, clock())
    item = claim_next(engine, bob, sid, clock())
    assert item == sample.items[1]
    submit(engine, bob, item, {"*": "no"}, None, clock())
    assert claim_next(engine, cat, sid, clock()) == sample.items[2]
    skip(engine, cat, sample.items[2], clock())
    assert claim_next(engine, cat, sid, clock()) == sample.items[3]
    assert claim_next(engine, bob, sid, clock() - timedelta(hours=1)) == sample.items[2]
    assert claim_next(engine, ann, sid, clock()) == sample.items[2]

    def could_take(user: User) -> int:
        with engine.connect() as conn:
            skipped = set(
                conn.execute(select(ReviewSkip.item_id).where(ReviewSkip.user_id == user.id))
                .scalars()
            )  # fmt: skip
            n = 0
            for item_id in sample.items:
                holders = reviewers_of(conn, item_id, clock())
                k = 2 if item_id in sample.double else 1
                n += user.name not in holders and item_id not in skipped and len(holders) < k
        return n

    for user in (ann, bob, cat):
        status = queue_status(engine, user, sid, clock())
        assert status.items == 8
        assert status.waiting_for_me == could_take(user), user.name
    assert queue_status(engine, ann, sid, clock()).labelled_by_me == 2
    assert queue_status(engine, cat, sid, clock()).leased_to_me == sample.items[3]


def test_migration_0013_marks_the_items_labelled_before_it(
    engine: Engine, users: dict[str, User], clock: Clock
) -> None:
    from alembic import command

    from storage.engine import _alembic_config

    sample = make_sample(engine, ["synthetic a", "synthetic b", "synthetic c"],
                         double=frozenset({1}))  # fmt: skip
    for user in (users["ann"], users["bob"], users["ann"]):
        item = claim_next(engine, user, sample.sample_id, clock())
        assert item is not None
        submit(engine, user, item, {"*": "no"}, None, clock())
    # ann: items 0 and 1, bob: item 1; item 2 unlabelled.
    with engine.begin() as conn:
        cfg = _alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    assert current_revision(engine) == "0012"
    assert upgrade(engine) == ("0012", SCHEMA_HEAD)
    with engine.connect() as conn:
        marked = {
            int(i): bool(f) for i, f in conn.execute(select(ReviewItem.id, ReviewItem.filled))
        }
    assert marked == {sample.items[0]: True, sample.items[1]: True, sample.items[2]: False}
