"""Context that makes the militant reading of an ambiguous acronym clear (configs/context.yaml)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from classifiers import yaml_text
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR
from classifiers.normalize import normalize

__all__ = ["CONTEXT", "has_context"]

CONTEXT = DEFAULT_LEXICON_DIR.parent / "context.yaml"


@functools.cache
def _pattern(path: Path = CONTEXT) -> re.Pattern[str]:
    data = yaml_text.safe_load(path.read_text(encoding="utf-8")) or {}
    stems = sorted(
        {normalize(str(stem)).text for words in data.get("stems", {}).values() for stem in words},
        key=len,
        reverse=True,
    )
    # At the start of a word, or after Arabic clitics and the article.
    alternatives = "|".join(re.escape(stem) for stem in stems)
    return re.compile(f"(?<![^\\W_])(?:[وفبكل]{{0,2}}(?:ال)?)?(?:{alternatives})")


def has_context(normalized_text: str) -> bool:
    """Whether a normalised post has a word that makes an acronym's militant reading clear."""
    return _pattern().search(normalized_text) is not None
