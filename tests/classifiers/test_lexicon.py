"""Tests for lexicon matching: modes, separators, Arabic clitics, spans and versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.lexicon import (
    MATCHER_VERSION,
    Lexicon,
    LexiconTagger,
    Term,
    TopicMatch,
    build_tagger,
)

TERMS = [
    Term(term="ИГИЛ", lang=["ru"], mode="abbr"),
    Term(term="ИДУ", lang=["ru"], mode="abbr"),
    Term(term="ISIS", lang=["en"], mode="abbr"),
    Term(term="ISIS-K", lang=["en"], mode="abbr"),
    Term(term="Исламск государств", lang=["ru"], mode="stem"),
    Term(term="Хизб ут-Тахрир", lang=["ru"], mode="word"),
    Term(term="Oʻzbekiston islomiy harakat", lang=["uz"], mode="stem"),
    Term(term="الدولة الإسلامية", lang=["ar"], mode="word"),
    Term(term="داعش", lang=["ar"], mode="stem"),
    Term(term="манифест", lang=["ru"], mode="stem", exclude=["манифестация", "манифестации"]),
]


def _tagger(terms: list[Term] = TERMS, family: str = "test_family") -> LexiconTagger:
    lexicon = Lexicon(
        topic="designated_org", family=family, layer="un_listed", source="tests", terms=terms
    )
    return LexiconTagger([lexicon])


def _found(text: str, tagger: LexiconTagger | None = None) -> list[tuple[str, str]]:
    return [
        (match.term, text[match.start : match.end]) for match in (tagger or _tagger()).tag(text)
    ]


def test_stem_mode_matches_inflected_russian() -> None:
    text = "Суд запретил деятельность Исламского государства в 2014 году."
    assert _found(text) == [("Исламск государств", "Исламского государства")]


def test_stem_mode_allows_at_most_five_extra_letters() -> None:
    assert _found("исламскиииииии государства") == []


def test_abbreviation_matches_as_whole_word() -> None:
    assert _found("Боевики ИГИЛ* отступили.") == [("ИГИЛ", "ИГИЛ")]
    assert _found("(ИГИЛ)") == [("ИГИЛ", "ИГИЛ")]


@pytest.mark.parametrize("text", ["ИГИЛОВЦЫ", "СИГИЛЛ", "ИГИЛ2", "2ИГИЛ", "ИГ ИЛ"])
def test_abbreviation_inside_longer_words_does_not_match(text: str) -> None:
    assert _found(text) == []


@pytest.mark.parametrize("text", ["Я иду домой.", "Иду в магазин.", "Иду"])
def test_case_sensitive_abbreviation_ignores_everyday_words(text: str) -> None:
    assert _found(text) == []


@pytest.fixture(scope="module")
def shipped() -> LexiconTagger:
    return build_tagger()


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("the iju has been quiet for years, the report says", "islamic_jihad_union"),
        ("Ktj posts are mostly in one language, a researcher said", "katibat_tawhid_wal_jihad"),
    ],
)
def test_a_three_letter_acronym_no_dictionary_knows_counts_in_small_letters(
    shipped: LexiconTagger, text: str, family: str
) -> None:
    assert [m.family for m in shipped.tag(text)] == [family]


@pytest.mark.parametrize(
    "text",
    [
        "a tip from a reader about the market",  # "tip" is an English word
        "the imu was calibrated before the flight",  # IMU: the sensor, needs context
        "hts codes for the shipment are on the invoice",  # HTS: tariff codes
    ],
)
def test_a_three_letter_acronym_that_is_a_word_or_everyday_needs_context(
    shipped: LexiconTagger, text: str
) -> None:
    assert [m for m in shipped.tag(text) if m.topic == "designated_org"] == []


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("Суд признал его виновным в участии на стороне нусровцев.", "hayat_tahrir_al_sham"),
        ("wafd men 6aliban wosel [CITY] el yom", "taliban"),
        ("سيطرت الطالبان على كابول", "taliban"),
        ("قال الباحث إن الدولة الإسلامية خسرت مواقع", "islamic_state"),
        ("قال الباحث إن بالدولة الإسلامية صلة", "islamic_state"),
    ],
)
def test_forms_of_names_from_blind34(shipped: LexiconTagger, text: str, family: str) -> None:
    assert family in {m.family for m in shipped.tag(text)}


@pytest.mark.parametrize(
    "text",
    [
        "تعد إندونيسيا أكبر دولة إسلامية من حيث عدد السكان.",  # an Islamic state, indefinite
        "فاز الطالبان بالمركز الأول في مسابقة الرياضيات.",  # the two students won a contest
        "Омейядский халифат описан в учебнике как крупное исламское государство.",
        "The Umayyad caliphate was a large Islamic State of its age, the lecture said.",
    ],
)
def test_generic_and_historic_islamic_states_are_no_name(shipped: LexiconTagger, text: str) -> None:
    assert [m for m in shipped.tag(text) if m.topic == "designated_org"] == []


def test_a_historic_post_with_militant_context_keeps_the_name(shipped: LexiconTagger) -> None:
    text = "Лектор сравнил Аббасидов и боевиков Исламского государства."
    assert "islamic_state" in {m.family for m in shipped.tag(text)}


def test_multi_word_names_match_with_any_separator() -> None:
    for text in ["члены Хизб ут-Тахрир", "члены Хизб ут Тахрир", "Хизбут-Тахрир", "#ХизбутТахрир"]:
        assert [term for term, _ in _found(text)] == ["Хизб ут-Тахрир"], text
    assert _found("#Хизб_ут_Тахрир") == [("Хизб ут-Тахрир", "Хизб_ут_Тахрир")]


def test_separator_must_fall_between_words_of_the_name() -> None:
    assert _found("Хиз бут Тахрир") == []


def test_a_derivative_of_a_multi_word_name_is_a_mention() -> None:
    # «хизб ут-тахрирская ячейка»: a Hizb ut-Tahrir cell (matched on the name's spelling key).
    assert [term for term, _ in _found("Хизб ут-Тахрирская ячейка")] == ["Хизб ут-Тахрир"]


def test_uzbek_apostrophe_may_be_any_form_or_missing() -> None:
    for text in ["O‘zbekiston islomiy harakati", "Ozbekiston islomiy harakatining"]:
        assert [term for term, _ in _found(text)] == ["Oʻzbekiston islomiy harakat"], text


def test_arabic_clitic_prefixes() -> None:
    for text in ["والدولة الإسلامية", "بالدولة الاسلامية", "للدولة الإسلامية", "وداعش"]:
        matches = _found(text)
        assert len(matches) == 1, text
        assert matches[0][1] == text  # the span covers the clitic too
    assert [term for term, _ in _found("الدواعش وداعشي")] == ["داعش"]


def test_arabic_word_inside_another_word_does_not_match() -> None:
    assert _found("تالدولة الإسلامية") == []
    assert _found("مشداعش") == []


def test_exclude_list() -> None:
    assert _found("Опубликован манифест.") == [("манифест", "манифест")]
    assert _found("Прошла манифестация.") == []


def test_spans_refer_to_the_original_text() -> None:
    text = "Сообщение:  «ИСЛАМСКОГО  ГОСУ\u200bДАРСТВА» и ＩＳＩＳ."
    matches = _tagger().tag(text)
    assert [text[m.start : m.end] for m in matches] == ["ИСЛАМСКОГО  ГОСУ\u200bДАРСТВА", "ＩＳＩＳ"]


def test_match_records_topic_family_lang_and_layer() -> None:
    (match,) = _tagger().tag("ИГИЛ")
    assert match == TopicMatch(
        topic="designated_org",
        family="test_family",
        term="ИГИЛ",
        start=0,
        end=4,
        lang=("ru",),
        layer="un_listed",
    )


def test_shorter_match_inside_a_longer_one_of_the_same_topic_is_dropped() -> None:
    assert _found("ISIS-K claimed it") == [("ISIS-K", "ISIS-K")]
    assert _found("ISIS and ISIS-K") == [("ISIS", "ISIS"), ("ISIS-K", "ISIS-K")]


def test_no_match_in_neutral_text() -> None:
    assert _found("Правительство утвердило новый бюджет на следующий год.") == []


def test_empty_tagger() -> None:
    assert LexiconTagger([]).tag("ИГИЛ") == []


def test_version_changes_with_the_terms() -> None:
    base = _tagger()
    assert base.version.startswith(f"{MATCHER_VERSION}.")
    assert len(base.version) == len(MATCHER_VERSION) + 1 + 8
    assert _tagger().version == base.version
    changed = [*TERMS[:-1], Term(term="манифест", lang=["ru"], mode="word")]
    assert _tagger(changed).version != base.version
    assert _tagger([*TERMS, Term(term="ДАИШ", lang=["ru"], mode="word")]).version != base.version
    assert _tagger(family="other_family").version != base.version


def test_version_ignores_notes_and_file_order() -> None:
    noted = [TERMS[0].model_copy(update={"note": "a note"}), *TERMS[1:]]
    assert _tagger(noted).version == _tagger().version
    first = Lexicon(topic="financing", family="a", source="x", terms=TERMS[:2])
    second = Lexicon(topic="recruitment", family="b", source="y", terms=TERMS[2:4])
    assert LexiconTagger([first, second]).version == LexiconTagger([second, first]).version


def test_explicit_name_and_version() -> None:
    tagger = LexiconTagger([], name="custom", version="9.9")
    assert (tagger.name, tagger.version) == ("custom", "9.9")


def test_tagger_from_files(tmp_path: Path) -> None:
    from classifiers.lexicon import load_lexicons

    (tmp_path / "a.yaml").write_text(
        "topic: financing\nfamily: wallets\nsource: test\n"
        "terms:\n  - {term: crypto wallet, lang: [en], mode: stem}\n",
        encoding="utf-8",
    )
    tagger = LexiconTagger(load_lexicons([tmp_path]))
    assert tagger.labels == ("financing",)
    (match,) = tagger.tag("Two crypto wallets were named in the report.")
    assert (match.topic, match.family, match.layer) == ("financing", "wallets", None)


def test_turkic_stems_take_chained_suffixes_and_excludes_cover_longer_forms() -> None:
    uzbek = Term(term="Tavhid va jihod katiba", lang=["uz"], mode="stem")
    kazakh = Term(term="Ислам мемлекет", lang=["kk"], mode="stem", exclude=["ислам мемлекеттер"])
    russian = Term(term="Исламск государств", lang=["ru"], mode="stem")
    tagger = _tagger([uzbek, kazakh, russian])
    # katiba + si + ning: six letters of suffixes, more than a Russian stem may take.
    assert [m.term for m in tagger.tag("Tavhid va jihod katibasining nomi")] == [uzbek.term]
    assert [m.term for m in tagger.tag("Ислам мемлекетінің жақтасы")] == [kazakh.term]
    # The plural is excluded, also when more suffixes follow it.
    assert tagger.tag("Ислам мемлекеттерінің министрлері") == []
    assert tagger.tag("Исламскоегосударствованиями") == []  # ru: at most five letters


def test_a_latin_term_with_yo_matches_cyrillic_posts_where_yo_is_folded() -> None:
    """Uzbek "yo" transliterates to "ё", which post text folds to "е": the spelling must too."""
    lexicon = Lexicon(
        topic="recruitment", family="f", layer="un_listed", source="t",
        terms=[Term(term="yopiq guruh", lang=["uz"], mode="stem")],
    )  # fmt: skip
    found = LexiconTagger([lexicon]).tag("ёпиқ гуруҳга ёзинг")
    assert [m.term for m in found] == ["yopiq guruh"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ба дасти бародарон", True),
        ("бав дасти бародарон", False),  # a leading short word takes no ending
        ("ба дастиҳо бародарон", True),  # the longer word still does
        ("sen mujohidlar safiga qo'shil", True),  # so does a short last word
        ("бадан дасти", False),
    ],
)
def test_leading_short_words_of_a_stem_term_take_no_ending(text: str, found: bool) -> None:
    lexicon = Lexicon(
        topic="recruitment", family="f", layer="un_listed", source="t",
        terms=[Term(term="ба дасти", lang=["tg"], mode="stem"),
               Term(term="mujohidlar saf", lang=["uz"], mode="stem")],
    )  # fmt: skip
    assert bool(LexiconTagger([lexicon]).tag(text)) is found


def test_a_built_tagger_is_reused_until_one_of_its_files_changes(tmp_path: Path) -> None:
    from classifiers.lexicon import build_tagger

    path = tmp_path / "names.yaml"
    text = (
        "topic: designated_org\nfamily: f\nlayer: un_listed\nsource: t\n"
        'terms: [{term: "Zorbland Front", lang: [en], mode: word}]\n'
    )
    path.write_text(text, encoding="utf-8")
    first = build_tagger([path], [])
    assert build_tagger([path], []) is first
    path.write_text(text.replace("Zorbland", "Quorbland"), encoding="utf-8")  # same size
    second = build_tagger([path], [])
    assert second is not first
    assert [m.term for m in second.tag("the Quorbland Front said")] == ["Quorbland Front"]


# Matcher 23: rules from the misses left over all earlier blind sets, each tested on names it
# was not written for (the misses were IMU, ИДУ, KIB; Taliban's Arabic adjective; "Daeshi";
# al-Qaida stretched with tatweel).


@pytest.mark.parametrize(
    "text",
    [
        "Reporters wrote that the Ttp met elders in [CITY] on Monday.",
        "Журналист [NAME] написал, что Ттп снова заявила о себе.",
        "В отчёте говорится, что Ктж действовала у границы.",
    ],
)
def test_an_acronym_with_everyday_readings_counts_as_a_proper_noun_inside_a_sentence(
    shipped: LexiconTagger, text: str
) -> None:
    """A capital then small letters inside a sentence is a proper noun's case, which none of
    the everyday readings (a disorder, a railway's initials, a sensor) takes."""
    assert [m.term for m in shipped.tag(text) if m.topic == "designated_org"] != []


@pytest.mark.parametrize(
    "text",
    [
        "Ttp is rare, the doctor said.",  # a sentence's first word takes a capital anyway
        "Он сказал: «Ттп лечится».",  # so does a quotation's
        "Guide To Ttp For New Families",  # a heading in title case
        "что Идут дожди, сказал синоптик",  # an ending makes a word: «Идут», «Идумея»
        "Ну всё))) Иду спать",  # after a smiley, as after a sentence's end
        "😊 Иду спать",  # after an emoji
        "1) Ttp met the board",  # a list's item
        "Hello.\u00a0Ttp met the board",  # a sentence's end before an odd space
        "the ttp count was low",  # small letters: the everyday reading
        "My cousin moved to Jackson Hts last year.",  # a dictionary's abbreviation (Heights)
        "Вчера Сид пришёл домой поздно.",  # a given name (configs/ordinary_words_extra.yaml)
        "Here is a Pro Tip for the market.",  # an English word, capitalised in a phrase
        "У пациента Ттп, сказал врач.",  # the disorder's words (configs/context.yaml homonyms)
    ],
)
def test_the_proper_noun_case_does_not_count_where_capitals_say_nothing(
    shipped: LexiconTagger, text: str
) -> None:
    assert [m for m in shipped.tag(text) if m.topic == "designated_org"] == []


def test_an_arabic_name_takes_its_feminine_and_plural_adjective() -> None:
    """A one-word Arabic name (word mode here, so no stem ending helps) with the nisba
    «ـية»/«ـيون»; the masculine «ـي» is also a family name's ending and does not count."""
    tagger = _tagger([Term(term="داعش", lang=["ar"], mode="word")])
    assert _found("قالت المصادر إن الخلايا الداعشية انتشرت", tagger) == [("داعش", "الداعشية")]
    assert [t for t, _ in _found("اعتقل الداعشيون في المدينة", tagger)] == ["داعش"]
    assert _found("قالت المصادر إن الخلية الداعشي", tagger) == []


def test_a_latin_name_takes_the_follower_suffix_i(shipped: LexiconTagger) -> None:
    """ "a former Daeshi" was missed beside "Daeshis"; the same suffix on a name it was not
    written for."""
    tagger = _tagger([Term(term="Amaq", lang=["en"], mode="word")])
    assert _found("an Amaqi video was shared", tagger) == [("Amaq", "Amaqi")]
    assert "islamic_state" in {m.family for m in shipped.tag("a former Daeshi was detained")}


def test_a_name_stretched_with_tatweel_needs_no_context() -> None:
    """An Arabic name that is also an ordinary word counts only with context, unless it is
    stretched with tatweel inside: written to slip past a filter."""
    tagger = _tagger([Term(term="الجبهة", lang=["ar"], mode="word", needs_context=True)])
    assert _found("قرأت عن الجبهة اليوم", tagger) == []
    assert _found("قرأت عن الجـبـهة اليوم", tagger) == [("الجبهة", "الجـبـهة")]


def test_a_stretched_homonym_in_its_ordinary_sense_does_not_count(shipped: LexiconTagger) -> None:
    """Tatweel also decorates headings: beside the words of the ordinary sense («القاعدة
    الذهبية», the golden rule; configs/context.yaml homonyms) the stretched word stays a rule."""
    text = "قرأت عن القـاعـدة الذهبية في الرياضيات"
    assert [m for m in shipped.tag(text) if m.topic == "designated_org"] == []
    assert "al_qaida" in {m.family for m in shipped.tag("قال الباحث إن القـاعـدة فقدت قادتها")}
