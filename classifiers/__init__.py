"""The classification stage: language identification plus lexicon topic tagging for each post.

The language model (NumPy, ~40 MB resident) loads only when a name from `classifiers.language`
or `classifiers.post` is first used, so checking lexicons stays cheap in the crawling process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from classifiers.base import TOPICS, Classification, Tagger, Topic, TopicMatch
from classifiers.lexicon import Lexicon, LexiconError, LexiconTagger, load_lexicons
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR
from classifiers.normalize import Normalized, clean_text, normalize

if TYPE_CHECKING:
    from classifiers.language import DEFAULT_LANGUAGES, Engine, LanguageIdentifier, LanguageResult
    from classifiers.post import PostClassifier

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_LEXICON_DIR",
    "TOPICS",
    "Classification",
    "Engine",
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


_LAZY = {
    "DEFAULT_LANGUAGES": "classifiers.language",
    "Engine": "classifiers.language",
    "LanguageIdentifier": "classifiers.language",
    "LanguageResult": "classifiers.language",
    "PostClassifier": "classifiers.post",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
