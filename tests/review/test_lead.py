"""Leads: the disputes queue, adjudication (stored, and winning), agreement, the export, roles."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, select

from analysis.agreement import krippendorff_alpha_nominal, specific_agreement
from analysis.agreement_extra import MIN_ITEMS, _stats, _tables, cohen_kappa, pair_agreement
from review import leads
from review.auth import User
from review.queue import claim_next, submit
from storage.models import ReviewItem, ReviewLabel
from storage.review import DISPUTED, resolved_items
from storage.review_labels import read_labels, store_labels
from tests.review.conftest import Clock, ReviewClient, Sample, make_sample

Client = Callable[[str | None], ReviewClient]


def double_labelled(
    engine: Engine,
    users: dict[str, User],
    clock: Clock,
    given: list[tuple[dict[str, str], dict[str, str]]],
) -> Sample:
    """Double-labelled items, each labelled by ann then bob as `given` says (topic -> label)."""
    sample = make_sample(
        engine, [f"synthetic post {i}" for i in range(len(given))],
        double=frozenset(range(len(given))),
    )  # fmt: skip
    for n, who in enumerate(("ann", "bob")):
        for i, item in enumerate(sample.items):
            assert claim_next(engine, users[who], sample.sample_id, clock()) == item
            submit(engine, users[who], item, given[i][n], None, clock())
            clock.advance(seconds=1)
    return sample


@pytest.fixture
def disputed(engine: Engine, users: dict[str, User], clock: Clock) -> Sample:
    """Item 0 disputed overall, item 1 agreed, item 2 agreed overall but disputed on a topic."""
    return double_labelled(
        engine, users, clock,
        [
            ({"*": "yes"}, {"*": "no"}),
            ({"*": "no"}, {"*": "no"}),
            ({"*": "yes", "recruitment": "yes"}, {"*": "yes", "recruitment": "unsure"}),
        ],
    )  # fmt: skip


LEAD_PAGES = ["/lead/disputes", "/lead/agreement"]


def test_reviewers_are_refused_on_every_lead_route(
    engine: Engine, client_for: Client, disputed: Sample
) -> None:
    ann = client_for("ann")
    item = disputed.items[0]
    for path in [*LEAD_PAGES, f"/lead/adjudicate/{item}"]:
        response = ann.get(path)
        assert response.status_code == 403, path
        assert "synthetic post" not in response.text
    refused = ann.post(f"/lead/adjudicate/{item}", data={"csrf": ann.csrf, "decide.*": "yes"})
    assert refused.status_code == 403
    assert ann.post("/lead/export", data={"csrf": ann.csrf}).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(ReviewLabel).where(ReviewLabel.adjudication)).first() is None
    lea = client_for("lea")
    for path in [*LEAD_PAGES, f"/lead/adjudicate/{item}"]:
        assert lea.get(path).status_code == 200, path


def test_disputes_list_the_disagreements_side_by_side_with_names_hidden(
    client_for: Client, disputed: Sample
) -> None:
    lea = client_for("lea")
    page = lea.get("/lead/disputes").text
    assert f"/lead/adjudicate/{disputed.items[0]}" in page
    assert f"/lead/adjudicate/{disputed.items[1]}" not in page  # agreed: nothing to decide
    assert f"/lead/adjudicate/{disputed.items[2]}" in page  # disputed on recruitment
    item = lea.get(f"/lead/adjudicate/{disputed.items[0]}").text
    assert "Reviewer A" in item and "Reviewer B" in item
    assert not re.search(r"\b(ann|bob)\b", item)
    assert "synthetic post 0" in item  # the text, concealed until revealed


def test_names_are_shown_when_the_setting_says_so(engine: Engine, disputed: Sample) -> None:
    view = leads.adjudication_view(engine, disputed.sample_id, disputed.items[0], show_names=True)
    assert view is not None and view.reviewers == ["ann", "bob"]
    assert [r.given for r in view.rows] == [["yes", "no"]]


def test_adjudication_is_stored_wins_and_leaves_the_queue(
    engine: Engine, client_for: Client, disputed: Sample
) -> None:
    lea = client_for("lea")
    first, _, third = disputed.items
    assert resolved_items(engine, disputed.sample_id)[0].label == DISPUTED
    # Every disputed topic needs a decision; CSRF-less posts are refused.
    assert lea.post(f"/lead/adjudicate/{first}", data={"decide.*": "no"}).status_code == 403
    assert lea.post(f"/lead/adjudicate/{first}", data={"csrf": lea.csrf}).status_code == 400
    assert (
        lea.post(f"/lead/adjudicate/{first}", data={"csrf": lea.csrf, "decide.*": "maybe"})
    ).status_code == 400
    done = lea.post(f"/lead/adjudicate/{first}", data={"csrf": lea.csrf, "decide.*": "no"})
    assert done.status_code == 303 and done.headers["location"] == f"/lead/adjudicate/{third}"
    with engine.connect() as conn:
        stored = conn.execute(
            select(ReviewLabel.reviewer, ReviewLabel.topic, ReviewLabel.label).where(
                ReviewLabel.adjudication.is_(True)
            )
        ).all()
        settled = conn.execute(select(ReviewItem.settled).where(ReviewItem.id == first)).scalar()
    assert [tuple(r) for r in stored] == [("lea", "*", "no")]
    assert settled is True
    assert resolved_items(engine, disputed.sample_id)[0].label == "no"  # the decision wins
    # The topic dispute of the third item: decided, the queue is empty.
    done = lea.post(
        f"/lead/adjudicate/{third}", data={"csrf": lea.csrf, "decide.recruitment": "yes"}
    )
    assert done.headers["location"] == "/lead/disputes?m=done"
    assert leads.disputes(engine, disputed.sample_id) == []
    assert resolved_items(engine, disputed.sample_id, "recruitment")[2].label == "yes"
    # A second decision replaces the first (the audit keeps the old value).
    lea.post(f"/lead/adjudicate/{first}", data={"csrf": lea.csrf, "decide.*": "yes"})
    assert resolved_items(engine, disputed.sample_id)[0].label == "yes"


def test_export_is_the_sheet_review_import_reads(
    engine: Engine, client_for: Client, disputed: Sample, tmp_path: Path
) -> None:
    lea = client_for("lea")
    first, _, third = disputed.items
    lea.post(f"/lead/adjudicate/{first}", data={"csrf": lea.csrf, "decide.*": "no",
                                                 "note": "=cmd|' /C calc'!A0"})  # fmt: skip
    lea.post(f"/lead/adjudicate/{third}", data={"csrf": lea.csrf, "decide.recruitment": "yes"})
    assert lea.post("/lead/export", data={}).status_code == 403
    response = lea.post("/lead/export", data={"csrf": lea.csrf})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "\"'=cmd" in response.text  # neutralised by the project's sheet writer
    sheet = tmp_path / "adjudications.csv"
    sheet.write_bytes(response.content)
    read = read_labels(engine, sheet)
    assert read.bad == []
    # The "yes" for recruitment is also the any-content "yes" it implies (review_labels).
    assert sorted((r.item_id, r.reviewer, r.topic, r.label) for r in read.rows) == [
        (first, "lea", "*", "no"), (third, "lea", "*", "yes"), (third, "lea", "recruitment", "yes"),
    ]  # fmt: skip
    assert next(r for r in read.rows if r.item_id == first).note == "=cmd|' /C calc'!A0"
    # Importing it back as adjudications changes nothing.
    before = [i.label for i in resolved_items(engine, disputed.sample_id)]
    store_labels(engine, read.rows, adjudication=True)
    assert [i.label for i in resolved_items(engine, disputed.sample_id)] == before


def test_agreement_page_per_topic_and_reviewer_with_warnings(
    client_for: Client, disputed: Sample
) -> None:
    lea = client_for("lea")
    page = lea.get("/lead/agreement").text
    assert "Cohen’s κ" in page and "Krippendorff’s α" in page
    assert 'id="by-topic"' in page and 'id="by-reviewer"' in page
    assert "Only 3 items" in page  # under 30
    assert ">ann<" in page and ">bob<" in page


def test_kappa_matches_a_worked_example() -> None:
    # Cohen (1960)-style 2x2: a=20 both yes, b=5, c=10, d=15; po=.7, pe=.5, κ=.4.
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    result = pair_agreement(pairs, resamples=500, seed=1)
    assert result.kappa.value == pytest.approx(0.4)
    assert result.kappa.low < 0.4 < result.kappa.high
    units = {i: list(p) for i, p in enumerate(pairs)}
    assert result.alpha.value == pytest.approx(krippendorff_alpha_nominal(units))
    assert (result.positive.value, result.negative.value) == pytest.approx(
        specific_agreement(pairs)
    )
    assert result.alpha.low < result.alpha.value < result.alpha.high
    assert result.warnings == []  # 50 items, 45/100 labels yes: nothing to warn about
    assert pair_agreement(pairs, resamples=500, seed=1) == result  # the same on every load


def test_bootstrap_alpha_formula_agrees_with_the_project_alpha() -> None:
    # With three labels, the table form of α used in the bootstrap must equal analysis.agreement.
    pairs = [("yes", "no"), ("unsure", "no"), ("no", "no"), ("yes", "yes"), ("unsure", "yes")]
    expected = krippendorff_alpha_nominal({i: list(p) for i, p in enumerate(pairs * 4)})
    code = {"no": 0, "unsure": 1, "yes": 2}
    first = np.array([code[a] for a, _ in pairs * 4])
    second = np.array([code[b] for _, b in pairs * 4])
    assert float(_stats(_tables(first, second, 3), 2, 0)["alpha"]) == pytest.approx(expected)


def test_warnings_for_small_and_skewed_samples() -> None:
    skewed = [("no", "no")] * 94 + [("yes", "no")] * 4 + [("yes", "yes")] * 2
    result = pair_agreement(skewed)
    assert any("'no' is 96%" in w for w in result.warnings)
    assert not any(f"under {MIN_ITEMS}" in w for w in result.warnings)
    small = pair_agreement([("yes", "no"), ("no", "no")])
    assert any(f"under {MIN_ITEMS}" in w for w in small.warnings)
    empty = pair_agreement([])
    assert empty.items == 0 and math.isnan(empty.kappa.value) and empty.warnings
    same = pair_agreement([("no", "no")] * 40)  # no variation: κ and α undefined, not 1
    assert math.isnan(same.kappa.value) and math.isnan(same.alpha.value)
    assert same.negative.value == 1.0
