"""Tests for the evasion readings of a text, look-alike tables and transliteration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import evasion
from classifiers.confusables import to_cyrillic, to_latin
from classifiers.evasion import evasion_views
from classifiers.evasion_translit import MAX_VARIANTS, transliterations
from classifiers.normalize import Normalized, normalize, original_span


def _views(text: str) -> list[Normalized]:
    views = evasion_views(normalize(text), text)
    for view in views:
        assert len(view.offsets) == len(view.text)
        assert list(view.offsets) == sorted(view.offsets)
    return views


def _spans_of(text: str, word: str) -> set[str]:
    """The original characters behind each view's first occurrence of word."""
    norm = normalize(text)
    spans = set()
    for view in evasion_views(norm, text):
        start = view.text.find(word)
        if start >= 0:
            first, stop = original_span(view, text, start, start + len(word))
            spans.add(text[first:stop])
    assert spans, f"{word!r} in no view of {text!r}"
    return spans


@pytest.mark.parametrize(
    ("text", "word", "span"),
    [
        ("Упомянули И.Г.И.Л., сообщает", "игил", "И.Г.И.Л"),
        ("Упомянули И. Г. И. Л. вчера", "игил", "И. Г. И. Л"),
        ("A post wrote D*A*E*S*H here", "daesh", "D*A*E*S*H"),
        ("Запись И-Г-И-Л и И_Г_И_Л", "игил", "И-Г-И-Л"),
        ("Запись Д🔸А🔸И🔸Ш удалили", "даиш", "Д🔸А🔸И🔸Ш"),
        ("A comment I ⭐\ufe0f S ⭐ I ⭐ S here", "isis", "I ⭐\ufe0f S ⭐ I ⭐ S"),
        ("Izohda I.Sh.I.D deb yozilgan", "ishid", "I.Sh.I.D"),
        ("Журналисты написали о Т.а.л.и.б.а.н", "талибан", "Т.а.л.и.б.а.н"),
    ],
)
def test_spelled_out_letters_are_joined_with_spans_in_the_original(
    text: str, word: str, span: str
) -> None:
    assert span in _spans_of(text, word)


def test_spaced_letters_split_where_the_case_changes() -> None:
    (view,) = _views("в И Г И Л и Д А И Ш")
    assert view.text == "в игил и даиш"
    (view,) = _views("H-i-z-b u-t T-a-h-r-i-r")
    assert view.text == "hizbut tahrir"


@pytest.mark.parametrize(
    "text", ["Петров И.Г. выступил", "Сдайте т.е. до пятницы", "e.g. today", "Version 1.2.3"]
)
def test_initials_and_two_letter_abbreviations_are_not_joined(text: str) -> None:
    assert _views(text) == []


def test_ordinary_text_has_no_extra_readings() -> None:
    text = "Погода в Бишкеке: завтра снег, 2014 году, iPhone 15 и Wi-Fi. Ура! 🎉"
    assert _views(text) == []


def test_camel_case_hashtags_are_split() -> None:
    text = "Новости #TalibanNews и #ХизбутТахрир"
    (view,) = _views(text)
    assert view.text == "новости #taliban news и #хизбут тахрир"
    start = view.text.index("news")
    assert original_span(view, text, start, start + 4) == (text.index("News"), text.index(" и"))


@pytest.mark.parametrize(
    ("text", "word", "span"),
    [
        ("В комментарии ДAИШ.", "даиш", "ДAИШ"),  # Latin A
        ("A caption mentioned ІSІS yesterday", "isis", "ІSІS"),  # Cyrillic І
        ("It describes НТS today", "hts", "НТS"),  # Cyrillic Н and Т
        ("В посте Xизб yт-Taxpиp", "хизб ут-тахрир", "Xизб yт-Taxpиp"),
        ("A comment mentioned D4ESH here", "daesh", "D4ESH"),
        ("The caption said I$IS and", "isis", "I$IS"),
        ("В чате Т@либан", "талибан", "Т@либан"),
        ("The post said Ta1iban", "taliban", "Ta1iban"),  # 1 read as l
        ("A comment mentioned al-Qa1da", "al-qaida", "al-Qa1da"),  # 1 read as i
        ("Greek οmicron in Dαesh", "daesh", "Dαesh"),
    ],
)
def test_mixed_words_are_read_in_one_script(text: str, word: str, span: str) -> None:
    assert span in _spans_of(text, word)


def test_only_mixed_words_are_folded() -> None:
    text = "Мир и D4ESH, сор и pop"
    views = _views(text)
    assert {view.text for view in views} >= {"мир и daesh, сор и pop"}
    # Words in one script keep their letters in every reading: "сор" is not read as "cop".
    assert all("сор и pop" in view.text for view in views)
    assert all(view.offsets == normalize(text).offsets for view in views)


def test_look_alike_tables() -> None:
    assert to_latin("ісѕнтк") == "icshtk"
    assert to_cyrillic("caxop") == "сахор"
    assert to_latin("t0l1b0n") == "tolibon"
    assert to_latin("t0l1b0n", "l") == "tollbon"
    assert to_cyrillic("т@либ@н") == "талибан"


def test_cyrillic_names_get_latin_spellings() -> None:
    spellings = transliterations("хизб ут-тахрир")
    assert {"khizb ut-takhrir", "hizb ut-tahrir", "xizb ut-taxrir"} <= set(spellings)
    assert transliterations("игил") == ["igil"]
    assert "islamsk gosudarstv" in transliterations("исламск государств")
    assert "doish" in transliterations("доъиш")


def test_latin_names_get_cyrillic_spellings() -> None:
    assert "ўзбекистон исломий ҳаракат" in transliterations("o'zbekiston islomiy harakat")
    assert "жаннат ошиқлари" in transliterations("jannat oshiqlari")
    assert transliterations("талибан taliban") == []  # already in both alphabets
    assert transliterations("2024") == []


def test_transliteration_variants_are_capped() -> None:
    assert len(transliterations("хххххх ххххх")) == MAX_VARIANTS


def test_digits_in_cyrillic_words_are_read_as_the_letters_they_look_like() -> None:
    from classifiers.confusables import to_cyrillic

    assert to_cyrillic("исл4мское") == "ислчмское"  # Russian leetspeak: 4 = ч
    assert to_cyrillic("исл4мское", shape=True) == "исламское"
    assert to_cyrillic("д3ржава", shape=True) == "держава"


# Characters that make or break each hint: separators, digits, letters of three scripts,
# spaces, "!", "|", "#", hyphens, the Arabic article, other alphanumerics ("²", "٣", "ª").
_HINT_CHARS = st.sampled_from(list("aбzяsα-.*_|!#@$ 19ال ءيب²٣ª·•🔥\u200d\ufe0f\u2013→\nßɏԯͰA"))


@settings(max_examples=3000, deadline=None)
@given(st.lists(_HINT_CHARS, max_size=14).map("".join))
def test_the_c_hints_are_the_regular_expressions_bits(text: str) -> None:
    """classifiers/_native.c's one pass gives evasion.py's bits; the two necessary ones are
    set whenever their expressions match and never where the Python test is not."""
    if evasion._c_hints is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    c_bits = evasion._c_hints(text)
    python_bits = evasion.python_hints(text)
    necessary = evasion.HINT_DASHES | evasion.HINT_ARTICLE
    assert c_bits & ~necessary == python_bits & ~necessary
    assert c_bits & necessary & ~python_bits == 0
    said_or_syllables = evasion._SAID_ALOUD_RE, evasion._SYLLABLES_RE
    if any(pattern.search(text) for pattern in said_or_syllables):
        assert c_bits & evasion.HINT_DASHES
    if evasion._SPACED_ARTICLE_RE.search(text):
        assert c_bits & evasion.HINT_ARTICLE


@pytest.mark.parametrize(
    "text",
    ["эй-би-си", "ай-эс-кей-пи", "дабл-ю-эй-дабл-ю", "ta-ly-ban", "ис-лам-ско-е", "ال قاعدة"],
)
def test_the_c_hints_let_the_hyphen_and_article_readings_through(text: str) -> None:
    if evasion._c_hints is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    assert evasion._c_hints(text) & (evasion.HINT_DASHES | evasion.HINT_ARTICLE)
    assert evasion_views(normalize(text), text)
