"""Tests for the shared text normalisation and its map back to the original text."""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.native import NATIVE
from classifiers.normalize import _clean_text, clean_text, normalize, original_span, squeeze


def _check_offsets(original: str) -> None:
    norm = normalize(original)
    assert len(norm.offsets) == len(norm.text)
    assert list(norm.offsets) == sorted(norm.offsets)
    assert all(0 <= offset < len(original) for offset in norm.offsets)


def test_plain_text_is_casefolded_with_identity_offsets() -> None:
    norm = normalize("Суд в Бишкеке")
    assert norm.text == "суд в бишкеке"
    assert list(norm.offsets) == list(range(len("Суд в Бишкеке")))


def test_offsets_after_nfkc_expansion_and_casefold() -> None:
    # "ﬁ" (one ligature) -> "fi" and "ß" -> "ss": two normalised characters per source one.
    original = "Oﬁce Straße ＩＳＩＳ"
    norm = normalize(original)
    assert norm.text == "ofice strasse isis"
    assert norm.offsets[1:3] == [1, 1]
    assert norm.offsets[10:12] == [9, 9]
    start = norm.text.index("isis")
    first, stop = original_span(norm, original, start, start + 4)
    assert original[first:stop] == "ＩＳＩＳ"
    _check_offsets(original)


def test_offsets_skip_removed_zero_width_and_soft_hyphen() -> None:
    original = "И\u200bГ\u00adИ\u2060Л и\ufeffдругие"
    norm = normalize(original)
    assert norm.text == "игил идругие"
    assert norm.offsets[:4] == [0, 2, 4, 6]
    first, stop = original_span(norm, original, 0, 4)
    assert original[first:stop] == "И\u200bГ\u00adИ\u2060Л"
    _check_offsets(original)


def test_more_invisible_characters_are_removed_with_offsets() -> None:
    original = "ИГ\u2063ИЛ и Да\u180eиш"
    norm = normalize(original)
    assert norm.text == "игил и даиш"
    assert original_span(norm, original, 0, 4) == (0, 5)
    _check_offsets(original)


def test_decomposed_letters_compose_and_span_keeps_the_mark() -> None:
    original = "Таджики\u0306"  # и + combining breve = й, typed decomposed
    norm = normalize(original)
    assert norm.text == "таджикй"
    first, stop = original_span(norm, original, 0, len(norm.text))
    assert (first, stop) == (0, len(original))


def test_stress_marks_are_removed() -> None:
    assert normalize("госуда\u0301рство").text == "государство"


@pytest.mark.parametrize("apostrophe", ["\u02bb", "\u02bc", "\u2019", "\u2018", "`", "'"])
def test_uzbek_apostrophes_fold_to_ascii(apostrophe: str) -> None:
    assert normalize(f"O{apostrophe}zbekiston").text == "o'zbekiston"


def test_yo_folds_to_ye() -> None:
    assert normalize("Всё ЁЛКИ").text == "все елки"


def test_whitespace_runs_collapse_and_ends_are_trimmed() -> None:
    original = "  Первая\n\n строка\t\u00a0 вторая  "
    norm = normalize(original)
    assert norm.text == "первая строка вторая"
    assert original[norm.offsets[0]] == "П"
    assert original[norm.offsets[-1]] == "я"
    _check_offsets(original)


def test_arabic_marks_and_hamza_forms_are_folded() -> None:
    norm = normalize("الدَّوْلَة الإسلامـية")
    assert norm.text == "الدوله الاسلاميه"  # ta marbuta folds to ha, as it is often typed
    _check_offsets("الدَّوْلَة الإسلامـية")


def test_informal_arabic_ta_marbuta_and_alef_maqsura_read_as_the_formal_ones() -> None:
    assert normalize("القاعدة").text == normalize("القاعده").text
    assert normalize("جند الخلافة").text == normalize("جند الخلافه").text
    assert normalize("مصطفى").text == normalize("مصطفي").text


def test_empty_text() -> None:
    assert normalize("").text == ""
    assert normalize(" \u200b ").offsets == []


def test_squeeze_drops_separators() -> None:
    assert squeeze("хизб ут-тахрир_o'z") == "хизбуттахрир" + "oz"


def test_clean_text_keeps_line_breaks() -> None:
    text = "Первая\u200b  строка \r\n\r\n\r\n\r\nвторая\u00ad строка\t\n"
    assert clean_text(text) == "Первая строка\n\nвторая строка"


def test_clean_text_keeps_persian_zero_width_non_joiner() -> None:
    assert clean_text("می\u200cخواهم") == "می\u200cخواهم"


# Words and every kind of space and invisible mark the clean-up handles, in any order.
_PIECES = ["ab", "ж", "é", "e\u0301", " ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u200b", "\u00ad",
           "\u200c", "\u2003"]  # fmt: skip


# Mostly the pieces of ordinary posts, which take the fast path unless one of them needs work.
_COMMON = ["ab", "ж", "é", " ", "  ", "\n", "\n\n", "\n\n\n", " \n"]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.lists(st.sampled_from(_COMMON)), st.lists(st.sampled_from(_PIECES))).map("".join)
)
def test_clean_text_skips_only_texts_the_full_clean_up_leaves_alone(text: str) -> None:
    # The fast path (nothing to change) must give what the four substitutions give.
    assert clean_text(text) == _clean_text(text)


def test_the_change_bitmap_is_the_change_class() -> None:
    """Every code point is in the C search's bitmap exactly when _ANY_CHANGE_RE matches it,
    and first_in finds the first one."""
    module = importlib.import_module("classifiers.normalize")
    bits = module._CHANGE_BITS
    pattern = module._ANY_CHANGE_RE
    for code in range(0x110000):
        in_bitmap = bool(bits[code >> 3] & (1 << (code & 7)))
        assert in_bitmap == (pattern.match(chr(code)) is not None), hex(code)
    if NATIVE is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    for text in ("", "plain text", "ёлка", "a\u200bb", "ab\u0301", "x🅰", "abc\u0640"):
        found = pattern.search(text)
        assert NATIVE.first_in(text, bits) == (found.start() if found else -1)
    with pytest.raises(ValueError, match="bitmap"):
        NATIVE.first_in("text", bits[:-1])
