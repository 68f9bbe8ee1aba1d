"""Look-alike letters and digits between Latin, Cyrillic and Greek, for reading evasive spellings.

The tables work on casefolded text and map one character to one character, so a folded text
keeps the offsets of the text it came from. They follow the Latin/Cyrillic/Greek pairs of the
Unicode confusables data (UTS #39) that matter for names written in capitals: the lower-case
forms of look-alike capitals (Н/H, Т/T, В/B, М/M, К/K) are paired too, because a name typed in
capitals is casefolded before it is read.
"""

from __future__ import annotations

import re

__all__ = ["DIGIT_LIKE", "MIXED_RE", "SCRIPT_CLASSES", "to_cyrillic", "to_latin"]

# (Latin, Cyrillic) look-alike pairs, lower case.
_PAIRS = (
    ("a", "а"),
    ("b", "в"),
    ("c", "с"),
    ("e", "е"),
    ("h", "н"),
    ("i", "і"),
    ("j", "ј"),
    ("k", "к"),
    ("m", "м"),
    ("o", "о"),
    ("p", "р"),
    ("s", "ѕ"),
    ("t", "т"),
    ("x", "х"),
    ("y", "у"),
    ("d", "ԁ"),
    ("q", "ԛ"),
    ("w", "ԝ"),
    ("l", "ӏ"),
)
# Greek letters that pass for Latin or Cyrillic ones.
_GREEK = {
    "α": ("a", "а"),
    "β": ("b", "в"),
    "ε": ("e", "е"),
    "η": ("n", "п"),
    "ι": ("i", "і"),
    "κ": ("k", "к"),
    "μ": ("u", "м"),
    "ν": ("v", "v"),
    "ο": ("o", "о"),
    "ρ": ("p", "р"),
    "τ": ("t", "т"),
    "υ": ("u", "у"),
    "χ": ("x", "х"),
    "σ": ("o", "о"),
}
# Digits and signs typed for letters ("D4ESH", "T@liban", "I$IS"); "1" is read as i or l in
# Latin words and as и (standing in for І) in Cyrillic ones.
_DIGITS_LATIN = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "@": "a",
    "$": "s",
}
_DIGITS_CYRILLIC = {"0": "о", "1": "и", "3": "з", "4": "ч", "6": "б", "@": "а", "$": "ѕ"}
# In Cyrillic words 4 and 3 also stand for the letters they look like ("Исл4м", "Д3ржава"),
# not only for the sounds ч and з of Russian leetspeak: a second reading.
# "$" and a Latin s in a Cyrillic word are read as с, the letter they stand for ("Хора$ан").
_DIGITS_CYRILLIC_SHAPE = {"4": "а", "3": "е", "$": "с", "s": "с"}
DIGIT_LIKE = frozenset(_DIGITS_LATIN) | frozenset(_DIGITS_CYRILLIC)

_LATIN = "a-z\u00df-\u00f6\u00f8-\u024f"
_CYRILLIC = "\u0400-\u052f"
_GREEK_RANGE = "\u0370-\u03ff"
SCRIPT_CLASSES = (_LATIN, _CYRILLIC, _GREEK_RANGE)
_DIGIT_CLASS = "0-9@$"
_LETTER = f"[{_LATIN}{_CYRILLIC}{_GREEK_RANGE}]"
# Two scripts side by side, or a digit or sign glued to a letter: a word worth folding.
MIXED_RE = re.compile(
    f"[{_LATIN}][{_CYRILLIC}{_GREEK_RANGE}]|[{_CYRILLIC}{_GREEK_RANGE}][{_LATIN}]"
    f"|[{_CYRILLIC}][{_GREEK_RANGE}]|[{_GREEK_RANGE}][{_CYRILLIC}]"
    f"|{_LETTER}[{_DIGIT_CLASS}]|[{_DIGIT_CLASS}]{_LETTER}"
)

_TO_LATIN = {ord(cyr): lat for lat, cyr in _PAIRS}
_TO_LATIN.update({ord(greek): lat for greek, (lat, _) in _GREEK.items()})
_TO_CYRILLIC = {ord(lat): cyr for lat, cyr in _PAIRS}
_TO_CYRILLIC.update({ord(greek): cyr for greek, (_, cyr) in _GREEK.items()})
# Kazakh і and the Russian и are different letters but the same name ("ИГІЛ", "ІШИД").
_TO_CYRILLIC[ord("і")] = "и"
_TO_CYRILLIC[ord("i")] = "и"
_TABLES = {
    "i": {**_TO_LATIN, **{ord(k): v for k, v in _DIGITS_LATIN.items()}},
    "l": {**_TO_LATIN, **{ord(k): v for k, v in _DIGITS_LATIN.items()}, ord("1"): "l"},
    "cyrillic": {**_TO_CYRILLIC, **{ord(k): v for k, v in _DIGITS_CYRILLIC.items()}},
    "cyrillic_shape": {
        **_TO_CYRILLIC,
        **{ord(k): v for k, v in {**_DIGITS_CYRILLIC, **_DIGITS_CYRILLIC_SHAPE}.items()},
    },
}


def to_latin(word: str, one: str = "i") -> str:
    """The word with Cyrillic and Greek look-alikes and digits read as Latin letters."""
    return word.translate(_TABLES[one])


def to_cyrillic(word: str, shape: bool = False) -> str:
    """The word with Latin and Greek look-alikes and digits read as Cyrillic letters.

    With `shape`, 4 and 3 are read as the letters they look like (а, е) instead of ч, з, and
    "$" and s as с.
    """
    return word.translate(_TABLES["cyrillic_shape" if shape else "cyrillic"])
