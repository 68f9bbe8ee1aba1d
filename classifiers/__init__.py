"""The classification stage: language identification plus lexicon topic tagging for each post."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast, get_args

from classifiers.base import TOPICS, Classification, Tagger, Topic, TopicMatch
from classifiers.language import DEFAULT_LANGUAGES, Engine, LanguageIdentifier, LanguageResult
from classifiers.lexicon import Lexicon, LexiconError, LexiconTagger, load_lexicons
from classifiers.normalize import Normalized, clean_text, normalize

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_LEXICON_DIR",
    "TOPICS",
    "Classification",
    "LanguageIdentifier",
    "LanguageResult",
    "Lexicon",
    "LexiconError",
    "LexiconTagger",
    "Normalized",
    "PostClassifier",
    "Tagger",
    "Topic",
    "TopicMatch",
    "clean_text",
    "load_lexicons",
    "normalize",
]

DEFAULT_LEXICON_DIR = Path(__file__).resolve().parents[1] / "configs" / "lexicons"


class PostClassifier:
    """Identify each post's language and tag the designated organisations and topics it mentions."""

    name = "vemeter"

    def __init__(
        self,
        lexicon_paths: Sequence[Path] | None = None,
        languages: Sequence[str] | None = None,
        engine: str = "py3langid",
    ) -> None:
        if engine not in get_args(Engine):
            raise ValueError(f"unknown language engine {engine!r} (use py3langid or langdetect)")
        self.language = LanguageIdentifier(languages, engine=cast(Engine, engine))
        self.lexicon = LexiconTagger(load_lexicons(lexicon_paths or [DEFAULT_LEXICON_DIR]))
        self.labels: tuple[str, ...] = TOPICS
        self.version = ",".join(f"{key}={value}" for key, value in self.versions.items())

    @property
    def versions(self) -> dict[str, str]:
        """Name@version of each component, to store beside every tag."""
        return {
            "language": self.language.version,
            "lexicon": f"{self.lexicon.name}@{self.lexicon.version}",
        }

    def classify(self, text: str) -> Classification:
        """Identify the language of text and find its lexicon matches."""
        language = self.language.identify(text)
        return Classification(
            language=language.language,
            script=language.script,
            language_probability=language.probability,
            matches=tuple(self.lexicon.tag(text)),
        )
