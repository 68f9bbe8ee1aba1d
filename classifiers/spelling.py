"""A spelling fold for organisation names: the rules by which one name is written many ways.

Names of the groups in scope are Arabic names written in Latin and Cyrillic letters by people
who each transcribe them their own way. Instead of listing every spelling, a word is folded to
a key that the usual variations share, and names are matched on those keys:

* script: Cyrillic letters (with the Kazakh, Kyrgyz, Uzbek and Tajik ones) become Latin;
* the Arabic article in any form (al-, el-, ul-, an-, ash-, at-, ad-, аль-, ан-, аш-, әл-,
  ул-, ут-, уш-...) is dropped as a word, and "wa/wal/va/val" (and) are one word; Arabic ال is dropped from
  the front of a word, with the clitics و ف ب ك ل before it;
* a final h after a vowel goes (Nusrah/Nusra, Ansarullah/Ansarulla, Khilafah/Khilafa), and a
  final -at after two letters becomes -a (Katibat/Katiba, Jabhat/Jabha, Хилафат); Arabic ة is
  ه; a final -iy is -i (Buxoriy/Bukhari);
* consonants written several ways are one: kh/x/х/ҳ/һ/h, q/қ/k, gh/ғ/g, j/dj/dzh/zh/ж/ҷ, w/v/у
  before a consonant (Tawhid/Tavhid/Таухид), ts/ц/s, ph/f, th/t, dh/d, c before e, i or y
  is s (Province/Провинс); apostrophes, ъ and ь go;
* Arabizi, the chat spelling of Arabic in Latin letters with digits for the sounds Latin has no
  letter for: 7 is h (ta7rir), 5 is kh; 3 (ayn) and 2 (hamza) go like apostrophes (qa3ida);
* a y after a consonant before a vowel, the softness of я and ю, goes (Даулят/Dawlat);
* every vowel is one vowel (Jabhat/Jabhet/Джебхат, Tahrir/Tahreer, Taliban/Taleban/Talyban,
  Imam/Imom, Ansar/Ansor), y between consonants is a vowel, and doubled letters are single
  (Hayyat/Hayat, Ansarullah/Ansarulah).

Only multi-word names, or single words of at least MIN_SINGLE folded letters, are matched on
keys (short folded words such as "dash" are ordinary words); acronyms never are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from classifiers.native import NATIVE

__all__ = [
    "MIN_SINGLE",
    "NameStarts",
    "fold_name",
    "fold_word",
    "folded_words",
    "keyed_spans",
    "spelling_cache",
    "split_words",
    "vowel_classes",
]

MIN_SINGLE = 7
# Common words stay cached; a long crawl of rare words refills it (~10 MB at the limit).
_CACHE_LIMIT = 50_000

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "j", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "s", "ч": "ch", "ш": "sh",
    "щ": "sh", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "g",
    "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i", "ў": "o", "ҳ": "h",
    "ҷ": "j", "ӣ": "i", "ӯ": "u",
}  # fmt: skip
# Latin letters of Turkish, Turkmen, Azerbaijani and Uzbek spelling, and apostrophes.
_LATIN = {
    "ä": "a", "ö": "o", "ü": "u", "ı": "i", "ý": "y", "ə": "a", "ç": "ch", "ş": "sh",
    "ž": "j", "ň": "n", "ğ": "g", "é": "e", "'": "", "’": "", "`": "",
}  # fmt: skip
_TABLE = str.maketrans(_CYRILLIC | _LATIN)
_DIGRAPHS = re.compile(r"dzh|dj|zh|kh|gh|ph|th|dh|ts|ee|oo|ou|[xqwc]")
_SOFT_C = re.compile(r"c(?=[eiy])")
_DIGRAPH = {
    "dzh": "j", "dj": "j", "zh": "j", "kh": "h", "gh": "g", "ph": "f", "th": "t", "dh": "d",
    "ts": "s", "ee": "i", "oo": "u", "ou": "u", "x": "h", "q": "k", "w": "v", "c": "k",
}  # fmt: skip
# Arabizi digits that stand for a consonant (the others are dropped with every other digit):
# 7 ح, 5 خ, and in the Gulf's chat alphabet 6 ط and 9 ص ("6aliban").
_ARABIZI = str.maketrans({"7": "h", "5": "kh", "6": "t", "9": "s"})
_ARABIZI_RE = re.compile(r"[^\W\d_][5679]|[5679][^\W\d_]")
_VOWELS = "aeiou"
# u after a vowel and before a consonant is the w of Arabic (Таухид, Tauhid: Tawhid).
_U_AS_W = re.compile(r"(?<=[aeiou])u(?=[^aeiouy\W])")
# y is a consonant only before a vowel (Hayat, Yemen); elsewhere it is a vowel (Talyban,
# катибы, Yslam, Кайда); i between two vowels is a y (Haiat: Hayat).
_Y_AS_VOWEL = re.compile(r"y(?![aeiou])")
_I_AS_Y = re.compile(r"(?<=[aeiou])i(?=[aeiou])")
# A final vowel of a longer word goes: Tajik/Persian izafet (Ҳизби Таҳрир), case endings
# (Нусры, jihodi), Uzbek possessives.
_FINAL_VOWEL = re.compile(r"(?<=\w{3})a$")
# A y between a consonant and a vowel is the softness of Cyrillic я, ю ("Даулят": Dawlat).
_SOFT_Y = re.compile(r"(?<=[^aeiouy\W])y(?=[aeiou])")
_FINAL_H = re.compile(r"(?<=[aeiou])h$")
_FINAL_AT = re.compile(r"(?<=\w\w)[ae]ti?$")
_FINAL_IY = re.compile(r"iy$")
_VOWEL_RUN = re.compile(r"[aeiou]+")
_DOUBLE = re.compile(r"(\w)\1+")
# The article as a word, once folded, is dropped.
# "And" (wa, wal, va, val, vel) is one word, kept: "Islom va Davlat" is two people.
_DROPPED = frozenset({"al", "an", "ash", "as", "at", "ad", "ar", "az", "l"})
_AND = frozenset({"va", "val", "vel"})
_ARABIC_ARTICLE = re.compile("^[وف]?[بك]?ال|^[وف]?لل")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")
# Words as the fold sees them: what spaces, hyphens and underscores separate, and dots between
# words ("Халифат.сарбаздары", "Ислам_жихад_бирлиги" are two and three words); fold_word then
# keeps only the letters (and apostrophes: Hay'at, Oʻzbekiston). split_words is the fast
# equivalent of _TOKEN, for the common case where no position is needed.
_SEPARATORS = "-_\u2010\u2011\u2012\u2013\u2014\u2015"
# A dot between two words of three letters or more separates them too; a dot inside shorter
# pieces ("Ка.и.да", "Xu.ro.son") is a spelled-out name's, and goes with the other non-letters.
_WORD_DOT = re.compile(r"\.(?=[^\W\d_]{3})(?<=[^\W\d_]{3}\.)")  # the dot first: a fast scan
_TOKEN = re.compile(f"[^\\s{re.escape(_SEPARATORS)}]+")
_NOT_LETTER = re.compile(r"[^\w'’`]|[\d_]")

# The same split in one C pass (classifiers.native); else python_split_words.
_c_split_words: Callable[[str], list[str]] | None = (
    NATIVE.split_words if NATIVE is not None else None
)
# ... and with each word's value in a table (NameStarts.words).
_c_split_marked: Callable[[str, dict[str, int]], tuple[list[str], bytes]] | None = (
    NATIVE.split_marked if NATIVE is not None else None
)


class _FoldCache(dict[str, str]):
    """word -> key; a missing word is folded on lookup, so hits never leave C."""

    def __missing__(self, word: str) -> str:
        spelled = word.translate(_ARABIZI) if _ARABIZI_RE.search(word) is not None else word
        letters = _NOT_LETTER.sub("", spelled)
        key = _fold_arabic(letters) if _ARABIC_LETTER.search(letters) else _fold_letters(letters)
        if len(self) >= _CACHE_LIMIT:
            self.clear()  # the same object: spelling_cache() callers keep a valid view
        self[word] = key
        return key


_cache = _FoldCache()


# What NameStarts says of a word, in order: the most a post's words say is one max().
NO_NAME, FIRST_WORD, WHOLE_NAME = 0, 1, 2


class NameStarts(dict[str, int]):
    """word -> whether a name's key can begin at it: WHOLE_NAME when a one-word key is a prefix
    of the word's key (an ending may follow), FIRST_WORD when the word's key is only the first
    word of longer ones, else NO_NAME. Looked up with the words of a post, it tells in a few
    dict reads that no name's key can be found there (most posts), before the keys are joined
    and searched; a missing word is worked out on lookup. The first words of longer names are
    often everyday words ("сад" of a "детский сад", the "abu" of many names): next_fits
    then checks the word after them."""

    def __init__(self, keys: Iterable[str]) -> None:
        super().__init__()
        keys = list(keys)
        seconds: dict[str, set[str]] = {}
        for key in keys:
            words = key.split(" ", 2)
            if len(words) > 1:
                seconds.setdefault(words[0], set()).add(words[1])
        # The second words that may follow each first word; the text's may add an ending.
        self._seconds = {first: tuple(sorted(after)) for first, after in seconds.items()}
        self._whole = frozenset(key for key in keys if " " not in key)
        self._shortest = max(1, min(map(len, self._whole), default=1))

    def __missing__(self, word: str) -> int:
        key = _cache[word]
        if any(key[:size] in self._whole for size in range(self._shortest, len(key) + 1)):
            fits = WHOLE_NAME
        else:
            fits = FIRST_WORD if key in self._seconds else NO_NAME
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[word] = fits
        return fits

    def words(self, text: str) -> tuple[list[str], bytes]:
        """split_words(text), and what this says of each word (one byte per word)."""
        if _c_split_marked is not None:
            return _c_split_marked(text, self)
        words = split_words(text)
        return words, bytes(map(self.__getitem__, words))

    def can_begin(self, words: list[str], marks: bytes) -> bool:
        """Whether a name's key can begin at one of words (a post's, as self.words gives
        them with their marks)."""
        if WHOLE_NAME in marks:
            return True
        return FIRST_WORD in marks and self.next_fits(words, marks)

    def next_fits(self, words: list[str], marks: bytes) -> bool:
        """Whether a word marked FIRST_WORD is followed by the second word of one of its
        names (the next word with a key, as the keys are joined)."""
        index = -1
        while (index := marks.find(FIRST_WORD, index + 1)) >= 0:
            seconds = self._seconds[_cache[words[index]]]
            for word in words[index + 1 :]:
                key = _cache[word]
                if key:
                    if key.startswith(seconds):
                        return True
                    break
        return False


# Vowels by the three classes a short name keeps apart (classifiers.lexicon._vowels_fit):
# "u" sounds, "i" sounds (e too: Qaida / Qaeda / Каеда) and the rest (a, o, ä: Qaida / Qoida).
_VOWEL_CLASS = {
    **dict.fromkeys("aoäəåаоәөяё", "a"),
    **dict.fromkeys("eiıyéиыіэеӣй", "i"),
    **dict.fromkeys("uüūүуӯұю", "u"),
}


def vowel_classes(word: str) -> str:
    """The vowels of a casefolded word by class, in order ("нусра": "ua", "qa'ida": "aia").

    A u or y (й) right after a vowel is a glide, not a vowel of its own ("Daula" and "Dawla",
    "Azayim" and "Azaim" keep the same vowels), and so is the u of "qu" ("Al-Quaida").
    """
    classes: list[str] = []
    after_vowel = False
    previous = ""
    for char in word:
        kind = _VOWEL_CLASS.get(char)
        if kind is None or (after_vowel and char in "uуyй") or (char == "u" and previous == "q"):
            after_vowel = False
            previous = char
            continue
        previous = char
        classes.append(kind)
        after_vowel = True
    return "".join(classes)


def spelling_cache() -> dict[str, str]:
    """The word -> key cache: `cache[word]` folds a word not seen yet (a fast path)."""
    return _cache


def fold_word(word: str) -> str:
    """The key of one casefolded word; "" for an article or a conjunction."""
    return _cache[word]


_MIN_OPEN_T = 4


def _fold_arabic(word: str) -> str:
    stripped = _ARABIC_ARTICLE.sub("", word)
    if len(stripped) < 2:
        stripped = word
    # ة and ى as written informally; the hamza on a yeh seat as on an alef (هيئة, هيأة); a ta
    # marbuta written as an open t, as in the construct state (جبهت النصرة).
    stripped = stripped.replace("ة", "ه").replace("ى", "ي").replace("ئ", "ا")
    if len(stripped) >= _MIN_OPEN_T and stripped.endswith("ت"):
        stripped = stripped[:-1] + "ه"
    return stripped


def _fold_letters(word: str) -> str:
    text = word.translate(_TABLE)
    if text == "ual":  # Russian «уаль»: "and the", as in «ат-Таухид уаль-Джихад»
        return "va"
    text = _SOFT_C.sub("s", text)
    text = _DIGRAPHS.sub(lambda m: _DIGRAPH[m.group()], text)
    text = _SOFT_Y.sub("", text)
    text = _U_AS_W.sub("v", text)
    text = _FINAL_IY.sub("i", text)
    text = _FINAL_H.sub("", text)
    text = _FINAL_AT.sub("a", text)
    text = _I_AS_Y.sub("y", text)
    text = _Y_AS_VOWEL.sub("a", text)
    text = _VOWEL_RUN.sub("a", text)
    text = _DOUBLE.sub(r"\1", text)
    text = _FINAL_VOWEL.sub("", text)
    if text in _AND:
        return "va"
    return "" if text in _DROPPED else text


def split_words(text: str) -> list[str]:
    """The words of a normalised text as folded_words sees them, without their positions."""
    if _c_split_words is not None:
        return _c_split_words(text)
    return python_split_words(text)


def python_split_words(text: str) -> list[str]:
    """split_words by regular expression and str methods (where the C loop is not built)."""
    if "." in text:
        text = _WORD_DOT.sub(" ", text)
    for separator in _SEPARATORS:
        if separator in text:
            text = text.replace(separator, " ")
    return text.split()


def folded_words(text: str) -> Iterator[tuple[str, int, int]]:
    """(key, start, end) of each word of a normalised text that folds to something."""
    if "." in text:
        text = _WORD_DOT.sub(" ", text)  # one character for one: the positions stay
    for match in _TOKEN.finditer(text):
        key = fold_word(match.group())
        if key:
            yield key, match.start(), match.end()


def keyed_spans(text: str, words: list[str], keys: list[str]) -> list[tuple[str, int, int]]:
    """folded_words(text) from its split_words and their keys (spelling_cache's), without
    splitting or folding again: the words are pieces of the text, in order, and no word
    begins with what separates them."""
    spans = []
    end = 0
    for word, key in zip(words, keys, strict=True):
        start = text.index(word, end)
        end = start + len(word)
        if key:
            spans.append((key, start, end))
    return spans


def fold_name(text: str) -> str:
    """The key of a whole name: its words' keys joined by single spaces."""
    return " ".join(key for key, _, _ in folded_words(text))
