"""The small protocol every classifier follows and the records they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = ["CONTENT_TOPICS", "TOPICS", "Classification", "Signal", "Tagger", "Topic", "TopicMatch"]

Topic = Literal[
    "designated_org",
    "glorification",
    "recruitment",
    "incitement",
    "instruction",
    "financing",
    "perpetrator_content",
]

TOPICS: tuple[Topic, ...] = (
    "designated_org",
    "glorification",
    "recruitment",
    "incitement",
    "instruction",
    "financing",
    "perpetrator_content",
)
# The topics about what a post says or does, as opposed to which organisation it names.
CONTENT_TOPICS: tuple[Topic, ...] = TOPICS[1:]


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """One lexicon hit: its topic, family and term, and where it is in the original text."""

    topic: str
    family: str
    term: str
    start: int
    end: int
    lang: tuple[str, ...]
    # Designation layer (un_listed, multi_jurisdiction, national_only) so national-only
    # names can be reported separately; None for topics other than designated_org.
    layer: str | None = None
    # The tier of its lexicon: flag (tags the post), candidate (broad vocabulary that only marks
    # a post borderline) or cue (one part of a content rule, classifiers.content).
    tier: str = "flag"


@dataclass(frozen=True, slots=True)
class Signal:
    """A marker worth recording that is not a topic, e.g. a "(banned in Russia)" news disclaimer."""

    name: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Classification:
    """Everything the classification stage says about one post."""

    language: str
    script: str | None
    language_probability: float
    matches: tuple[TopicMatch, ...]
    # Every language present in a mixed post with its share, dominant first; () when unknown.
    languages: tuple[tuple[str, float], ...] = ()
    # Markers such as news disclaimers: recorded, never a topic by themselves.
    signals: tuple[Signal, ...] = ()
    # Topic model probabilities, (topic, score) sorted by topic; () without a model.
    scores: tuple[tuple[str, float], ...] = ()

    @property
    def topics(self) -> tuple[str, ...]:
        """Sorted unique topic names among the matches."""
        return tuple(sorted({match.topic for match in self.matches}))

    @property
    def flagged(self) -> bool:
        """True when any lexicon term matched."""
        return bool(self.matches)


@runtime_checkable
class Tagger(Protocol):
    """A text tagger: stored tags record its name and version so they can be recomputed."""

    name: str
    version: str
    labels: tuple[str, ...]

    def tag(self, text: str) -> list[TopicMatch]:
        """Return the matches found in text, in order of position."""
        ...
