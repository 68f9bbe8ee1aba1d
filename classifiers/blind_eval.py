"""Evaluation on a blind classification set: organisation mentions by variant class, outlets,
content topics, and benign posts (tests/data/blind3/README.md describes the files)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classifiers.base import CONTENT_TOPICS, Signal, TopicMatch
from classifiers.evasion_eval import EvaluationSetError

__all__ = [
    "BlindSet",
    "ContentReport",
    "OrgReport",
    "content_report",
    "load_blind_set",
    "org_report",
]

# What a classifier gives for one post: the matches that count on that date, and its signals.
Tagged = tuple[Sequence[TopicMatch], Sequence[Signal]]
Classify = Callable[[str, datetime], Tagged]


@dataclass(frozen=True)
class BlindSet:
    orgs: list[dict[str, Any]]
    outlets: list[dict[str, Any]]
    content: list[dict[str, Any]]


def _rows(path: Path, required: Sequence[str]) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationSetError(f"{path}: line {number}: invalid JSON: {exc.msg}") from None
        missing = [key for key in required if key not in row]
        if missing:
            raise EvaluationSetError(f"{path}: line {number}: missing {', '.join(missing)}")
        rows.append(row)
    return rows


def load_blind_set(directory: Path) -> BlindSet:
    """orgs.jsonl, outlets.jsonl and content.jsonl of one blind set (a missing file: no rows)."""
    return BlindSet(
        orgs=_rows(directory / "orgs.jsonl", ("text", "family", "variant", "date")),
        outlets=_rows(directory / "outlets.jsonl", ("text", "outlet", "family")),
        content=_rows(directory / "content.jsonl", ("text", "topics", "kind")),
    )


def _when(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(row.get("date", "2024-01-01"))).replace(tzinfo=UTC)


@dataclass
class OrgReport:
    """Recall of designated_org by variant class and family; benign posts with a name."""

    found: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    family_found: Counter[str] = field(default_factory=Counter)
    family_total: Counter[str] = field(default_factory=Counter)
    benign: int = 0
    benign_flagged: int = 0
    # Of the benign posts: look-alikes of names in orgs.jsonl (family null), the hardest kind.
    lookalikes: int = 0
    lookalikes_flagged: int = 0
    missed: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return sum(self.found.values()) / max(1, sum(self.total.values()))

    @property
    def false_positive_rate(self) -> float:
        return self.benign_flagged / max(1, self.benign)


def org_report(data: BlindSet, classify: Classify) -> OrgReport:
    """A mention counts as found when a designated_org match counts on the post's date."""
    report = OrgReport()
    for row in data.orgs:
        matches, _ = classify(row["text"], _when(row))
        hit = any(m.topic == "designated_org" for m in matches)
        if row["family"] is None:  # a look-alike of a name (Isis the goddess, ИГ РАН)
            report.benign += 1
            report.lookalikes += 1
            report.lookalikes_flagged += hit
            report.benign_flagged += hit
            continue
        report.total[row["variant"]] += 1
        report.family_total[row["family"]] += 1
        if hit:
            report.found[row["variant"]] += 1
            report.family_found[row["family"]] += 1
        else:
            report.missed.append(row["text"])
    for row in data.content:
        if row["kind"] == "content":
            continue
        report.benign += 1
        matches, _ = classify(row["text"], _when(row))
        report.benign_flagged += any(m.topic == "designated_org" for m in matches)
    return report


@dataclass
class ContentReport:
    """Per topic: true positives, positives and predictions; benign posts with any topic; how
    the content posts fall into review strata (flagged / borderline / low)."""

    true_positives: Counter[str] = field(default_factory=Counter)
    positives: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    found_any: int = 0
    content: int = 0
    benign: int = 0
    benign_tagged: int = 0
    benign_by_kind: Counter[str] = field(default_factory=Counter)
    strata: Counter[str] = field(default_factory=Counter)
    outlets_found: int = 0
    outlets: int = 0

    @property
    def recall(self) -> float:
        """Share of content posts that got at least one of their topics."""
        return self.found_any / max(1, self.content)

    @property
    def false_positive_rate(self) -> float:
        return self.benign_tagged / max(1, self.benign)

    def precision(self, topic: str) -> float | None:
        return self.true_positives[topic] / self.predicted[topic] if self.predicted[topic] else None


def content_report(data: BlindSet, classify: Classify) -> ContentReport:
    report = ContentReport()
    for row in data.content:
        matches, signals = classify(row["text"], _when(row))
        got = {m.topic for m in matches if m.topic in CONTENT_TOPICS}
        report.predicted.update(got)
        if row["kind"] == "content":
            report.content += 1
            wanted = set(row["topics"])
            report.found_any += bool(wanted & got)
            for topic in wanted:
                report.positives[topic] += 1
                report.true_positives[topic] += topic in got
            stratum = "flagged" if matches else ("borderline" if signals else "low")
            report.strata[stratum] += 1
        else:
            report.benign += 1
            if got:
                report.benign_tagged += 1
                report.benign_by_kind[row["kind"]] += 1
    for row in data.outlets:
        matches, _ = classify(row["text"], _when(row))
        report.outlets += 1
        report.outlets_found += any(m.topic == "perpetrator_content" for m in matches)
    return report
