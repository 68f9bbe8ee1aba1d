"""Context that makes the militant reading of an ambiguous acronym clear (configs/context.yaml)."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from classifiers import yaml_text
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR
from classifiers.normalize import normalize

__all__ = [
    "ARABIC_DEFINITE",
    "CONTEXT",
    "HISTORIC_FAMILIES",
    "QUOTED",
    "digest",
    "everyday",
    "has_context",
    "in_register",
    "reports_on",
    "unclear",
]

CONTEXT = DEFAULT_LEXICON_DIR.parent / "context.yaml"


# Families with a name that is also a historic state or province ("Islamic state" of the
# Abbasids, the historic Wilayat Khorasan): their names in words need context next to history.
HISTORIC_FAMILIES = frozenset({"islamic_state", "isil_khorasan"})


# Text in quotes: «...», "...", “...”, and '...' whose marks are not apostrophes inside words
# (Uzbek «to'y», «bog'da»).
QUOTED = re.compile(r"(?:[«\"“„]|(?<!\w)['‘])[^«»\"“”„\n]{1,60}?(?:[»\"”“]|['’](?!\w))")


@functools.cache
def digest(path: Path = CONTEXT) -> str:
    """A digest of the context words (part of the lexicon's version: they decide tags)."""
    return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()


@functools.cache
def _data(path: Path = CONTEXT) -> dict[str, dict[str, list[str]]]:
    return yaml_text.safe_load(path.read_text(encoding="utf-8")) or {}


def _stems(key: str) -> list[str]:
    words = {normalize(str(stem)).text for group in _data().get(key, {}).values() for stem in group}
    return sorted(words, key=len, reverse=True)


def _start_of_word(stems: list[str]) -> re.Pattern[str]:
    # At the start of a word (an apostrophe inside an Uzbek word is a letter: «qo'ng'iroq»
    # holds no «iroq»), or after Arabic clitics and the article.
    alternatives = "|".join(re.escape(stem) for stem in stems)
    return re.compile(f"(?<![^\\W_])(?<!\\w['ʻʼ‘’])(?:[وفبكل]{{0,2}}(?:ال)?)?(?:{alternatives})")


@functools.cache
def _pattern(key: str = "stems") -> re.Pattern[str]:
    return _start_of_word(_stems(key))


# Arabic clitics (و ف ب ك) and the article, also after ل (للدولة: ل + الدولة).
_CLITIC, _ARTICLE = "[وفبك]", "(?:ال|لل)"
# A word written with the article (a name whose words all take it needs it: classifiers.lexicon).
ARABIC_DEFINITE = re.compile(f"{_CLITIC}?{_ARTICLE}")
# What goes before a homonym: «الطالبان» (the two students) is «طالبان».
_ARABIC_CLITICS = re.compile(f"^{_CLITIC}?{_ARTICLE}?")


@functools.cache
def _homonyms() -> dict[str, re.Pattern[str]]:
    """Each homonym (normalised) and a pattern of the words of its ordinary sense."""
    return {
        normalize(str(word)).text: _start_of_word([normalize(str(s)).text for s in senses])
        for word, senses in (_data().get("homonyms") or {}).items()
    }


def has_context(normalized_text: str) -> bool:
    """Whether a normalised post has a word that makes an acronym's militant reading clear."""
    return _pattern().search(normalized_text) is not None


def reports_on(normalized_text: str) -> bool:
    """Whether a normalised post reads as someone else reporting (researchers, analysts, a
    study, a platform's takedown): configs/context.yaml, reporting."""
    return _pattern("reporting").search(normalized_text) is not None


def everyday(normalized_text: str) -> tuple[int, int] | None:
    """The span of the first word of an everyday domain in a normalised post (food, sport,
    weddings, weather...: configs/context.yaml, everyday), or None. A word in quotes does not
    count: «Огурцы», «Toʻy torti» in quotes are code names, not the thing."""
    quoted = [found.span() for found in QUOTED.finditer(normalized_text)]
    for found in _pattern("everyday").finditer(normalized_text):
        if any(start <= found.start() < end for start, end in quoted):
            continue
        end = found.end()
        while end < len(normalized_text) and normalized_text[end].isalnum():
            end += 1
        return found.start(), end
    return None


def in_register(normalized_text: str) -> bool:
    """Whether a normalised post has a word of the militant register (configs/context.yaml,
    register): jihad, mujahid, taghut, hijra, "those who understand understood"..."""
    return _pattern("register").search(normalized_text) is not None


def unclear(family: str | None, found: str, word: Callable[[], str], normalized_text: str) -> bool:
    """Whether a name found as `found`, in the word `word()` gives (normalised; asked only when
    needed), needs context the post lacks: the word is also an ordinary word and the post has
    a word of that sense (Tajik «толибони синфи 9»: the students of class 9), or the name is
    written out in words in a post about a historic state (the Abbasid "Islamic state")."""
    letters = [c for c in found if c.isalpha()]
    # An ordinary word is not written in capitals: «ИГИЛ» is the acronym next to a concert.
    in_capitals = len(letters) > 1 and all(c.isupper() for c in letters)
    homonym = False
    if not in_capitals:
        bare = _ARABIC_CLITICS.sub("", word())
        homonym = any(
            bare.startswith(name) and ordinary.search(normalized_text)
            for name, ordinary in _homonyms().items()
        )
    historic = (
        family in HISTORIC_FAMILIES
        and " " in found.strip()
        and _pattern("history").search(normalized_text) is not None
    )
    if historic:
        return _historic_context().search(normalized_text) is None
    return homonym and not has_context(normalized_text)


@functools.cache
def _historic_context() -> re.Pattern[str]:
    """The context stems without those of the historic register (configs/context.yaml)."""
    register = set(_stems("history_register"))
    return _start_of_word([stem for stem in _stems("stems") if stem not in register])
