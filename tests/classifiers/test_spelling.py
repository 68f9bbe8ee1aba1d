"""The spelling fold: the usual ways one name is written share a key; other words do not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import spelling
from classifiers.normalize import normalize
from classifiers.spelling import NameStarts, fold_name, split_words


def key(text: str) -> str:
    return fold_name(normalize(text).text)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Jabhat al-Nusra", "Jabhat an-Nusra"),  # assimilated article
        ("Jabhat al-Nusra", "Jabhat Nusra"),  # dropped article
        ("al-Nusrah Front", "al-Nusra Front"),  # final h
        ("Катибат Имам аль-Бухари", "Катиба Имам аль-Бухари"),  # ta marbuta ending
        ("Katibat al-Imam al-Bukhari", "Katibat Imam Bukhari"),  # inner articles
        ("Hay'at Tahrir al-Sham", "Хаят Тахрир аш-Шам"),  # script, vowels, article
        ("Hayat Tahrir al-Sham", "Hayet Tahreer al-Sham"),  # vowels
        ("Джебхат ан-Нусра", "Ҷабҳат-ун-Нусра"),  # Tajik letters, ul-/un- article
        ("Jamaat Ansarullah", "Jamoat Ansorullo"),  # a/o, doubled letters, final h
        ("Джамаат Ансаруллах", "Ҷамоати Ансорулло"),  # Tajik izafet
        ("Jund al-Khilafah", "Джунд аль-Халифат"),
        ("Katibat al-Tawhid wal-Jihad", "Katibat at-Tavhid val-Jihod"),  # w/v, and
        ("Taliban", "Talyban"),  # y between consonants
        ("Вилаят Хорасан", "Vilayat Khurasan"),
        ("الدولة الإسلامية", "الدوله الاسلاميه"),  # ة/ه, hamza
        ("Imam Bukhari", "Имом Бухорий"),  # final -iy
    ],
)
def test_variants_of_one_name_share_a_key(one: str, other: str) -> None:
    assert key(one) == key(other)


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Islom davlati", "Islom va Davlat"),  # "and" is kept: two people
        ("Taliban", "talaba"),  # Uzbek: student
        ("Jabhat al-Nusra", "Nusrat Fateh Ali Khan"),
        ("Hizb ut-Tahrir", "Tahrir Square"),
    ],
)
def test_other_words_keep_other_keys(name: str, other: str) -> None:
    assert key(other) != key(name)
    assert not key(other).startswith(key(name))


@pytest.fixture(scope="module")
def shipped() -> object:
    from classifiers.lexicon import LexiconTagger
    from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, load_lexicons

    return LexiconTagger(load_lexicons([DEFAULT_LEXICON_DIR]))


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("Боевики Джабхат ан-Нусры отступили.", "hayat_tahrir_al_sham"),
        ("Hayet Tahreer al-Sham took the town.", "hayat_tahrir_al_sham"),
        ("Members of Jamoat Ansorullo were detained.", "jamaat_ansarullah"),
        ("Katibah Imam Bukhari fighters moved north.", "katibat_imam_al_bukhari"),
        ("The Taleban barred girls from school.", "taliban"),
    ],
)
def test_the_tagger_finds_names_by_their_spelling_key(
    shipped: object, text: str, family: str
) -> None:
    from classifiers.lexicon import LexiconTagger

    assert isinstance(shipped, LexiconTagger)
    found = [m for m in shipped.tag(text) if m.topic == "designated_org"]
    assert [m.family for m in found] == [family]
    (match,) = found
    assert text[match.start : match.end].split()[0] in text  # a span of the original text


@pytest.mark.parametrize(
    "text",
    [
        "Ҳайати тоҷик ба вилояти Хуросони Разавии Эрон сафар кард.",  # Iran's Khorasan province
        "Islom va Davlat bugun futbol o'ynashdi.",  # two people
        "Talabalar imtihon topshirdi.",  # students
    ],
)
def test_the_tagger_keeps_look_alikes_out(shipped: object, text: str) -> None:
    from classifiers.lexicon import LexiconTagger

    assert isinstance(shipped, LexiconTagger)
    assert [m for m in shipped.tag(text) if m.topic == "designated_org"] == []


def _name_words() -> list[str]:
    from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, load_lexicons

    words = {
        word
        for lexicon in load_lexicons([DEFAULT_LEXICON_DIR])
        if lexicon.topic == "designated_org"
        for term in lexicon.terms
        for word in term.term.split()
    }
    return sorted(words)


def test_a_first_word_needs_its_names_second_word_after_it() -> None:
    """ "Abu" begins many names: a post with it and no second word of one is passed over, one
    with the second word (with a case ending, or a word without a key between) is not."""
    starts = NameStarts(fold_name(normalize(name).text) for name in ("Abu Sayyaf", "Taliban"))

    def can_begin(text: str) -> bool:
        return starts.can_begin(*starts.words(normalize(text).text))

    assert can_begin("they said abu sayyaf did")
    assert can_begin("Абу Сайяфтың")
    assert can_begin("abu - 7 sayyaf")
    assert can_begin("the talibans")
    assert not can_begin("abu bakr went to the market")
    assert not can_begin("sayyaf abu")
    assert not can_begin("детский сад")


class _EveryWord:
    """A NameStarts that lets every post through to the key look-up."""

    def words(self, text: str) -> tuple[list[str], bytes]:
        found = split_words(text)
        return found, bytes(len(found))

    def can_begin(self, words: list[str], marks: bytes) -> bool:
        return True


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([*_name_words(), "детский", "сад", "обу", "ҳаво", "the", "ва"]),
            st.sampled_from(["", "", "лар", "ning", "а", "ов", "ga", "ist"]),
            st.sampled_from([" ", " ", ", ", ". ", "-"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_words_filter_drops_no_name_the_keys_would_find(
    shipped: object, pieces: list[tuple[str, str, str]]
) -> None:
    """NameStarts passes over posts where no key can begin, first words of longer names
    followed by other words too ("детский сад", "обу ҳаво"): the same matches as looking up
    the keys of every post."""
    from classifiers.lexicon import LexiconTagger

    assert isinstance(shipped, LexiconTagger)
    text = "".join(word + ending + gap for word, ending, gap in pieces).strip()
    filtered = shipped.tag(text)
    starts = shipped._name_starts
    shipped._name_starts = _EveryWord()  # type: ignore[assignment]
    try:
        everything = shipped.tag(text)
    finally:
        shipped._name_starts = starts
    assert filtered == everything


# Characters that split words or keep them whole: spaces of several kinds, dots, hyphens and
# dashes, underscores, letters of three scripts, digits and other alphanumerics ("²", "٣").
_SPLIT_CHARS = st.sampled_from(list("ab яж ك.._-—\u2010\u2015\u2003\u00a0\n\t19²٣ª'"))


@settings(max_examples=3000, deadline=None)
@given(st.lists(_SPLIT_CHARS, max_size=16).map("".join))
def test_the_c_split_gives_the_python_words(text: str) -> None:
    """classifiers/_native.c's split_words and the regular-expression one agree, and both give
    the words folded_words finds positions for."""
    if spelling._c_split_words is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    words = spelling._c_split_words(text)
    assert words == spelling.python_split_words(text)
    dotted = spelling._WORD_DOT.sub(" ", text)
    assert words == [found.group() for found in spelling._TOKEN.finditer(dotted)]


@settings(max_examples=3000, deadline=None)
@given(st.lists(_SPLIT_CHARS, max_size=16).map("".join))
def test_word_spans_from_the_split_are_folded_words(text: str) -> None:
    """keyed_spans places the split's words (the C split's or the Python one's: they agree)
    where folded_words finds them, without splitting or folding again."""
    words = spelling.python_split_words(text)
    keys = [spelling.spelling_cache()[word] for word in words]
    assert spelling.keyed_spans(text, words, keys) == list(spelling.folded_words(text))


def test_the_marks_are_the_tables_values_word_by_word() -> None:
    """NameStarts.words: the C split's marks are the table's value for each word, words the
    table has not seen included (its __missing__ works them out), as the Python split's."""

    def starts() -> NameStarts:
        return NameStarts(fold_name(normalize(name).text) for name in ("Abu Sayyaf", "Taliban"))

    text = "abu-sayyaf said. the talibans and abu bakr"
    words, marks = starts().words(text)
    assert words == split_words(text)
    first, whole = spelling.FIRST_WORD, spelling.WHOLE_NAME
    assert list(marks) == [first, 0, 0, 0, whole, 0, first, 0]
    saved = spelling._c_split_marked
    spelling._c_split_marked = None
    try:
        assert starts().words(text) == (words, marks)
    finally:
        spelling._c_split_marked = saved
