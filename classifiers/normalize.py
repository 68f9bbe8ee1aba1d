"""Text normalisation shared by all matchers, keeping a map back to the original text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from classifiers.native import NATIVE

__all__ = [
    "BOXED_CAPITALS",
    "SEPARATORS",
    "Normalized",
    "clean_text",
    "normalize",
    "original_span",
    "squeeze",
]

# Invisible characters used (deliberately or by keyboards) to split words: removed for matching.
# Zero-width space/joiners, word joiner, BOM, soft hyphen, Mongolian vowel separator, invisible
# maths operators and emoji variation selectors all render as nothing between two letters.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u2061-\u2064\ufe0e\ufe0f"
# Arabic tatweel and short-vowel marks: decoration that would otherwise break exact matching.
_ARABIC_MARKS = "\u0640\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652"
# Combining accents left over after NFKC have no precomposed letter (Russian stress marks,
# "zalgo" decoration), so they only get in the way of matching.
_LEFTOVER_ACCENTS = "\u0300-\u036f"
_DELETE_RE = re.compile(f"[{_INVISIBLE}{_ARABIC_MARKS}{_LEFTOVER_ACCENTS}]+")
_SPACE_RUN_RE = re.compile(r" {2,}")
# Slow-path chunk length: short enough that a chunk with one odd character is cheap to redo.
_CHUNK = 16

# Letters in emoji boxes have no NFKC form: negative circled and negative squared capitals are
# read as the capital they show. Regional indicators are not: in pairs they are flags.
BOXED_CAPITALS = {base + i: chr(ord("A") + i) for base in (0x1F150, 0x1F170) for i in range(26)}

_FOLD: dict[int, str] = {
    # Uzbek Latin oʻ/gʻ and the tutuq belgisi are typed with many look-alike apostrophes.
    **dict.fromkeys(map(ord, "\u02bb\u02bc\u2019\u2018`\u02bf\u02be"), "'"),
    # ё is optional in Russian spelling, so the same word comes both ways.
    ord("ё"): "е",
    # Arabic hamza carriers on alef are very often dropped in informal writing.
    **dict.fromkeys(map(ord, "أإآٱ"), "ا"),
    # Informal Arabic writes the final ta marbuta as ha and alef maqsura as ya
    # («القاعده», «جند الخلافه»): both fold, as Arabic search engines fold them.
    ord("ة"): "ه",
    ord("ى"): "ي",
    # Persian keyboards type ی and ک where Arabic has ي and ك.
    ord("ی"): "ي",
    ord("ک"): "ك",
    # "Tali🅱️an": a boxed letter reads as the letter it shows.
    **{code: letter.lower() for code, letter in BOXED_CAPITALS.items()},
    # Every kind of whitespace becomes one plain space before runs are collapsed.
    **dict.fromkeys(map(ord, "\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2028\u2029"), " "),
    **dict.fromkeys(range(0x2000, 0x200B), " "),
    **dict.fromkeys(map(ord, "\u202f\u205f\u3000"), " "),
}
# A regex finds the few characters to fold: str.translate is slow on non-ASCII text.
# The boxed letters go in as ranges: listed one by one they make the class ~10x slower.
_FOLD_CLASS = re.escape("".join(chr(code) for code in _FOLD if code not in BOXED_CAPITALS)) + (
    "\U0001f150-\U0001f169\U0001f170-\U0001f189"
)
_FOLD_RE = re.compile(f"[{_FOLD_CLASS}]")
# One scan tells whether any folding or deleting is needed at all (often it is not); a lone
# character class is searched several times faster than an alternation.
_ANY_CHANGE_RE = re.compile(f"[{_FOLD_CLASS}{_INVISIBLE}{_ARABIC_MARKS}{_LEFTOVER_ACCENTS}]")


def _class_codes(fragment: str) -> list[int]:
    """The code points of a character-class fragment of characters and ranges ("a-z\u0300")."""
    codes: list[int] = []
    index = 0
    while index < len(fragment):
        if index + 2 < len(fragment) and fragment[index + 1] == "-":
            codes.extend(range(ord(fragment[index]), ord(fragment[index + 2]) + 1))
            index += 3
        else:
            codes.append(ord(fragment[index]))
            index += 1
    return codes


def _bitmap(codes: Sequence[int]) -> bytes:
    bits = bytearray(0x110000 // 8)
    for code in codes:
        bits[code >> 3] |= 1 << (code & 7)
    return bytes(bits)


# _ANY_CHANGE_RE's set as a bitmap, for the C loop's search (~8x faster: classifiers.native).
_CHANGE_BITS = _bitmap([*_FOLD, *_class_codes(_INVISIBLE + _ARABIC_MARKS + _LEFTOVER_ACCENTS)])


def _needs_change(text: str) -> bool:
    """Whether any character of text is folded or deleted (_ANY_CHANGE_RE)."""
    if NATIVE is not None:
        return bool(NATIVE.first_in(text, _CHANGE_BITS) >= 0)
    return _ANY_CHANGE_RE.search(text) is not None


# What may stand between the words of a multi-word name in normalised text: "Хизб ут-Тахрир",
# "Хизбут Тахрир" and "#Хизб_ут_Тахрир" are one name, and Uzbek apostrophes are often dropped.
SEPARATORS = " -_'\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_RARE_SEPARATORS = SEPARATORS.replace(" ", "")

# clean_text keeps ZWNJ/ZWJ: they are part of Persian spelling and of emoji sequences.
_CLEAN_INVISIBLE_RE = re.compile("[\u200b\u2060\ufeff\u00ad]")
_CLEAN_HSPACE_RE = re.compile(r"[^\S\n]+")
_CLEAN_BLANKS_RE = re.compile(r" ?\n ?")
_CLEAN_MANY_LINES_RE = re.compile(r"\n{3,}")
# Anything the four above (or a carriage return) would change; a single space is left as it is.
_CLEAN_NEEDED_RE = re.compile("[\u200b\u2060\ufeff\u00ad\r]|[^\\S\n ]| {2}| \n|\n |\n{3}")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, for each of its characters, the index of its source character."""

    text: str
    offsets: Sequence[int]


def normalize(text: str) -> Normalized:
    """NFKC, casefold and fold spelling variants, keeping offsets into the original text."""
    folded = text.casefold()
    if (
        len(folded) == len(text)
        and unicodedata.is_normalized("NFKC", text)
        and unicodedata.is_normalized("NFKC", folded)
    ):
        # Fast path for almost every post: casefold never shrinks a character, so equal
        # lengths mean a one-to-one mapping and the offsets are the identity (a range: no list
        # of 280 integers to build for a post that matches nothing).
        offsets: Sequence[int] = range(len(text))
    else:
        folded, offsets = _normalize_by_cluster(text)
    if "  " in folded or _needs_change(folded):
        folded = _FOLD_RE.sub(_fold_char, folded)
        folded, offsets = _delete(folded, offsets, _DELETE_RE)
        folded, offsets = _delete(folded, offsets, _SPACE_RUN_RE, keep_first=True)
    if folded.startswith(" "):
        folded, offsets = folded[1:], offsets[1:]
    if folded.endswith(" "):
        folded, offsets = folded[:-1], offsets[:-1]
    return Normalized(folded, offsets)


def original_span(norm: Normalized, original: str, start: int, end: int) -> tuple[int, int]:
    """Map the normalised span [start, end) back to a span of the original text."""
    begin = norm.offsets[start]
    stop = norm.offsets[end - 1] + 1
    # A decomposed accent (combining mark) belongs to the letter the span ends with.
    while stop < len(original) and unicodedata.combining(original[stop]):
        stop += 1
    return begin, stop


def squeeze(normalized_text: str) -> str:
    """Drop SEPARATORS from normalised text, so multi-word names compare as one string."""
    # str.replace per separator is several times faster than one regex substitution here.
    text = normalized_text.replace(" ", "")
    for separator in _RARE_SEPARATORS:
        if separator in text:
            text = text.replace(separator, "")
    return text


def clean_text(text: str) -> str:
    """Cheap clean-up for storage: NFC, no invisible characters, tidy spaces, line breaks kept."""
    if _CLEAN_NEEDED_RE.search(text) is None and unicodedata.is_normalized("NFC", text):
        return text.strip()  # most posts: nothing below would change them
    return _clean_text(text)


def _clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CLEAN_INVISIBLE_RE.sub("", text)
    text = _CLEAN_HSPACE_RE.sub(" ", text)
    text = _CLEAN_BLANKS_RE.sub("\n", text)
    return _CLEAN_MANY_LINES_RE.sub("\n\n", text).strip()


def _fold_char(match: re.Match[str]) -> str:
    return _FOLD[ord(match.group())]


def _normalize_by_cluster(text: str) -> tuple[str, list[int]]:
    """Slow path: normalise base letter + combining marks together so composition still works.

    The text goes in chunks that end before a letter (never before a combining mark); a chunk
    that needs nothing but casefolding keeps identity offsets, so one "№" or "…" in a post
    costs one chunk of per-cluster work, not the whole post.
    """
    parts: list[str] = []
    offsets: list[int] = []
    start = 0
    length = len(text)
    while start < length:
        stop = min(start + _CHUNK, length)
        while stop < length and unicodedata.combining(text[stop]):
            stop += 1
        chunk = text[start:stop]
        folded = chunk.casefold()
        if (
            len(folded) == len(chunk)
            and unicodedata.is_normalized("NFKC", chunk)
            and unicodedata.is_normalized("NFKC", folded)
        ):
            parts.append(folded)
            offsets.extend(range(start, stop))
        else:
            _normalize_clusters(text, start, stop, parts, offsets)
        start = stop
    return "".join(parts), offsets


def _normalize_clusters(
    text: str, start: int, end: int, parts: list[str], offsets: list[int]
) -> None:
    while start < end:
        stop = start + 1
        while stop < end and unicodedata.combining(text[stop]):
            stop += 1
        cluster = unicodedata.normalize("NFKC", text[start:stop]).casefold()
        # Casefolding can leave a decomposed sequence (e.g. ǰ), so normalise once more.
        cluster = unicodedata.normalize("NFKC", cluster)
        parts.append(cluster)
        offsets.extend([start] * len(cluster))
        start = stop


def _delete(
    text: str, offsets: Sequence[int], pattern: re.Pattern[str], *, keep_first: bool = False
) -> tuple[str, Sequence[int]]:
    """Remove every match of pattern (all but its first character if keep_first)."""
    if pattern.search(text) is None:
        return text, offsets
    pieces: list[str] = []
    kept: list[int] = []
    previous = 0
    skip = 1 if keep_first else 0
    for match in pattern.finditer(text):
        cut = match.start() + skip
        pieces.append(text[previous:cut])
        kept.extend(offsets[previous:cut])
        previous = match.end()
    pieces.append(text[previous:])
    kept.extend(offsets[previous:])
    return "".join(pieces), kept
