"""Review labels: sheets checked row by row, resolution with adjudication, counts, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from analysis.sampling import SampleRequest, draw
from crawler.errors import InputError
from storage.models import Post, ReviewItem, ReviewLabel
from storage.retention import erase_old_text
from storage.review import (
    DISPUTED,
    agreement_units,
    export_rows,
    resolve,
    resolved_items,
    reviewed_strata,
    sample_info,
)
from storage.review_labels import LabelRow, read_labels, store_labels
from tests.analysis.test_sampling import UNTIL, post, store


def sampled(engine: Engine) -> tuple[int, dict[str, list[int]]]:
    """A census of 4 flagged and 6 low posts (size > population): item ids per stratum."""
    store(engine, [post(i, flagged=i < 4) for i in range(10)])
    sample_id = draw(engine, SampleRequest(size=50, until=UNTIL, seed=1)).sample_id
    ids: dict[str, list[int]] = {"flagged": [], "low": []}
    for item in resolved_items(engine, sample_id):
        ids[item.stratum].append(item.item_id)
    return sample_id, {k: sorted(v) for k, v in ids.items()}


def label(item: int, reviewer: str, value: str, topic: str = "*") -> LabelRow:
    return LabelRow(0, item, reviewer, value, topic)


def test_resolution_adjudication_wins_else_unanimous_else_disputed() -> None:
    assert resolve([]) is None
    assert resolve([("yes", False), ("yes", False)]) == "yes"
    assert resolve([("unsure", False)]) == "unsure"
    assert resolve([("yes", False), ("no", False)]) == DISPUTED
    assert resolve([("yes", False), ("no", False), ("no", True)]) == "no"
    assert resolve([("no", True), ("yes", True), ("no", False)]) == "yes"  # the latest decision


def test_counts_per_stratum_follow_resolved_labels(engine: Engine) -> None:
    sample_id, ids = sampled(engine)
    f, low = ids["flagged"], ids["low"]
    store_labels(engine, [
        label(f[0], "ann", "yes"), label(f[0], "bob", "yes"),
        label(f[1], "ann", "yes"), label(f[1], "bob", "no"),  # disputed
        label(f[2], "ann", "no"),
        label(f[3], "ann", "unsure"),
        label(low[0], "ann", "yes"), label(low[1], "ann", "no"), label(low[2], "ann", "no"),
        label(low[3], "ann", "no", topic="recruitment"),  # another topic: not the overall label
    ])  # fmt: skip
    strata = {s.stratum: s for s in reviewed_strata(engine, sample_id)}
    flagged, rest = strata["flagged"], strata["low"]
    assert (flagged.size, flagged.sampled, flagged.reviewed, flagged.positives) == (4, 4, 2, 1)
    assert (flagged.unsure, flagged.disputed, flagged.unlabelled) == (1, 1, 0)
    assert (rest.size, rest.reviewed, rest.positives, rest.unlabelled) == (6, 3, 1, 3)
    store_labels(engine, [label(f[1], "cat", "yes")], adjudication=True)
    strata = {s.stratum: s for s in reviewed_strata(engine, sample_id)}
    assert (strata["flagged"].reviewed, strata["flagged"].positives) == (3, 2)
    assert strata["flagged"].disputed == 0
    by_topic = {s.stratum: s for s in reviewed_strata(engine, sample_id, topic="recruitment")}
    assert (by_topic["low"].reviewed, by_topic["low"].positives) == (1, 0)
    assert agreement_units(engine, sample_id) == {
        "flagged": {f[0]: ["yes", "yes"], f[1]: ["yes", "no"]}
    }


def test_reimport_replaces_the_same_reviewers_label(engine: Engine) -> None:
    sample_id, ids = sampled(engine)
    item = ids["low"][0]
    store_labels(engine, [label(item, "ann", "yes")])
    store_labels(engine, [label(item, "ann", "no")])
    [resolved] = [i for i in resolved_items(engine, sample_id) if i.item_id == item]
    assert resolved.labels == {"ann": "no"} and resolved.label == "no"


def test_sheet_rows_are_checked_and_bad_ones_reported_by_line(
    engine: Engine, tmp_path: Path
) -> None:
    _, ids = sampled(engine)
    a, b, c = ids["low"][:3]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "item_id,post_id,reviewer,label,topic,note\n"
        f"{a},p1,ann,Y,,looks like news\n"
        f"{b},p2,ann,maybe,,\n"
        f"{c},p3,,no,,\n"
        "x,p4,ann,no,,\n"
        "99999,p5,ann,no,,\n"
        f"{c},p3,ann,TRUE,weather,\n"
        f"{c},p3,ann,0,Recruitment,\n"
        f"{b},p2,,,,\n"
        f"{a},p1,ann,no,,\n",
        encoding="utf-8",
    )
    read = read_labels(engine, sheet)
    assert [(r.line, r.item_id, r.label, r.topic, r.note) for r in read.rows] == [
        (2, a, "yes", "*", "looks like news"),
        (8, c, "no", "recruitment", None),
    ]
    problems = dict(read.bad)
    assert sorted(problems) == [3, 4, 5, 6, 7, 10]
    assert problems[3].startswith("label: 'maybe' is not a label (write yes, no or unsure)")
    assert problems[4].startswith("reviewer: missing")
    assert problems[5].startswith("item_id: 'x' is not an item number")
    assert problems[6].startswith("item_id: 99999 is not a sampled item")
    assert problems[7].startswith("topic: 'weather' is not a topic")
    assert problems[10] == (
        f"item {a} is labelled by 'ann' for the same topic on line 2 too (keep one of the two rows)"
    )
    assert read.blank == 1
    with_default = read_labels(engine, sheet, default_reviewer="dan")
    assert 4 not in dict(with_default.bad)


def test_a_sheet_without_the_needed_columns_is_refused(engine: Engine, tmp_path: Path) -> None:
    sheet = tmp_path / "labels.csv"
    sheet.write_text("item,label\n1,yes\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"labels.csv: line 1: missing column item_id, reviewer"):
        read_labels(engine, sheet)


def test_export_rows_and_blind_export(engine: Engine) -> None:
    sample_id, _ = sampled(engine)
    rows = export_rows(engine, sample_id)
    assert len(rows) == 10 == len({r["item_id"] for r in rows})
    first = rows[0]
    assert first["text"].startswith("synthetic post") and first["label"] == ""
    assert first["published_at"].startswith("2025-03-01T") and first["published_at"].endswith("Z")
    assert {r["flagged"] for r in rows} == {"yes", "no"}
    assert {r["stratum"] for r in rows if r["flagged"] == "yes"} == {"flagged"}
    blind = export_rows(engine, sample_id, blind=True)
    assert "flagged" not in blind[0] and "stratum" not in blind[0]
    assert [r["item_id"] for r in blind] == [r["item_id"] for r in rows]
    assert sample_info(engine).id == sample_id


def test_sampled_posts_keep_text_until_their_label_is_settled(engine: Engine) -> None:
    store(engine, [post(i) for i in range(6)])
    sample_id = draw(engine, SampleRequest(size=2, until=UNTIL, seed=9)).sample_id
    items = resolved_items(engine, sample_id)
    later = datetime.now(UTC) + timedelta(days=400)
    assert erase_old_text(engine, 30, now=later) == 4  # the 2 sampled posts keep their text
    store_labels(
        engine, [label(items[0].item_id, "ann", "yes"), label(items[1].item_id, "ann", "yes")]
    )
    store_labels(engine, [label(items[1].item_id, "bob", "no")])  # disputed: still needed
    assert erase_old_text(engine, 30, now=later) == 1
    with engine.connect() as conn:
        kept = conn.execute(
            select(ReviewItem.id).join(Post, Post.id == ReviewItem.post_pk).where(Post.text.is_not(None))
        ).scalars().all()  # fmt: skip
    assert kept == [items[1].item_id]
    store_labels(engine, [label(items[1].item_id, "cat", "no")], adjudication=True)
    assert erase_old_text(engine, 30, now=later) == 1


def test_text_the_privacy_setting_does_not_keep_is_erased_except_for_review(
    engine: Engine,
) -> None:
    from storage.retention import erase_unkept_text

    store(engine, [post(i, flagged=i < 2) for i in range(6)])
    draw(engine, SampleRequest(size=2, until=UNTIL, seed=3))
    with engine.connect() as conn:
        sampled = set(conn.execute(select(ReviewItem.post_pk)).scalars())
    assert erase_unkept_text(engine, "all") == 0
    # Unflagged posts lose their text unless they wait for review.
    unflagged_unsampled = {i + 1 for i in range(2, 6)} - sampled
    assert erase_unkept_text(engine, "flagged") == len(unflagged_unsampled)
    with engine.connect() as conn:
        kept = set(conn.execute(select(Post.id).where(Post.text.is_not(None))).scalars())
    assert kept == ({1, 2} | sampled)
    assert erase_unkept_text(engine, "none") == len({1, 2} - sampled)


def review_state(engine: Engine) -> tuple[list[tuple[object, ...]], dict[int, bool]]:
    """Every stored label, and each item's settled flag."""
    with engine.connect() as conn:
        labels = [
            tuple(r)
            for r in conn.execute(
                select(ReviewLabel.item_id, ReviewLabel.reviewer, ReviewLabel.topic,
                       ReviewLabel.label, ReviewLabel.adjudication).order_by(ReviewLabel.id)
            )
        ]  # fmt: skip
        settled = {
            int(i): bool(s) for i, s in conn.execute(select(ReviewItem.id, ReviewItem.settled))
        }
    return labels, settled


def assert_consistent(engine: Engine) -> None:
    """Settled exactly where the overall labels resolve to yes or no."""
    labels, settled = review_state(engine)
    given: dict[int, list[tuple[str, bool]]] = {i: [] for i in settled}
    for item_id, _, topic, value, adjudication in labels:
        if topic == "*":
            given[int(str(item_id))].append((str(value), bool(adjudication)))
    assert settled == {i: resolve(g) in ("yes", "no") for i, g in given.items()}


@pytest.mark.parametrize("where", ["between the steps", "inside settling"])
def test_a_failed_import_stores_neither_labels_nor_settled_state(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import storage.review_labels as review_labels

    _, ids = sampled(engine)
    f, low = ids["flagged"], ids["low"]
    store_labels(engine, [label(f[0], "ann", "yes"), label(low[0], "ann", "no")])
    before = review_state(engine)
    assert sum(before[1].values()) == 2

    def fail(*_args: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(
        review_labels, "_settle" if where == "between the steps" else "resolve", fail
    )
    with pytest.raises(RuntimeError, match="killed"):
        store_labels(engine, [label(i, "bob", "yes") for i in f + low])
    assert review_state(engine) == before
    monkeypatch.undo()
    store_labels(engine, [label(i, "bob", "yes") for i in f + low])
    assert_consistent(engine)
    assert sum(review_state(engine)[1].values()) == len(f) + len(low) - 1  # low[0] disputed


# `vemeter review import` in a process of its own that SIGKILLs itself at a chosen moment:
# before settling starts (the labels written, not committed) or after it (before the commit).
_KILLED_IMPORT = """
import os, signal, sys
import storage.review_labels as R
when = sys.argv[1]
settle = R._settle
def killing(conn, ids):
    if when == "after":
        settle(conn, ids)
    os.kill(os.getpid(), signal.SIGKILL)
R._settle = killing
sys.argv = ["vemeter", "review", "import", *sys.argv[2:]]
from crawler.commands.app import main
main()
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_review_import_killed_mid_way_leaves_labels_and_settled_state_consistent(
    tmp_path: Path, when: str
) -> None:
    import subprocess
    import sys

    from storage.engine import open_database

    db = tmp_path / "r.db"
    engine = open_database(f"sqlite:///{db}")
    _, ids = sampled(engine)
    store_labels(engine, [label(ids["low"][0], "ann", "no")])
    before = review_state(engine)
    config = tmp_path / "p.yaml"
    config.write_text(f"project: p\nstorage: {{url: 'sqlite:///{db}'}}\n", encoding="utf-8")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "item_id,reviewer,label\n"
        + "".join(
            f"{i},bob,{'yes' if i in ids['flagged'] else 'no'}\n"
            for i in ids["flagged"] + ids["low"]
        ),
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_IMPORT, when, str(config), str(sheet)], cwd=root,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert review_state(engine) == before
    assert_consistent(engine)
    again = subprocess.run(
        [sys.executable, "-m", "crawler.commands", "review", "import", str(config), str(sheet)],
        cwd=root, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert_consistent(engine)
    assert all(review_state(engine)[1].values())
    engine.dispose()


def test_a_topic_filled_in_gives_the_same_any_content_label_as_a_blank_one(
    engine: Engine, tmp_path: Path
) -> None:
    """The topic column is a trap no more: "yes" for recruitment is "yes" for any content."""
    _, ids = sampled(engine)
    a, b, c = ids["low"][:3]
    blank, filled = tmp_path / "blank.csv", tmp_path / "filled.csv"
    blank.write_text(f"item_id,reviewer,label,topic\n{a},ann,yes,\n{b},ann,no,\n", encoding="utf-8")
    filled.write_text(
        f"item_id,reviewer,label,topic\n{a},ann,yes,designated_org\n{b},ann,no,\n"
        f"{c},ann,no,\n{c},ann,yes,recruitment\n",
        encoding="utf-8",
    )
    any_of = lambda read: {(r.item_id, r.label) for r in read.rows if r.topic == "*"}  # noqa: E731
    assert any_of(read_labels(engine, blank)) == {(a, "yes"), (b, "no")}
    read = read_labels(engine, filled)
    assert any_of(read) == {(a, "yes"), (b, "no"), (c, "no")}
    assert dict(read.bad)[5].startswith(f"item {c}: 'yes' for recruitment but 'no' for any")
