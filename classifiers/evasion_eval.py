"""Recall and false positives of designated-organisation tagging on the evasion evaluation set."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from classifiers.base import Signal, TopicMatch
from classifiers.lexicon_files import Lexicon

__all__ = [
    "DEFAULT_EVALUATION_DIR",
    "EvaluationReport",
    "EvaluationSetError",
    "Negative",
    "Positive",
    "evaluate",
    "load_evaluation_set",
    "naive_tagger",
]

# The evaluation set shipped with the tests: positives.jsonl and negatives.jsonl.
DEFAULT_EVALUATION_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "evasion"
# dev: tuned on; test: reported, never tuned on; blindN: written by someone who never saw
# the matcher or the lexicons (blind1 was then used to fix what it showed; blind2 was not).
SPLITS = ("dev", "test", "blind1", "blind2")

Tag = Callable[[str], Sequence[TopicMatch]]
Signals = Callable[[str], Sequence[Signal]]


class EvaluationSetError(ValueError):
    """An evaluation file is missing or has a bad row: `path: line N: problem (fix)`."""


@dataclass(frozen=True, slots=True)
class Positive:
    """A sentence that mentions one designated organisation, written in one evasion form."""

    text: str
    lang: str
    form: str
    family: str
    split: str
    disclaimer: bool = False


@dataclass(frozen=True, slots=True)
class Negative:
    """A sentence that must not be tagged: a look-alike word or an ordinary post."""

    text: str
    lang: str
    kind: str
    split: str


@dataclass(slots=True)
class EvaluationReport:
    """Per-form recall, false-positive rate and disclaimer recall of one tagger on one split."""

    found: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    false_positives: list[Negative] = field(default_factory=list)
    negatives: int = 0
    missed: list[Positive] = field(default_factory=list)
    disclaimers_found: int = 0
    disclaimers: int = 0

    @property
    def recall(self) -> float:
        """Share of positives whose organisation was tagged."""
        total = sum(self.total.values())
        return sum(self.found.values()) / total if total else 0.0

    @property
    def false_positive_rate(self) -> float:
        """Share of negatives with any designated-organisation tag."""
        return len(self.false_positives) / self.negatives if self.negatives else 0.0

    def form_recall(self, form: str) -> float:
        """Recall over the positives written in one evasion form."""
        return self.found.get(form, 0) / self.total[form] if self.total.get(form) else 0.0


def load_evaluation_set(
    directory: Path = DEFAULT_EVALUATION_DIR,
) -> tuple[list[Positive], list[Negative]]:
    """Read positives.jsonl, negatives.jsonl and the blind*.jsonl sets (rows with a `form` are
    positives); raise EvaluationSetError on the first bad row."""
    positives = [_positive(row) for row in _rows(directory / "positives.jsonl")]
    negatives = [_negative(row) for row in _rows(directory / "negatives.jsonl")]
    for path in sorted(directory.glob("blind*.jsonl")):
        for row in _rows(path):
            if "form" in row[2]:
                positives.append(_positive(row))
            else:
                negatives.append(_negative(row))
    return positives, negatives


def evaluate(
    tag: Tag,
    positives: Sequence[Positive],
    negatives: Sequence[Negative],
    split: str | None = None,
    signals: Signals | None = None,
) -> EvaluationReport:
    """Run tag over one split (both when None); a positive counts when its family is tagged."""
    report = EvaluationReport()
    for case in positives:
        if split is not None and case.split != split:
            continue
        report.total[case.form] = report.total.get(case.form, 0) + 1
        families = {m.family for m in tag(case.text) if m.topic == "designated_org"}
        if case.family in families:
            report.found[case.form] = report.found.get(case.form, 0) + 1
        else:
            report.missed.append(case)
        if case.disclaimer and signals is not None:
            report.disclaimers += 1
            if any(signal.name == "news_disclaimer" for signal in signals(case.text)):
                report.disclaimers_found += 1
    for negative in negatives:
        if split is not None and negative.split != split:
            continue
        report.negatives += 1
        if any(m.topic == "designated_org" for m in tag(negative.text)):
            report.false_positives.append(negative)
    return report


def naive_tagger(lexicons: Sequence[Lexicon]) -> Tag:
    """The baseline: case-insensitive substring search for every term as written in the lexicons."""
    needles = [
        (term.term.casefold(), lexicon)
        for lexicon in lexicons
        if lexicon.topic == "designated_org"
        for term in lexicon.terms
    ]

    def tag(text: str) -> list[TopicMatch]:
        folded = text.casefold()
        matches: list[TopicMatch] = []
        for needle, lexicon in needles:
            start = folded.find(needle)
            if start >= 0:
                matches.append(
                    TopicMatch(
                        lexicon.topic, lexicon.family, needle, start, start + len(needle), ()
                    )
                )
        return matches

    return tag


def _rows(path: Path) -> list[tuple[str, int, dict[str, object]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationSetError(f"{path}: cannot be read: {error} (check the path)") from None
    rows: list[tuple[str, int, dict[str, object]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvaluationSetError(
                f"{path}: line {number}: invalid JSON: {error.msg} (write one object per line)"
            ) from None
        if not isinstance(row, dict):
            raise EvaluationSetError(f"{path}: line {number}: not an object (write {{...}})")
        rows.append((str(path), number, row))
    return rows


def _field(where: tuple[str, int, dict[str, object]], key: str) -> str:
    path, number, row = where
    value = row.get(key)
    if not isinstance(value, str) or not value:
        raise EvaluationSetError(f"{path}: line {number}: {key}: missing or empty (add a string)")
    if key == "split" and value not in SPLITS:
        raise EvaluationSetError(
            f"{path}: line {number}: split: {value!r} (use one of {', '.join(SPLITS)})"
        )
    return value


def _positive(where: tuple[str, int, dict[str, object]]) -> Positive:
    keys = ("text", "lang", "form", "family", "split")
    text, lang, form, family, split = (_field(where, key) for key in keys)
    return Positive(text, lang, form, family, split, bool(where[2].get("disclaimer", False)))


def _negative(where: tuple[str, int, dict[str, object]]) -> Negative:
    text, lang, kind, split = (_field(where, key) for key in ("text", "lang", "kind", "split"))
    return Negative(text, lang, kind, split)
