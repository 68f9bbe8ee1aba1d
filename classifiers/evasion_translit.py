"""Latin spellings of Cyrillic names and Cyrillic spellings of Latin ones, for the lexicon compiler.

Names are written in whichever alphabet is at hand ("IGIL", "Khizb ut-Takhrir", "Хизбут
Тахрир", Uzbek in both alphabets), so the compiler adds these spellings instead of every
lexicon listing them. The tables are deterministic; letters with several usual spellings
(х: kh, h, x) give several variants, capped so that a long name cannot explode.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["MAX_VARIANTS", "transliterations"]

MAX_VARIANTS = 48

# Russian (BGN/PCGN and everyday), with the extra letters of Kazakh, Kyrgyz, Uzbek and Tajik.
_CYRILLIC_TO_LATIN: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "д": ("d",), "е": ("e",),
    "ё": ("yo", "e"), "ж": ("zh", "j"), "з": ("z",), "и": ("i",), "й": ("y", "i", "j"),
    "к": ("k",), "л": ("l",), "м": ("m",), "н": ("n",), "о": ("o",), "п": ("p",),
    "р": ("r",), "с": ("s",), "т": ("t",), "у": ("u",), "ф": ("f",), "х": ("kh", "h", "x"),
    "ц": ("ts", "c"), "ч": ("ch",), "ш": ("sh",), "щ": ("shch", "sch"), "ъ": ("", "'"),
    "ы": ("y", "i"), "ь": ("", "'"), "э": ("e",), "ю": ("yu", "iu"), "я": ("ya", "ia"),
    "ә": ("a", "ae"), "ғ": ("g'", "gh"), "қ": ("q", "k"), "ң": ("ng", "n"), "ө": ("o", "o'"),
    "ұ": ("u",), "ү": ("u",), "һ": ("h",), "і": ("i",), "ў": ("o'", "u"), "ҳ": ("h", "x"),
    "ҷ": ("j",), "ӣ": ("i",), "ӯ": ("u",),
}  # fmt: skip
# Uzbek Latin (1995 alphabet) to Uzbek Cyrillic, and English spellings to Russian ones.
_LATIN_TO_CYRILLIC: dict[str, tuple[str, ...]] = {
    "o'": ("ў",), "g'": ("ғ",), "sh": ("ш",), "ch": ("ч",), "yo": ("ё",), "yu": ("ю",),
    "ya": ("я",), "ye": ("е",), "ts": ("ц",), "kh": ("х",), "zh": ("ж",), "a": ("а",),
    "b": ("б",), "c": ("к",), "d": ("д",), "e": ("е",), "f": ("ф",), "g": ("г",),
    "h": ("ҳ", "х"), "i": ("и",), "j": ("ж", "дж"), "k": ("к",), "l": ("л",), "m": ("м",),
    "n": ("н",), "o": ("о",), "p": ("п",), "q": ("қ", "к"), "r": ("р",), "s": ("с",),
    "t": ("т",), "u": ("у",), "v": ("в",), "w": ("в",), "x": ("х",), "y": ("й",),
    "z": ("з",), "'": ("ъ", ""),
}  # fmt: skip
_LATIN_TOKEN_RE = re.compile(
    "|".join(sorted(map(re.escape, _LATIN_TO_CYRILLIC), key=len, reverse=True)) + "|."
)
_HAS_CYRILLIC_RE = re.compile("[\u0400-\u052f]")
_HAS_LATIN_RE = re.compile("[a-z]")


def transliterations(text: str) -> list[str]:
    """Spellings of a casefolded name in the other alphabet (Cyrillic <-> Latin); [] if mixed."""
    cyrillic = _HAS_CYRILLIC_RE.search(text) is not None
    latin = _HAS_LATIN_RE.search(text) is not None
    if cyrillic == latin:
        return []
    if cyrillic:
        options = [_CYRILLIC_TO_LATIN.get(char, (char,)) for char in text]
    else:
        options = [_LATIN_TO_CYRILLIC.get(token, (token,)) for token in _tokens(text)]
    variants = ("".join(parts) for parts in itertools.product(*options))
    return list(dict.fromkeys(itertools.islice(variants, MAX_VARIANTS)))


def _tokens(text: str) -> list[str]:
    return _LATIN_TOKEN_RE.findall(text)
