"""The stored form of a post and its tags, and the one rule that turns a classification into it.

Crawls, imports and re-classification all build their rows with `build_record`, so what is
flagged, which tags are written and which text survives is decided in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from classifiers.designations import Designations
from storage.validation import Checked

__all__ = [
    "SCORE_FLOOR",
    "Collected",
    "Designated",
    "PostRecord",
    "TagRecord",
    "build_record",
    "input_tags",
    "split_version",
]


@dataclass(slots=True)
class TagRecord:
    kind: str
    label: str
    score: float
    classifier: str
    version: str
    evidence: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class PostRecord:
    """A post ready to store: classified, pseudonymised, text already trimmed per privacy."""

    platform: str
    source: str
    target: str
    post_id: str
    published_at: datetime
    language: str
    script: str | None
    language_probability: float
    flagged: bool
    has_text: bool
    text: str | None = None
    language_classifier: str | None = None
    url: str | None = None
    author: str | None = None
    is_repost: bool = False
    views: int | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None
    tags: list[TagRecord] = field(default_factory=list)
    edited: bool | None = None
    forwarded_from: str | None = None
    is_promo: bool | None = None


class Collected(Checked, Protocol):
    """What build_record reads of a collected post (crawler.items.PostItem has it all): what
    check_post reads, and the text to classify."""

    @property
    def classify_text(self) -> str: ...


def split_version(value: str | None) -> tuple[str, str]:
    """("py3langid", "0.4.0") from "py3langid@0.4.0"; no version is "0", no name "unknown"."""
    name, _, version = (value or "unknown").partition("@")
    return name or "unknown", version or "0"


class _Match(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def term(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


class _Signal(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...


class _Classification(Protocol):
    @property
    def language(self) -> str: ...
    @property
    def script(self) -> str | None: ...
    @property
    def language_probability(self) -> float: ...
    @property
    def matches(self) -> tuple[_Match, ...]: ...
    @property
    def scores(self) -> tuple[tuple[str, float], ...]: ...
    @property
    def signals(self) -> tuple[_Signal, ...]: ...


# Tags of kind "input" say what was repaired in a post as collected, before classification:
# control characters removed, text cut to the per-post limit. Not "signal": signals are content
# cues that put a post in the review's borderline stratum (storage.review_sampling).
INPUT_KIND = "input"
INPUT_CLASSIFIER = "vemeter-input"
INPUT_VERSION = "1"


def input_tags(control_chars: int, cut_chars: int) -> list[TagRecord]:
    """The `input` tags of a post whose text lost `control_chars` control characters and had
    `cut_chars` characters cut off its end; evidence holds the counts, never the text."""
    tags: list[TagRecord] = []
    if control_chars:
        tags.append(TagRecord(INPUT_KIND, "control_chars", 1.0, INPUT_CLASSIFIER, INPUT_VERSION,
                              [{"removed": control_chars}]))  # fmt: skip
    if cut_chars:
        tags.append(TagRecord(INPUT_KIND, "text_cut", 1.0, INPUT_CLASSIFIER, INPUT_VERSION,
                              [{"cut": cut_chars}]))  # fmt: skip
    return tags


# Topic-model scores below this are not stored: review sampling only needs the upper band
# (review.borderline_score, default 0.2), and 7 score rows for every post would dominate the
# tags table.
SCORE_FLOOR = 0.05

# The jurisdictions whose lists held an organisation family on a post's date
# (classifiers.designations.Designations.lists): a designated_org mention counts when it is not
# empty.
# None: the table does not cover the family, and the lexicon's layer decides.
Designated = Callable[[str, datetime], tuple[str, ...] | None]


@functools.cache
def _default_designations() -> Designations:
    return Designations()


def split_designated(
    matches: Sequence[_Match], when: datetime, designated: Designated | None = None
) -> tuple[list[tuple[_Match, tuple[str, ...]]], list[_Match]]:
    """The rule of what counts: (matches that count, with the lists that made them count; the
    designated_org mentions that do not).

    A designated_org mention counts when `designated` (default: UN plus the region's states)
    finds its family on a chosen list on `when`'s day; a family the designation table does not
    cover (a project's own lexicon) counts unless its lexicon layer is national_only. Names on
    no chosen list that day (opposition parties, religious movements, a group since delisted)
    are kept as a signal for review, but do not make a post violent-extremist content. Other
    topics always count.
    """
    lists_of = designated or _default_designations().lists
    counted: list[tuple[_Match, tuple[str, ...]]] = []
    uncounted: list[_Match] = []
    for m in matches:
        if m.topic != "designated_org":
            counted.append((m, ()))
            continue
        lists = lists_of(m.family, when)
        if lists is None:
            lists = () if getattr(m, "layer", None) == "national_only" else ("lexicon",)
        if lists:
            counted.append((m, lists))
        else:
            uncounted.append(m)
    return counted, uncounted


def build_record(
    item: Collected,
    result: _Classification,
    versions: dict[str, str],
    keep_text: str,
    *,
    model_topics: Sequence[str] = (),
    lexicon_flags: bool = True,
    designated: Designated | None = None,
) -> PostRecord:
    """The stored form of a classified post; text survives only as `keep_text` allows.

    A post is flagged by counted lexicon matches (when lexicon_flags: topics `lexicon` and
    `either`) or by model_topics, the topics the model flags (PostClassifier.model_topics).
    Each topic model score becomes a `score` tag, so review sampling can draw score bands.
    A designated_org mention counts only when `designated` (default: UN plus the region's
    states) finds its family on a chosen list on the post's date; its evidence names the lists.
    """
    counted, national = split_designated(result.matches, item.published_at, designated)
    flagged = (lexicon_flags and bool(counted)) or bool(model_topics)
    text = item.classify_text
    keep = keep_text == "all" or (keep_text == "flagged" and flagged)
    lex_name, lex_version = split_version(versions["lexicon"])
    # The language tag lives on the post row (language, probability, classifier@version): one
    # tag row per post cost a quarter of the writer's time.
    tags: list[TagRecord] = []
    by_topic: dict[str, list[dict[str, object]]] = {}
    for m, lists in counted:
        found: dict[str, object] = {"term": m.term, "start": m.start, "end": m.end}
        if lists:
            found["lists"] = list(lists)
        by_topic.setdefault(m.topic, []).append(found)
    tags.extend(
        TagRecord("topic", topic, 1.0, lex_name, lex_version, ev)
        for topic, ev in sorted(by_topic.items())
    )
    if national:
        evidence: list[dict[str, object]] = [
            {"term": m.term, "start": m.start, "end": m.end} for m in national
        ]
        tags.append(TagRecord("signal", "national_only_org", 1.0, lex_name, lex_version, evidence))
    # News disclaimers ("(запрещена в РФ)", "ИГ*") and evasive spellings, one tag per kind.
    by_signal: dict[str, list[dict[str, object]]] = {}
    for signal in result.signals:
        by_signal.setdefault(signal.name, []).append({"start": signal.start, "end": signal.end})
    tags.extend(
        TagRecord("signal", name, 1.0, lex_name, lex_version, ev)
        for name, ev in sorted(by_signal.items())
    )
    if result.scores:
        model_name, model_version = split_version(versions["model"])
        scores = dict(result.scores)
        tags.extend(
            TagRecord("score", t, s, model_name, model_version)
            for t, s in result.scores
            if s >= SCORE_FLOOR
        )
        # Beside any lexicon tag of the same topic: every flagged post has a topic tag, and each
        # tag names the classifier that found it.
        tags.extend(
            TagRecord("topic", t, scores[t], model_name, model_version) for t in model_topics
        )
    return PostRecord(
        platform=item.platform, source=item.source, target=item.target, post_id=item.post_id,
        published_at=item.published_at, language=result.language, script=result.script,
        language_probability=result.language_probability, flagged=flagged,
        language_classifier=versions["language"],
        has_text=bool(text.strip()), text=text if keep and text else None, url=item.url,
        author=item.author, is_repost=item.is_repost, views=item.views, likes=item.likes,
        reposts=item.reposts, comments=item.comments, tags=tags, edited=item.edited,
        forwarded_from=item.forwarded_from, is_promo=item.is_promo,
    )  # fmt: skip
