"""Cues that are shapes, not words: a card number, a phone number, a crypto wallet, an @handle,
a link. A content rule can use them like a cue group ("send to 4400 1234 5678 9012" +
"for the mujahideen"), so that payment and contact details count however they are worded.

The bracketed placeholders that anonymised exports and this project's evaluation sets put in
their place ([CARD], [CONTACT], [LINK]) count as the shape they stand for.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["TYPED_KINDS", "TypedKind", "find_typed", "shapes_as_placeholders"]

TypedKind = Literal["card", "phone", "crypto", "handle", "link"]
TYPED_KINDS: tuple[TypedKind, ...] = ("card", "phone", "crypto", "handle", "link")

# Order matters: at one position the first alternative wins (a card number is not a phone).
_PATTERNS: dict[TypedKind, str] = {
    # 16 to 19 digits, in groups of four or not.
    "card": r"(?<![\d])\d{4}(?:[ -]?\d{4}){3}(?:[ -]?\d{1,3})?(?![\d])|\[CARD\]",
    "crypto": (
        r"\b(?:bc1[a-z0-9]{25,59}|[13][a-km-zA-HJ-NP-Z1-9]{25,34}|0x[0-9a-fA-F]{40}"
        r"|T[1-9A-HJ-NP-Za-km-z]{33})\b"
    ),
    # International or local numbers of 9 to 15 digits with the usual separators.
    "phone": r"(?<![\w+])\+?\d{1,3}[ (.-]{0,2}\d{2,4}[ ).-]{0,2}\d{3}[ .-]?\d{2}[ .-]?\d{2}(?!\d)"
    r"|\[CONTACT\]",
    "handle": r"(?<![\w@.])@[A-Za-z][A-Za-z0-9_]{3,31}\b",
    # Up to the first space or closing punctuation.
    "link": (
        r"\bhttps?://[^\s,;)\]»\"'<>]+|\b(?:t\.me|telegram\.me|wa\.me|vk\.com|ok\.ru)/[^\s,;)\]»\"'<>]+"
        r"|\bwww\.[^\s,;)\]»\"'<>]+|\[LINK\]"
    ),
}
_TYPED_RE = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS.items()))


# Every shape above needs one of these (a digit, a bracket, "@", a link's marks) or a TRON
# address: a text with none of them is passed over in a few substring searches instead of
# running the whole pattern at each of its characters (~4x faster on everyday posts).
_DIGIT = re.compile(r"\d")
_TRON = re.compile(r"T[1-9A-HJ-NP-Za-km-z]{33}")
_MARKS = ("[", "@", "://", "www.", ".me/", "vk.com/", "ok.ru/")


def _may_have_shapes(text: str) -> bool:
    # _MARKS spelled out: four of them hold a "/", so one search stands for them in most posts.
    return (
        _DIGIT.search(text) is not None
        or "[" in text
        or "@" in text
        or "www." in text
        or (
            "/" in text
            and ("://" in text or ".me/" in text or "vk.com/" in text or "ok.ru/" in text)
        )
        or ("T" in text and _TRON.search(text) is not None)
    )


def find_typed(text: str) -> dict[TypedKind, tuple[int, int]]:
    """The span of the first card, phone, crypto wallet, handle and link in text."""
    found: dict[TypedKind, tuple[int, int]] = {}
    if not _may_have_shapes(text):
        return found
    for match in _TYPED_RE.finditer(text):
        kind = match.lastgroup
        if kind is not None and kind not in found:
            found[kind] = match.span()  # type: ignore[index]
    return found


_PLACEHOLDER: dict[str, str] = {
    "card": "[card]", "crypto": "[card]", "phone": "[contact]", "handle": "[contact]",
    "link": "[link]",
}  # fmt: skip


def shapes_as_placeholders(text: str) -> str:
    """Text in small letters with every card, wallet, phone, handle and link written as the
    placeholder the training posts have in its place: a model trained on "[CARD]" then reads
    "4400 1234 5678 9012" the same way (the topic model's preprocessor)."""
    if not _may_have_shapes(text):
        return text.lower()
    return _TYPED_RE.sub(lambda m: _PLACEHOLDER[m.lastgroup or "link"], text).lower()
