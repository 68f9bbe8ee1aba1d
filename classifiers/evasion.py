"""Extra readings of a normalised text that undo evasion: split letters, hashtags, look-alikes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from classifiers.confusables import MIXED_RE, to_cyrillic, to_latin
from classifiers.native import NATIVE
from classifiers.normalize import Normalized

__all__ = ["evasion_views"]

# One C pass for the cheap hints (classifiers.native); else the regular expressions below.
_c_hints: Callable[[str], int] | None = NATIVE.evasion_hints if NATIVE is not None else None

# What may stand between the letters of a name spelled out: . * - _ · • | / + ~ and emoji (with
# their variation selector), and spaces; up to three of them ("И. Г. И. Л.", "Д 🔸 А").
_SEP_CHARS = (
    ".*\\-_|/+~\u00b7\u2010-\u2015\u2022\u2219\u22c5\u2190-\u2bff\U0001f000-\U0001faff\ufe0f"
)
_SEP = f"[\\s{_SEP_CHARS}]{{1,3}}"
# One letter standing alone; Uzbek Latin writes ш and ч as the digraphs sh and ch ("I.Sh.I.D").
_ELEMENT = "(?:[sc]h|[^\\W\\d_])(?![^\\W_])"
_RUN_RE = re.compile(f"(?<![^\\W_]){_ELEMENT}(?:{_SEP}{_ELEMENT}){{2,}}")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
# Three spelled-out letters make a name; two are usually initials ("Петров И.Г.").
_MIN_RUN = 3
_HASHTAG_RE = re.compile(r"#[^\W_]+")
_WORD_RE = re.compile(r"(?:[^\W_]|[@$])+")

# Cheap hints decide whether the slow readings are needed at all. Each is one search that skips
# quickly to a rare character: a spelled-out run has a single letter between separators
# (".Г.", "*A*", "🔸А🔸") or three single letters between spaces ("и г и"); a mixed word has a
# digit glued to a letter, or a run of one script next to a letter of another.
_LETTER = "[^\\W\\d_]"
_BETWEEN_SEPARATORS = f"(?<=[{_SEP_CHARS}]) ?{_LETTER} ?[{_SEP_CHARS}]"
_GLUED_DIGIT = f"(?:(?<={_LETTER}.)|(?={_LETTER}))"
# Both hints in one scan: it starts at a separator or digit and looks around from there.
_SEPARATOR_OR_DIGIT_RE = re.compile(
    f"[{_SEP_CHARS}0-9@$](?:{_BETWEEN_SEPARATORS}|(?<=[0-9@$]){_GLUED_DIGIT})"
)
_BETWEEN_SEPARATORS_RE = re.compile(f"[{_SEP_CHARS}]{_BETWEEN_SEPARATORS}")
_DIGIT_JOIN_RE = re.compile(f"[0-9@$]{_GLUED_DIGIT}")
_SPACED_LETTERS = f"{_LETTER} {_LETTER} {_LETTER}(?![^\\W_])"
_SPACED_RE = re.compile(f" {_SPACED_LETTERS}")
_SPACED_AT_START_RE = re.compile(_SPACED_LETTERS)
_LATIN = "a-z\u00df-\u024f"
_NON_LATIN = "\u0370-\u052f"  # Greek and Cyrillic
# Each starts with the script that is rare in the post, so the search skips ahead quickly.
_LATIN_JOIN_RE = re.compile(f"[{_LATIN}](?:(?=[{_NON_LATIN}])|(?<=[{_NON_LATIN}].))")
_NON_LATIN_JOIN_RE = re.compile(f"[{_NON_LATIN}](?:(?=[{_LATIN}])|(?<=[{_LATIN}].))")


# Emoji and pictographs (with ZWJ and variation selectors) put inside a name ("ИГ🔥ИЛ",
# "Тали🇦🇫бан") or between its words ("Исламское ⚫ государство").
# Bullets and middle dots too ("ДА•ИШ", "Ҳизб•ут•Таҳрир"), and underscores ("Tav_hid").
_SYMBOL = "_\u00b7\u2022\u2027\u2190-\u2bff\u200d\ufe0f\U0001f000-\U0001faff"
_SYMBOL_RE = re.compile(f"[{_SYMBOL}*]")
_SYMBOL_IN_NAME_RE = re.compile(f"(?<=[^\\W\\d_])(?:( ?)[{_SYMBOL}]+( ?)|()\\*+())(?=[^\\W\\d_])")


def _drop_symbols(norm: Normalized) -> Normalized | None:
    """Emoji between two letters deleted, or one space where they stood between two words."""
    text = norm.text
    pieces: list[str] = []
    offsets: list[int] = []
    previous = 0
    for found in _SYMBOL_IN_NAME_RE.finditer(text):
        pieces.append(text[previous : found.start()])
        offsets.extend(norm.offsets[previous : found.start()])
        if found.group(1) and found.group(2):
            pieces.append(" ")
            offsets.append(norm.offsets[found.start()])
        previous = found.end()
    if not pieces:
        return None
    pieces.append(text[previous:])
    offsets.extend(norm.offsets[previous:])
    return Normalized("".join(pieces), offsets)


# A word cut into syllables by hyphens ("Ta-ly-ban", "Ис-лам-ское"): three pieces or more, none
# longer than three letters and not all single letters ("кто-то", "аль-Каида" and "бок-о-бок" are not cut so).
_SYLLABLES_RE = re.compile(r"(?<![^\W\d_-])[^\W\d_]{1,3}(?:-[^\W\d_]{1,3}){2,}(?![^\W\d_-])")


# An asterisk between letters most often hides a vowel ("Хизбут-Т*хрир"): one reading puts
# a vowel of the word's alphabet there (the spelling fold makes every vowel one).
_CENSORED_RE = re.compile(r"(?<=([^\W\d_]))\*(?=[^\W\d_])")


def _vowel_for(found: re.Match[str]) -> str:
    return "a" if found.group(1).isascii() else "а"


# "!" and "|" between letters stand for i ("Tal!ban", "Тол!бон", "Is|s").
_LEET_I_RE = re.compile(r"(?<=([^\W\d_]))[!|](?=[^\W\d_])")


def _i_for(found: re.Match[str]) -> str:
    return "i" if found.group(1).isascii() else "и"


# English letters by their names in Cyrillic, joined by hyphens: an acronym said aloud
# ("Ай-Эс-Кей-Пи": ISKP, "Эйч-Ти-Эс": HTS).
_LETTER_NAMES = {
    "эй": "a", "би": "b", "си": "c", "ди": "d", "эф": "f", "джи": "g", "эйч": "h", "ай": "i",
    "джей": "j", "кей": "k", "эл": "l", "эм": "m", "эн": "n", "оу": "o", "пи": "p", "кью": "q",
    "ар": "r", "эс": "s", "ти": "t", "ю": "u", "ви": "v", "дабл-ю": "w", "экс": "x", "уай": "y",
    "зед": "z", "зи": "z",
}  # fmt: skip
_LETTER_NAME = "|".join(sorted(map(re.escape, _LETTER_NAMES), key=len, reverse=True))
_SAID_ALOUD_RE = re.compile(
    f"(?<![^\\W\\d_])(?:{_LETTER_NAME})(?:-(?:{_LETTER_NAME})){{2,}}(?![^\\W\\d_])"
)
_LETTER_NAME_RE = re.compile(_LETTER_NAME)


def _read_letter_names(norm: Normalized) -> Normalized | None:
    """Acronyms said aloud in Cyrillic read as their Latin letters."""
    text = norm.text
    chars: list[str] = []
    offsets: list[int] = []
    previous = 0
    for run in _SAID_ALOUD_RE.finditer(text):
        chars.extend(text[previous : run.start()])
        offsets.extend(norm.offsets[previous : run.start()])
        for name in _LETTER_NAME_RE.finditer(text, run.start(), run.end()):
            chars.append(_LETTER_NAMES[name.group()])
            offsets.append(norm.offsets[name.start()])
        previous = run.end()
    if not previous:
        return None
    chars.extend(text[previous:])
    offsets.extend(norm.offsets[previous:])
    return Normalized("".join(chars), offsets)


def _join_syllables(norm: Normalized) -> Normalized | None:
    """Hyphens deleted inside words cut into syllables."""
    text = norm.text
    keep = [True] * len(text)
    for run in _SYLLABLES_RE.finditer(text):
        if all(len(piece) == 1 for piece in run.group().split("-")):
            continue  # letters spelled out: _join_spelled_out's, which also reads the case
        for index in range(run.start(), run.end()):
            if text[index] == "-":
                keep[index] = False
    if all(keep):
        return None
    kept = [index for index, flag in enumerate(keep) if flag]
    return Normalized("".join(text[i] for i in kept), [norm.offsets[i] for i in kept])


def evasion_views(norm: Normalized, original: str) -> list[Normalized]:
    """Other readings of norm worth matching too; [] for the great majority of posts.

    Each view keeps offsets into original: runs of spelled-out letters joined ("И.Г.И.Л" ->
    "игил"), camel-case hashtags split ("#TalibanNews" -> "taliban news"), and words that mix
    scripts or digits with letters read in one script ("ДAИШ", "D4ESH", "T@liban").
    """
    text = norm.text
    hints = _c_hints(text) if _c_hints is not None else python_hints(text)
    if hints & HINT_SYMBOL:
        dropped = _drop_symbols(norm)
        if dropped is not None:
            censored = _CENSORED_RE.sub(_vowel_for, text)
            vowels = [Normalized(censored, norm.offsets)] if censored != text else []
            return [dropped, *vowels, *evasion_views(dropped, original)]
    if hints & HINT_LEET:
        read = Normalized(_LEET_I_RE.sub(_i_for, text), norm.offsets)
        return [read, *evasion_views(read, original)]
    if hints & HINT_DASHES and _SAID_ALOUD_RE.search(text) is not None:
        said = _read_letter_names(norm)
        if said is not None:
            return [said, *evasion_views(said, original)]
    if hints & HINT_DASHES and _SYLLABLES_RE.search(text) is not None:
        joined = _join_syllables(norm)
        if joined is not None:
            return [joined, *evasion_views(joined, original)]
    if hints & HINT_ARTICLE and _SPACED_ARTICLE_RE.search(text) is not None:
        joined = _join_spaced_article(norm)
        return [joined, *evasion_views(joined, original)]
    if not hints & _VIEW_HINTS:
        return []
    spelled = bool(hints & (HINT_SPACED | HINT_BETWEEN))
    mixed = bool(hints & (HINT_SCRIPTS | HINT_DIGIT))
    views: list[Normalized] = []
    base = _join_spelled_out(norm, original) if spelled else norm
    if base is not norm:
        views.append(base)
    if hints & HINT_HASH:
        split = _split_camel_hashtags(base, original)
        if split is not None:
            views.append(split)
    if mixed or (base is not norm and MIXED_RE.search(base.text) is not None):
        views.extend(_fold_mixed_words(base))
    return views


# The Arabic article written as a word of its own ("ال قاعدة"), which Arabic never does.
_SPACED_ARTICLE_RE = re.compile("(?<![\\w\u0600-\u06ff])ال (?=[\u0621-\u064a])")


def _join_spaced_article(norm: Normalized) -> Normalized:
    """The article joined to the word after it: "ال قاعدة" reads "القاعدة"."""
    text = norm.text
    keep = [True] * len(text)
    for found in _SPACED_ARTICLE_RE.finditer(text):
        keep[found.end() - 1] = False
    kept = [index for index, flag in enumerate(keep) if flag]
    return Normalized("".join(text[i] for i in kept), [norm.offsets[i] for i in kept])


def _scripts_meet(text: str) -> bool:
    """True when a Latin letter touches a Cyrillic or Greek one."""
    # The ASCII part of the text tells cheaply whether there are Latin letters at all.
    ascii_part = text.encode("ascii", "ignore")
    non_ascii = len(text) - len(ascii_part)
    if not non_ascii or ascii_part == ascii_part.upper():
        return False
    join = _NON_LATIN_JOIN_RE if len(ascii_part) > non_ascii else _LATIN_JOIN_RE
    return join.search(text) is not None


# The cheap hints as bits: classifiers/_native.c computes the same mask in one pass.
HINT_SYMBOL = 1  # _SYMBOL_RE
HINT_LEET = 2  # _LEET_I_RE
HINT_DASHES = 4  # a hyphen in the text (the C pass: "x-abcd-y", which both hyphen forms need)
HINT_ARTICLE = 8  # "ال " in the text (the C pass: before an Arabic letter)
HINT_BETWEEN = 16  # _BETWEEN_SEPARATORS_RE
HINT_DIGIT = 32  # _DIGIT_JOIN_RE
HINT_SPACED = 64  # _SPACED_RE or _SPACED_AT_START_RE
HINT_SCRIPTS = 128  # _scripts_meet
HINT_HASH = 256  # "#" in the text
_VIEW_HINTS = HINT_BETWEEN | HINT_DIGIT | HINT_SPACED | HINT_SCRIPTS | HINT_HASH


def python_hints(text: str) -> int:
    """The hint bits by regular expressions (where the C pass is not built)."""
    bits = HINT_SYMBOL if _SYMBOL_RE.search(text) is not None else 0
    if ("!" in text or "|" in text) and _LEET_I_RE.search(text) is not None:
        bits |= HINT_LEET
    if "-" in text:
        bits |= HINT_DASHES
    if "ال " in text:
        bits |= HINT_ARTICLE
    if _SEPARATOR_OR_DIGIT_RE.search(text) is not None:
        if _BETWEEN_SEPARATORS_RE.search(text) is not None:
            bits |= HINT_BETWEEN
        if _DIGIT_JOIN_RE.search(text) is not None:
            bits |= HINT_DIGIT
    if _SPACED_RE.search(text) is not None or _SPACED_AT_START_RE.match(text) is not None:
        bits |= HINT_SPACED
    if _scripts_meet(text):
        bits |= HINT_SCRIPTS
    if "#" in text:
        bits |= HINT_HASH
    return bits


def _join_spelled_out(norm: Normalized, original: str) -> Normalized:
    """Drop the separators inside runs of three or more spelled-out letters of one case."""
    cuts: list[tuple[int, int]] = []
    for run in _RUN_RE.finditer(norm.text):
        elements = [(m.start(), m.end()) for m in _LETTERS_RE.finditer(norm.text, *run.span())]
        for piece in _pieces_by_case(elements, norm, original):
            if len(piece) >= _MIN_RUN:
                cuts.extend((a[1], b[0]) for a, b in itertools.pairwise(piece))
    if not cuts:
        return norm
    pieces: list[str] = []
    offsets: list[int] = []
    previous = 0
    for start, stop in cuts:
        pieces.append(norm.text[previous:start])
        offsets.extend(norm.offsets[previous:start])
        previous = stop
    pieces.append(norm.text[previous:])
    offsets.extend(norm.offsets[previous:])
    return Normalized("".join(pieces), offsets)


def _pieces_by_case(
    elements: list[tuple[int, int]], norm: Normalized, original: str
) -> list[list[tuple[int, int]]]:
    """Split a run where the case changes: "в И Г И Л и Д А И Ш" is в, ИГИЛ, и, ДАИШ."""
    pieces: list[list[tuple[int, int]]] = []
    state = ""  # U: all capitals, T: one capital then small letters, L: small letters
    for element in elements:
        upper = original[norm.offsets[element[0]]].isupper()
        if (upper and state == "U") or (not upper and state in ("T", "L")):
            pass
        elif not upper and state == "U" and len(pieces[-1]) == 1:
            state = "T"
        else:
            pieces.append([])
            state = "U" if upper else "L"
        pieces[-1].append(element)
    return pieces


# "and" (with the article: "wal") at the end of a hashtag's word, after three letters or more.
_JOINED_AND_RE = re.compile("(?:va|wa|ва|val|wal|вал|ul|уль)$")
_MIN_BEFORE_AND = 3


def _split_camel_hashtags(norm: Normalized, original: str) -> Normalized | None:
    """Put a space where a hashtag goes from a small letter to a capital ("#TalibanNews")."""
    cuts: list[int] = []
    for tag in _HASHTAG_RE.finditer(norm.text):
        start = tag.start() + 1
        for index in range(tag.start() + 2, tag.end()):
            before = original[norm.offsets[index - 1]]
            if before.islower() and original[norm.offsets[index]].isupper():
                # "and" in small letters before the capital is a word of its own:
                # "#TavhidvaJihod" is "Tavhid va Jihod".
                joined = _JOINED_AND_RE.search(norm.text, start, index)
                if joined is not None and joined.start() - start >= _MIN_BEFORE_AND:
                    cuts.append(joined.start())
                cuts.append(index)
                start = index
    if not cuts:
        return None
    pieces: list[str] = []
    offsets: list[int] = []
    previous = 0
    for cut in cuts:
        pieces.extend((norm.text[previous:cut], " "))
        offsets.extend(norm.offsets[previous:cut])
        offsets.append(norm.offsets[cut])
        previous = cut
    pieces.append(norm.text[previous:])
    offsets.extend(norm.offsets[previous:])
    return Normalized("".join(pieces), offsets)


def _fold_mixed_words(norm: Normalized) -> list[Normalized]:
    """Read every word that mixes scripts, or digits and letters, as Latin and as Cyrillic."""
    spans = [
        m.span() for m in _WORD_RE.finditer(norm.text) if MIXED_RE.search(m.group()) is not None
    ]
    if not spans:
        return []
    readings: list[Callable[[str], str]] = [lambda w: to_latin(w, "i"), to_cyrillic]
    if any("1" in norm.text[start:stop] for start, stop in spans):
        readings.append(lambda w: to_latin(w, "l"))
    if any(sign in norm.text[start:stop] for start, stop in spans for sign in "34$s"):
        readings.append(lambda w: to_cyrillic(w, shape=True))
    views: list[Normalized] = []
    for read in readings:
        chars = list(norm.text)
        for start, stop in spans:
            chars[start:stop] = read(norm.text[start:stop])
        folded = "".join(chars)
        if folded != norm.text and all(folded != view.text for view in views):
            views.append(Normalized(folded, norm.offsets))
    arabizi = _arabizi_reading(norm, spans)
    if arabizi is not None:
        views.append(arabizi)
    return views


# Arabizi, Arabic in Latin letters and digits: 7 is h; 3 (ayn) and 2 (hamza) are not written
# in other transcriptions ("da3esh": "daesh").
_ARABIZI_WORD_RE = re.compile(r"[a-z]*[237][a-z]+|[a-z]+[237][a-z]*")


def _arabizi_reading(norm: Normalized, spans: list[tuple[int, int]]) -> Normalized | None:
    text = norm.text
    cut = [
        (start, stop)
        for start, stop in spans
        if _ARABIZI_WORD_RE.fullmatch(text, start, stop) is not None
    ]
    if not cut:
        return None
    chars: list[str] = []
    offsets: list[int] = []
    previous = 0
    for start, stop in cut:
        chars.extend(text[previous:start])
        offsets.extend(norm.offsets[previous:start])
        for index in range(start, stop):
            if text[index] in "23":
                continue
            chars.append("h" if text[index] == "7" else text[index])
            offsets.append(norm.offsets[index])
        previous = stop
    chars.extend(text[previous:])
    offsets.extend(norm.offsets[previous:])
    return Normalized("".join(chars), offsets)
