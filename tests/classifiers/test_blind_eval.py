"""The blind-set report: what counts as found, as a false positive, and as benign."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from classifiers.base import Signal, TopicMatch
from classifiers.blind_eval import EvaluationSetError, content_report, load_blind_set, org_report


def match(topic: str) -> TopicMatch:
    return TopicMatch(topic=topic, family="f", term="t", start=0, end=1, lang=("en",))


def classify(text: str, when: datetime) -> tuple[list[TopicMatch], list[Signal]]:
    """A stand-in classifier: ORG names an organisation, FIN is financing, ~ is borderline."""
    found = [match("designated_org")] if "ORG" in text else []
    found += [match("financing")] if "FIN" in text else []
    signals = [Signal("borderline_financing", 0, 1, "~")] if "~" in text else []
    return found, signals


def write(folder: Path, name: str, rows: list[dict[str, object]]) -> None:
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_name_look_alikes_count_as_benign_not_as_missed_mentions(tmp_path: Path) -> None:
    org = {"family": "x", "date": "2024-01-01"}
    write(tmp_path, "orgs.jsonl", [
        {"text": "ORG here", "variant": "plain", **org},
        {"text": "nothing", "variant": "article", **org},
        {"text": "ORG look-alike", "family": None, "variant": "benign", "date": "2024-01-01"},
        {"text": "a goddess", "family": None, "variant": "benign", "date": "2024-01-01"},
    ])  # fmt: skip
    write(tmp_path, "content.jsonl", [
        {"text": "FIN now", "topics": ["financing"], "kind": "content"},
        {"text": "~ maybe", "topics": ["financing"], "kind": "content"},
        {"text": "plain", "topics": ["financing"], "kind": "content"},
        {"text": "news ORG", "topics": [], "kind": "news"},
        {"text": "FIN zakat", "topics": [], "kind": "religious"},
    ])  # fmt: skip
    data = load_blind_set(tmp_path)
    orgs = org_report(data, classify)
    assert sum(orgs.total.values()) == 2 and orgs.recall == 0.5
    assert (orgs.lookalikes, orgs.lookalikes_flagged) == (2, 1)
    assert (orgs.benign, orgs.benign_flagged) == (2 + 2, 1 + 1)  # look-alikes + benign content
    content = content_report(data, classify)
    assert (content.found_any, content.content) == (1, 3)
    assert (content.benign_tagged, content.benign) == (1, 2)
    assert dict(content.strata) == {"flagged": 1, "borderline": 1, "low": 1}
    assert content.precision("financing") == 0.5


def test_a_row_without_its_fields_is_named_by_line(tmp_path: Path) -> None:
    write(tmp_path, "content.jsonl", [{"text": "a", "topics": [], "kind": "news"}, {"text": "b"}])
    with pytest.raises(EvaluationSetError, match="line 2: missing topics, kind"):
        load_blind_set(tmp_path)
