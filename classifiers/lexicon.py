"""Lexicon matching: every term of every lexicon in one Aho-Corasick automaton, then checks."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from classifiers.base import TopicMatch
from classifiers.lexicon_files import Layer, Lexicon, LexiconError, Mode, Term, load_lexicons
from classifiers.normalize import SEPARATORS, Normalized, normalize, original_span, squeeze

__all__ = [
    "MATCHER_VERSION",
    "Layer",
    "Lexicon",
    "LexiconError",
    "LexiconTagger",
    "Mode",
    "Term",
    "TopicMatch",
    "content_hash",
    "load_lexicons",
]

# Bump when matching rules change, so that stored tags are recomputed even if lexicons are not.
MATCHER_VERSION = "1"

_SEPARATOR_CLASS = "[" + re.escape(SEPARATORS) + "]"
_SPLIT_RE = re.compile(_SEPARATOR_CLASS + "+")
# One space, hyphen or " - " between words, or nothing ("Хизбут-Тахрир", "#ХизбутТахрир").
_GAP = _SEPARATOR_CLASS + "{0,3}"
# stem mode: up to five letters of case ending or suffix after each word.
_ENDING = r"[^\W\d_]{0,5}"
# The match must not run on into a letter or digit (underscore is a separator, not a letter).
_END = r"(?![^\W_])"
# Arabic clitics written together with the next word: wa-/fa- (and), bi-/li-/ka- (in, for,
# like) and the article al-; li- + al- is written لل. Terms starting with ال are matched
# without it so that the contracted form is found as well.
_ARABIC_ARTICLE = "ال"
_ARABIC_PREFIX_RE = re.compile("[وف]?[بكل]?(?:ال)?")
_ARABIC_ARTICLE_PREFIX_RE = re.compile("[وف]?[بك]?ال|[وف]?لل")
_MAX_ARABIC_PREFIX = 4


@dataclass(frozen=True, slots=True)
class _Entry:
    lexicon: Lexicon
    term: Term
    pattern: re.Pattern[str]
    # Upper/lower pattern of the term's letters; only abbr terms are case-sensitive.
    case: tuple[bool, ...] | None
    excludes: frozenset[str]
    arabic_prefix: re.Pattern[str] | None


class LexiconTagger:
    """Tag posts with the topics of the lexicon terms they mention."""

    def __init__(
        self, lexicons: Sequence[Lexicon], name: str = "lexicon", version: str | None = None
    ) -> None:
        self.name = name
        self.lexicons = tuple(lexicons)
        self.version = version or f"{MATCHER_VERSION}.{content_hash(self.lexicons)}"
        self.labels = tuple(sorted({lexicon.topic for lexicon in self.lexicons}))
        self._entries: list[_Entry] = []
        # All terms go into two automata, one per view of the text: names written as one
        # run of letters are looked up in the normalised text itself (no offset mapping
        # needed); names with spaces, hyphens or apostrophes in the separator-free text.
        keys: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        for lexicon in self.lexicons:
            for term in lexicon.terms:
                key, joined, entry = _compile(lexicon, term)
                keys[joined].setdefault(key, []).append(len(self._entries))
                self._entries.append(entry)
        self._plain, self._joined = (_automaton(view) for view in keys)

    def tag(self, text: str) -> list[TopicMatch]:
        """Return the lexicon matches in text, with spans in the original text."""
        norm = normalize(text)
        starts: list[tuple[int, tuple[int, ...]]] = []
        if self._plain is not None:
            for last, (length, indexes) in self._plain.iter(norm.text):
                starts.append((last - length + 1, indexes))
        if self._joined is not None:
            hits = list(self._joined.iter(squeeze(norm.text)))
            if hits:
                # Built only for posts with such a candidate, which are rare.
                kept = [i for i, char in enumerate(norm.text) if char not in SEPARATORS]
                starts.extend((kept[last - length + 1], ids) for last, (length, ids) in hits)
        matches: list[TopicMatch] = []
        for begin, indexes in starts:
            for index in indexes:
                match = self._check(self._entries[index], norm, text, begin)
                if match is not None:
                    matches.append(match)
        return _drop_contained(matches) if len(matches) > 1 else matches

    def _check(self, entry: _Entry, norm: Normalized, text: str, begin: int) -> TopicMatch | None:
        folded = norm.text
        start = begin
        if entry.arabic_prefix is not None:
            while start > 0 and begin - start < _MAX_ARABIC_PREFIX and folded[start - 1].isalpha():
                start -= 1
            if not entry.arabic_prefix.fullmatch(folded, start, begin):
                return None
        if start > 0 and folded[start - 1].isalnum():
            return None
        found = entry.pattern.match(folded, begin)
        if found is None:
            return None
        if entry.excludes and squeeze(folded[start : found.end()]) in entry.excludes:
            return None
        first, stop = original_span(norm, text, start, found.end())
        if entry.case is not None and entry.case != _case_pattern(text[first:stop]):
            return None
        lexicon = entry.lexicon
        return TopicMatch(
            topic=lexicon.topic,
            family=lexicon.family,
            term=entry.term.term,
            start=first,
            end=stop,
            lang=tuple(entry.term.lang),
            layer=lexicon.layer,
        )


def content_hash(lexicons: Sequence[Lexicon]) -> str:
    """First 8 hex digits of a SHA-256 over what decides the tags (not notes or sources)."""
    records = sorted(
        json.dumps(
            lexicon.model_dump(
                mode="json", exclude={"source": True, "terms": {"__all__": {"note"}}}
            ),
            sort_keys=True,
            ensure_ascii=False,
        )
        for lexicon in lexicons
    )
    return hashlib.sha256("\n".join(records).encode()).hexdigest()[:8]


def _automaton(keys: dict[str, list[int]]) -> ahocorasick.Automaton | None:
    if not keys:
        return None
    automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
    for key, indexes in keys.items():
        automaton.add_word(key, (len(key), tuple(indexes)))
    automaton.make_automaton()
    return automaton


def _compile(lexicon: Lexicon, term: Term) -> tuple[str, bool, _Entry]:
    # Words are what spaces separate in the term; hyphens and apostrophes inside a word
    # ("аль-Каида", "Oʻzbekiston") are flexible gaps, but stem endings go only after words.
    words = [word for word in normalize(term.term).text.split(" ") if squeeze(word)]
    arabic_prefix = None
    if "ar" in term.lang:
        arabic_prefix = _ARABIC_PREFIX_RE
        if words[0].startswith(_ARABIC_ARTICLE) and len(words[0]) > len(_ARABIC_ARTICLE) + 1:
            words[0] = words[0][len(_ARABIC_ARTICLE) :]
            arabic_prefix = _ARABIC_ARTICLE_PREFIX_RE
    ending = _ENDING if term.mode == "stem" else ""
    pattern = re.compile(_GAP.join(_word_pattern(word) + ending for word in words) + _END)
    # stem terms are looked up by their first word only, since later words may carry endings.
    looked_up = words[0] if term.mode == "stem" else " ".join(words)
    key = squeeze(looked_up)
    excludes = frozenset(squeeze(normalize(word).text) for word in term.exclude)
    case = _case_pattern(term.term) if term.mode == "abbr" else None
    return key, key != looked_up, _Entry(lexicon, term, pattern, case, excludes, arabic_prefix)


def _word_pattern(word: str) -> str:
    return _GAP.join(re.escape(part) for part in _SPLIT_RE.split(word) if part)


def _case_pattern(text: str) -> tuple[bool, ...]:
    return tuple(char.isupper() for char in unicodedata.normalize("NFKC", text) if char.isalpha())


def _drop_contained(matches: list[TopicMatch]) -> list[TopicMatch]:
    """Keep the longest reading: drop a match inside another of the same topic."""
    ordered = sorted(matches, key=lambda m: (m.start, m.start - m.end, m.family, m.term))
    kept: list[TopicMatch] = []
    for match in ordered:
        if not any(
            other.topic == match.topic
            and other.start <= match.start
            and match.end <= other.end
            and (other.end - other.start > match.end - match.start or other.family == match.family)
            for other in kept
        ):
            kept.append(match)
    return kept
