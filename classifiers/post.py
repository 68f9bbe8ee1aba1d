"""The combined per-post classifier: language identification, lexicon tagging and topic model scores."""

from __future__ import annotations

import gc
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast, get_args

from classifiers.base import TOPICS, Classification, Signal, TopicMatch
from classifiers.content import RULES_FAMILY
from classifiers.designations import DEFAULT_CHOICE, Designations
from classifiers.everyday import everyday_veto, vetoed
from classifiers.language import Engine, LanguageIdentifier, LanguageResult, Prior
from classifiers.lexicon import build_tagger

if TYPE_CHECKING:
    from classifiers.topic_model import TopicModel

# What flags a post: lexicon matches, topic model scores at or over their thresholds, or either.
TopicsMode = Literal["lexicon", "model", "either"]


class PostClassifier:
    """Identify each post's language and tag the designated organisations and topics it mentions."""

    name = "vemeter"

    def __init__(
        self,
        lexicon_paths: Sequence[Path] | None = None,
        languages: Sequence[str] | None = None,
        engine: str = "py3langid",
        topics: str = "lexicon",
        model: Path | None = None,
        designations: Sequence[str] | None = None,
        content_paths: Sequence[Path] | None = None,
    ) -> None:
        if engine not in get_args(Engine):
            raise ValueError(f"unknown language engine {engine!r} (use py3langid or langdetect)")
        if topics not in get_args(TopicsMode):
            raise ValueError(f"unknown topics mode {topics!r} (use lexicon, model or either)")
        if topics != "lexicon" and model is None:
            raise ValueError(f"topics mode {topics!r} needs a model folder")
        self.topics = cast(TopicsMode, topics)
        # With a model, scores are stored in every mode: in `lexicon` mode they only feed review
        # sampling's score bands and comparisons, without flagging anything.
        self.model: TopicModel | None = None
        if model is not None:
            from classifiers.topic_model import TopicModel

            self.model = TopicModel.load(model)
        self.language = LanguageIdentifier(languages, engine=cast(Engine, engine))
        # Content topics by co-occurrence rules (classifiers.content), matched in the same pass
        # as the names; [] turns them off.
        self.lexicon = build_tagger(lexicon_paths, content_paths)
        # Which lists count, by date: part of the lexicon's version, so a changed choice makes
        # `classify --reclassify` re-tag (storage.records.build_record applies it).
        # None: UN plus the region's states (classifiers.designations.DEFAULT_CHOICE).
        self.designations = Designations(DEFAULT_CHOICE if designations is None else designations)
        self.labels: tuple[str, ...] = TOPICS
        self.version = ",".join(f"{key}={value}" for key, value in self.versions.items())

    @property
    def versions(self) -> dict[str, str]:
        """Name@version of each component, to store beside every tag."""
        return {
            "language": self.language.version,
            "lexicon": (f"{self.lexicon.name}@{self.lexicon.version}.{self.designations.version}"),
        } | ({"model": self.model.tag} if self.model else {})

    @property
    def lexicon_flags(self) -> bool:
        """Whether lexicon matches flag posts (modes lexicon and either)."""
        return self.topics != "model"

    def model_topics(self, result: Classification) -> tuple[str, ...]:
        """Topics the model flags in result (score >= the threshold chosen in training).

        Always () in `lexicon` mode. A post is flagged when this is non-empty, or, if
        lexicon_flags, when a counted lexicon term matched (see crawler/storing.to_record).
        """
        if self.model is None or self.topics == "lexicon":
            return ()
        flagged = self.model.flagged_topics(result.scores)
        if flagged and vetoed(result.signals):
            # Everyday context without the militant register (classifiers.everyday): only the
            # topics a rule also found stand.
            return tuple(t for t in flagged if t in result.topics)
        return flagged

    def _confirmed(
        self,
        text: str,
        found: tuple[list[TopicMatch], list[Signal]],
        scores: tuple[tuple[str, float], ...],
    ) -> tuple[list[TopicMatch], list[Signal]]:
        """In `either` mode, a content rule's hit that the model scores as clearly benign
        (TopicModel.confirms) does not flag: it stays as a borderline mark, so review sampling
        still sees the post. On the starter's dev sets this took benign posts tagged from 2.3%
        to 1.9% at a recall 0.003 lower (classifiers/data/starter/README.md)."""
        matches, signals = found
        model = self.model
        if model is None or self.topics != "either" or not matches:
            return found
        kept: list[TopicMatch] = []
        for m in matches:
            if m.family == RULES_FAMILY and not model.confirms(m.topic, scores):
                signals = [
                    *signals,
                    Signal(f"borderline_{m.topic}", m.start, m.end, text[m.start : m.end]),
                ]
            else:
                kept.append(m)
        return kept, signals

    def _checked(
        self, text: str, scores: tuple[tuple[str, float], ...]
    ) -> tuple[list[TopicMatch], list[Signal]]:
        """The lexicon's matches and signals, with the model's verdict on the rules' hits
        (_confirmed) and everyday context marked on the model's own (classifiers.everyday)."""
        matches, signals = self._confirmed(text, self._tag(text), scores)
        if self.model is not None and self.topics != "lexicon":
            flagged = self.model.flagged_topics(scores)  # most posts: none
            found = {m.topic for m in matches} if flagged else set()
            model_only = [t for t in flagged if t not in found]
            if model_only:
                signals = [*signals, *everyday_veto(text, model_only, matches)]
        return matches, signals

    def _tag(self, text: str) -> tuple[list[TopicMatch], list[Signal]]:
        """Lexicon matches (names, outlets, content rules) and signals (disclaimers, evasive
        spellings, borderline marks)."""
        return self.lexicon.tag_with_signals(text)

    def classify(
        self, text: str, prior: Prior | None = None, source: Hashable | None = None
    ) -> Classification:
        """Identify the language of text and find its lexicon matches."""
        language = self.language.identify(text, prior=prior, source=source)
        scores = self.model.predict([text])[0] if self.model else ()
        return _result(language, self._checked(text, scores), scores)

    def classify_many(
        self,
        texts: Sequence[str],
        priors: Sequence[Prior | None] | None = None,
        sources: Sequence[Hashable | None] | None = None,
    ) -> list[Classification]:
        """classify() of each text; language identification runs once for the whole batch.

        `sources` (one key per text, e.g. (platform, source)) lets short posts lean on their
        source's usual language; see LanguageIdentifier.identify_many.
        """
        with _collector_paused():
            languages = self.language.identify_many(texts, priors=priors, sources=sources)
            scores = self.model.predict(texts) if self.model else [()] * len(texts)
            tagged = [self._checked(text, score) for text, score in zip(texts, scores, strict=True)]
            return [
                _result(language, found, score)
                for found, language, score in zip(tagged, languages, scores, strict=True)
            ]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch. Classifying allocates many small
    tuples and lists, each gen-0 collection that they trigger walks the young objects, and an
    older generation's walks everything a crawl or an import has loaded (Scrapy, SQLAlchemy,
    the lexicon's automata): bench/classify.py measured 10-20% of the time there. The batch
    frees its objects by reference counting; any cycle waits for the next collection."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _result(
    language: LanguageResult,
    found: tuple[list[TopicMatch], list[Signal]],
    scores: tuple[tuple[str, float], ...],
) -> Classification:
    matches, signals = found
    return Classification(
        language=language.language,
        script=language.script,
        language_probability=language.probability,
        languages=language.languages,
        matches=tuple(matches),
        signals=tuple(signals),
        scores=scores,
    )
