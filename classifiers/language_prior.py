"""A per-source tally of confidently identified languages, used as a prior for short posts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping

__all__ = ["Prior", "SourcePriors"]

# A prior is a weight per language code; weights need not sum to one.
Prior = Mapping[str, float]


class SourcePriors:
    """Counts the languages of a source's long, confidently identified posts.

    A channel or community wall mostly writes in one or two languages, so its confident posts
    say which language its three-word posts are most likely in.
    """

    def __init__(self, min_probability: float = 0.95, min_letters: int = 40) -> None:
        self.min_probability = min_probability
        self.min_letters = min_letters
        self._counts: dict[Hashable, Counter[str]] = {}

    def observe(self, source: Hashable, language: str, probability: float, letters: int) -> bool:
        """Count one identified post if it is long and confident enough; True if counted."""
        if language == "und" or probability < self.min_probability or letters < self.min_letters:
            return False
        self._counts.setdefault(source, Counter())[language] += 1
        return True

    def prior(self, source: Hashable) -> dict[str, float] | None:
        """Each language's share of the source's counted posts; None before any is counted."""
        counts = self._counts.get(source)
        if not counts:
            return None
        total = sum(counts.values())
        return {language: count / total for language, count in counts.items()}

    def counted(self, source: Hashable) -> int:
        """How many of the source's posts have been counted."""
        counts = self._counts.get(source)
        return sum(counts.values()) if counts else 0
