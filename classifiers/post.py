"""The combined per-post classifier: language identification plus lexicon topic tagging."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast, get_args

from classifiers.base import TOPICS, Classification
from classifiers.language import Engine, LanguageIdentifier
from classifiers.lexicon import LexiconTagger, load_lexicons
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR


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

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """classify() of each text; language identification runs once for the whole batch."""
        languages = self.language.identify_many(texts)
        return [
            Classification(
                language=language.language,
                script=language.script,
                language_probability=language.probability,
                matches=tuple(self.lexicon.tag(text)),
            )
            for text, language in zip(texts, languages, strict=True)
        ]
