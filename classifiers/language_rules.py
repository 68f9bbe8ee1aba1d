"""Letter evidence, script counts and sentence splitting used around the statistical model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from classifiers.native import NATIVE

__all__ = ["LetterEvidence", "letter_count", "script_counts", "script_of", "segments"]

# Letters that only some of the project's languages use. A letter a language never writes is
# evidence against it; nothing is said about letters that are absent, because informal posts
# drop special letters freely (the langid notes measured absence penalties doing harm).
_WHO_WRITES: dict[str, str] = {
    "ә": "kk tt ba", "ғ": "kk ba tg uz", "қ": "kk tg uz", "ң": "kk ky tt ba",
    "ө": "kk ky tt ba", "ұ": "kk", "ү": "kk ky tt ba", "һ": "kk tt ba", "і": "kk uk",
    "ї": "uk", "є": "uk", "ґ": "uk", "ы": "ru kk ky tt ba", "э": "ru kk ky tt ba uz tg",
    "ў": "uz", "ҳ": "tg uz", "ӣ": "tg", "ӯ": "tg", "ҷ": "tg", "җ": "tt",
    "ҡ": "ba", "ҙ": "ba", "ҫ": "ba",
    "ə": "az", "ı": "tr az", "ğ": "tr az", "ä": "tk", "ň": "tk", "ý": "tk", "ž": "tk",
    "q": "uz az en", "x": "uz az en", "w": "tk en",
    "ʻ": "uz", "ʼ": "uz",
    "پ": "fa", "چ": "fa", "ژ": "fa", "گ": "fa", "ک": "fa", "ی": "fa", "ة": "ar", "ى": "ar",
}  # fmt: skip
# Uzbek Latin oʻ/gʻ typed with an ASCII or typographic apostrophe: "o'zbek", "g'alaba".
# Which languages write each script: a letter is evidence only among languages of its script,
# so a Latin brand name in a Russian post does not count against Russian.
_SCRIPT_LANGUAGES = {
    "Cyrl": {"ru", "kk", "ky", "uz", "tg", "tt", "ba", "uk"},
    "Latn": {"uz", "tk", "az", "tr", "en"},
    "Arab": {"ar", "fa"},
}
_UZ_APOSTROPHE_RE = re.compile(r"(?<![^\W\d_])[oOgG]['‘’`]\w")
_SEGMENT_RE = re.compile(r"(?<=[.!?…])\s+|\s*\n\s*")
_LETTER_RE = re.compile(r"[^\W\d_]")


def _keep_only(keep: bytes) -> bytes:
    return bytes(code for code in range(256) if code not in keep)


# Script counts come from UTF-8 lead bytes: a C-speed bytes.translate per script instead of a
# regex pass. Lead bytes D0-D4 are U+0400-U+053F (Cyrillic), D8-DB and DD are the Arabic
# blocks, C3-C9 Latin-1 to Latin Extended-B plus the ASCII letters.
_SCRIPT_BYTES: tuple[tuple[str, bytes], ...] = (
    ("Cyrl", _keep_only(bytes(range(0xD0, 0xD5)))),
    ("Latn", _keep_only(bytes([*range(65, 91), *range(97, 123), *range(0xC3, 0xCA)]))),
    ("Arab", _keep_only(bytes([*range(0xD8, 0xDC), 0xDD]))),
)


def script_counts(text: str) -> tuple[str | None, int, int]:
    """The script with the most letters (None without any), all letters, letters of others.

    Letters are counted by script lead bytes, so a few symbols of those blocks (e.g. ×) count
    too: close enough for thresholds, and far cheaper than a regex over every character.
    """
    if NATIVE is not None:  # the same counts in one C pass over the characters
        cyrillic, latin, arabic = NATIVE.script_letters(text)
        counts = [(cyrillic, "Cyrl"), (latin, "Latn"), (arabic, "Arab")]
    else:
        data = text.encode("utf-8", errors="surrogatepass")
        counts = [(len(data.translate(None, others)), code) for code, others in _SCRIPT_BYTES]
    count, code = max(counts)
    total = sum(n for n, _ in counts)
    return (code if count else None), total, total - count


def script_of(text: str) -> str | None:
    """The script with the most letters (Cyrl, Latn or Arab), None without any."""
    return script_counts(text)[0]


def letter_count(text: str) -> int:
    """How many letters the text has (digits, emoji and punctuation do not count)."""
    return len(_LETTER_RE.findall(text))


def segments(text: str, min_letters: int) -> list[str]:
    """Lines and sentences of at least `min_letters` letters (shorter ones say too little)."""
    return [part for part in _SEGMENT_RE.split(text) if script_counts(part)[1] >= min_letters]


class LetterEvidence:
    """Down-weights each language by the letters in a text that the language never writes."""

    def __init__(self, languages: Sequence[str], penalty: float) -> None:
        self.languages = tuple(languages)
        self._factors: dict[str, Any] = {}
        for letter, writers in _WHO_WRITES.items():
            allowed = set(writers.split())
            script = script_of(letter) or "Latn"  # ʻ and ʼ are modifier letters of Uzbek Latin
            rivals = _SCRIPT_LANGUAGES[script] - allowed
            factor = np.array([penalty if code in rivals else 1.0 for code in self.languages])
            # A letter none of the configured languages writes says nothing here.
            if allowed & set(self.languages):
                self._factors[letter] = factor
        self._apostrophe = self._factors.get("ʻ")
        # Capitals count as their small letter, except I: the capital of Turkish ı is plain I.
        self._key = {letter: letter for letter in self._factors}
        self._key.update({letter.upper(): letter for letter in self._factors if letter != "ı"})
        self._letters = frozenset(self._key)

    def factors(self, text: str) -> Any | None:
        """Per-language multipliers for text (None when it has no telling letters)."""
        found = {self._key[letter] for letter in self._letters.intersection(text)}
        result: Any | None = None
        for letter in found:
            factor = self._factors[letter]
            result = factor if result is None else result * factor
        if self._apostrophe is not None and _UZ_APOSTROPHE_RE.search(text):
            result = self._apostrophe if result is None else result * self._apostrophe
        return result
