"""Labelled texts for training the topic model: from the review tables or from a labels CSV.

A resolved review label (storage.review.resolve: adjudication wins, else the reviewers'
agreed label) of "yes" or "no" becomes one example; "unsure", "disputed" and unlabelled items
are skipped, and so are posts whose text is no longer stored. Topic "*" (any
violent-extremist content) becomes an example without a topic: see TrainingExample.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from classifiers.base import TOPICS
from classifiers.topic_model import TrainingExample
from crawler.errors import InputError
from storage.models import Post, ReviewItem, ReviewLabel
from storage.review import NO, UNSURE, YES, resolve
from storage.review_labels import ANY_WORDS, LABEL_WORDS
from storage.sheets import SheetReader
from storage.topics import ANY_TOPIC

__all__ = ["LabelsFileError", "TrainingSet", "read_labels_csv", "review_examples"]

COLUMNS = ("text", "topic", "label")
_LABELS = {YES: True, NO: False}


@dataclass
class TrainingSet:
    """Examples plus what was left out and why (reason -> count), for the command's report."""

    examples: list[TrainingExample] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class LabelsFileError(InputError):
    """A labels file has bad rows; `problems` holds one `file:line: problem (fix)` per row."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} bad rows (fix them and train again)")


def _topic(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in ANY_WORDS else value


def read_labels_csv(path: Path) -> TrainingSet:
    """Examples from a CSV with columns text, topic (empty, * or any: any topic) and label.

    Labels are written as on review sheets (storage.review_labels.LABEL_WORDS): yes/no/unsure,
    y/n/?, 1/0, true/false.
    """
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(
            f"{path}: file not found (give a CSV with columns text,topic,label)"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    result = TrainingSet()
    problems: list[str] = []
    with handle:
        reader = SheetReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                f"{path}: no column {', '.join(missing)} (the header must name text,topic,label)"
            )
        try:
            for row in reader:
                problem = _add_row(result, row)
                if problem:
                    problems.append(f"{path}:{reader.line_num}: {problem}")
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{path}:{reader.line_num}: not valid UTF-8 CSV ({exc})") from None
    if problems:
        raise LabelsFileError(path, problems)
    return result


def _add_row(result: TrainingSet, row: dict[str, str | None]) -> str | None:
    text = (row.get("text") or "").strip()
    topic = _topic(row.get("topic") or "")
    word = (row.get("label") or "").strip().lower()
    if not text:
        return "text is empty (give the post's text, or drop the row)"
    if topic is not None and topic not in TOPICS:
        return f"topic {topic!r} is unknown (use one of {', '.join(TOPICS)}, or * for any)"
    label = LABEL_WORDS.get(word)
    if label is None:
        return f"label {word!r} is not yes, no or unsure"
    if label == UNSURE:
        result.skipped[UNSURE] += 1
    else:
        result.examples.append(TrainingExample(text, topic, _LABELS[label]))
    return None


def _label_rows(engine: Engine) -> Iterator[tuple[int, str, str, bool, str | None]]:
    """(item, topic, label, adjudication, post text) in storage order, a page at a time."""
    stmt = (
        select(
            ReviewLabel.item_id, ReviewLabel.topic, ReviewLabel.label,
            ReviewLabel.adjudication, Post.text,
        )
        .join(ReviewItem, ReviewItem.id == ReviewLabel.item_id)
        .join(Post, Post.id == ReviewItem.post_pk)
        .order_by(ReviewLabel.created_at, ReviewLabel.id)
    )  # fmt: skip
    with engine.connect() as conn:
        for row in conn.execute(stmt.execution_options(yield_per=2000)):
            yield int(row[0]), str(row[1]), str(row[2]), bool(row[3]), row[4]


def review_examples(engine: Engine) -> TrainingSet:
    """One example per reviewed item and topic whose resolved label is yes or no."""
    labels: dict[tuple[int, str], list[tuple[str, bool]]] = defaultdict(list)
    texts: dict[int, str | None] = {}
    for item, topic, label, adjudication, text in _label_rows(engine):
        labels[(item, topic)].append((label, adjudication))
        texts[item] = text
    result = TrainingSet()
    for (item, topic), given in labels.items():
        resolved = resolve(given)
        text = (texts[item] or "").strip()
        if topic != ANY_TOPIC and topic not in TOPICS:
            result.skipped[f"unknown topic {topic!r}"] += 1
        elif resolved not in _LABELS:
            result.skipped[str(resolved)] += 1
        elif not text:
            result.skipped["text no longer stored"] += 1
        else:
            result.examples.append(TrainingExample(text, _topic(topic), _LABELS[resolved]))
    return result
