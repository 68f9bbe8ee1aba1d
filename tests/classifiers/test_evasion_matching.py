"""Tests for evasion-proof lexicon matching, news-disclaimer signals and the evaluation set."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from classifiers.base import Signal
from classifiers.disclaimer import NEWS_DISCLAIMER, find_disclaimers
from classifiers.evasion_eval import (
    EvaluationSetError,
    evaluate,
    load_evaluation_set,
    naive_tagger,
)
from classifiers.lexicon import EVASION, Lexicon, LexiconTagger, Term
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR, load_lexicons
from classifiers.normalize import normalize

TERMS = [
    Term(term="ИГИЛ", lang=["ru"], mode="abbr", lower_in_hashtag=True),
    Term(term="ИДУ", lang=["ru"], mode="abbr", exclude=["я иду"]),
    Term(term="ИГ", lang=["ru"], mode="abbr", exclude=["иг ран"]),
    Term(term="ISIS", lang=["en"], mode="abbr"),
    Term(term="HTS", lang=["en"], mode="abbr"),
    Term(term="ДАИШ", lang=["ru"], mode="word"),
    Term(term="Daesh", lang=["en"], mode="word"),
    Term(term="Хизб ут-Тахрир", lang=["ru"], mode="stem"),
    Term(term="Талибан", lang=["ru"], mode="stem"),
    Term(term="Taliban", lang=["en"], mode="word"),
    Term(term="Islom davlat", lang=["uz"], mode="stem", exclude=["islom davlatlari"]),
    Term(term="ПИВТ", lang=["ru"], mode="abbr", translit=False),
]


@pytest.fixture(scope="module")
def tagger() -> LexiconTagger:
    lexicon = Lexicon(
        topic="designated_org", family="f", layer="un_listed", source="t", terms=TERMS
    )
    return LexiconTagger([lexicon])


def _found(tagger: LexiconTagger, text: str) -> list[tuple[str, str]]:
    return [(m.term, text[m.start : m.end]) for m in tagger.tag(text)]


@pytest.mark.parametrize(
    ("text", "term", "span"),
    [
        ("Упомянули И.Г.И.Л., сообщает", "ИГИЛ", "И.Г.И.Л"),
        ("Запись D*A*E*S*H удалили", "Daesh", "D*A*E*S*H"),
        ("Пользователь написал И Г И Л вчера", "ИГИЛ", "И Г И Л"),
        ("В комментарии ДAИШ.", "ДАИШ", "ДAИШ"),
        ("The post mentions ІSІS today", "ISIS", "ІSІS"),
        ("The article describes НТS and", "HTS", "НТS"),
        ("A reply wrote 1SIS here", "ISIS", "1SIS"),
        ("В посте Xизб yт-Taxpиp.", "Хизб ут-Тахрир", "Xизб yт-Taxpиp"),
        ("Weekly review #DaeshNews", "Daesh", "Daesh"),
        ("Новости #ДаишСегодня", "ДАИШ", "Даиш"),
    ],
)
def test_evasive_spellings_match_with_original_spans(
    tagger: LexiconTagger, text: str, term: str, span: str
) -> None:
    assert _found(tagger, text) == [(term, span)]
    _, signals = tagger.tag_with_signals(text)
    assert [(s.name, s.text) for s in signals] == [(EVASION, span)]


def test_plain_mentions_carry_no_evasion_signal(tagger: LexiconTagger) -> None:
    matches, signals = tagger.tag_with_signals("В новостях упомянули ИГИЛ и Daesh.")
    assert len(matches) == 2
    assert signals == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Бывшего члена ИГИЛа задержали", "ИГИЛа"),
        ("ИГИЛдің бұрынғы мүшесі", "ИГИЛдің"),
        ("ИГИЛ-дің мүшесі", "ИГИЛ-дің"),  # a hyphenated suffix belongs to the name
        ("Обзор недели #игил", "игил"),
        ("Сводка #новости_игил", "игил"),
    ],
)
def test_abbreviations_take_small_letter_endings_and_lower_case_hashtags(
    tagger: LexiconTagger, text: str, span: str
) -> None:
    assert _found(tagger, text) == [("ИГИЛ", span)]


@pytest.mark.parametrize(
    "text",
    ["игил опять взял на себя", "в чате снова пишут про игил", "ИГИЛ и концерт"],
)
def test_small_letter_igil_is_the_acronym_outside_music(tagger: LexiconTagger, text: str) -> None:
    # The instrument's words veto the small-letter form only; capitals are always the acronym.
    assert [term for term, _ in _found(tagger, text) if term == "ИГИЛ"] == ["ИГИЛ"]


@pytest.mark.parametrize(
    "text",
    [
        "ИГИЛОВЦЫ",
        "ИГИЛДАИШ",
        "#isis",
        "Isis",
        "My cat Isis",
        "Игил звучит",
        "на фестивале играл тувинский игил",
        "Эл игилиги үчүн көпүрө ачылды",
    ],
)
def test_capital_run_ons_and_acronyms_that_are_names_need_more(
    tagger: LexiconTagger, text: str
) -> None:
    # "Isis" is also a name (the goddess, a river, a cat): capitalised, or in a hashtag (which
    # drops every capital), it counts only with context. «игил» is a Tuvan instrument in a post about music, and «игилик» Kyrgyz
    # for welfare; four capitals after an acronym make another word.
    assert [term for term, _ in _found(tagger, text) if term in ("ИГИЛ", "ISIS", "ИСИС")] == []


@pytest.mark.parametrize(
    "text",
    [
        "ИГИЛА",
        "игил взял ответственность",
        "Игил опять, теракт",
        "игиловцы в Сирии",
        "Isis claimed the attack",
    ],
)
def test_acronyms_that_are_no_ordinary_word_match_in_any_case(
    tagger: LexiconTagger, text: str
) -> None:
    assert [term for term, _ in _found(tagger, text) if term in ("ИГИЛ", "ISIS", "ИСИС")]


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("TTP is a rare blood disorder treated with plasma exchange.", False),
        ("TTP claimed the attack on the checkpoint.", True),
        ("The IMU of the phone measures acceleration.", False),
        ("The IMU fighters were based in Waziristan.", True),
        ("HTS screening found three new compounds.", False),
        ("HTS took Idlib.", True),
        ("ИГ «Интерфакс» сообщила о сделке.", False),
        ("ИГ* взяла ответственность.", True),
        ("КТЖ повышает тарифы на грузоперевозки с января.", False),  # the railway
        ("Боевики КТЖ опубликовали обращение.", True),
        # A member derivative after the capitals names followers of the group, as context does.
        ("ИДУшники ушли под чужие знамёна", True),
        ("ТИПовцы выложили ролик", True),
        ("HTSchilar hokimiyatni qo'lga oldi", True),
        ("ТТП в отчёте: тактики, техники и процедуры", False),
        # Leaders, members, bans and lists are context in every language.
        ("The Imu leader was killed in 2009.", True),
        ("The Imu reads acceleration at 1 kHz.", False),
        # Supporters, courts and sentences are context too.
        ("isis supporters shared the clip widely", True),
        ("Isis and Osiris: a lecture on Egyptian myths", False),
        ("Суд вынес приговор стороннику Иду.", True),
        ("Я иду в кино с друзьями.", False),
    ],
)
def test_acronyms_with_everyday_meanings_count_only_in_context(text: str, counted: bool) -> None:
    found = [m for m in SHIPPED().tag(text) if m.topic == "designated_org"]
    assert bool(found) is counted, found


@functools.cache
def SHIPPED() -> LexiconTagger:
    return LexiconTagger(load_lexicons([DEFAULT_LEXICON_DIR]))


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        ("Is an Islamic state compatible with liberal democracy?", False),
        ("Islamic State claimed the attack.", True),
        ("Qaeda leader killed in a drone strike, officials say.", True),
        ("Bought a Noorani Qaida for my son.", False),
        ("Ҳизб•ут•Таҳрир аъзолари ушланди", True),  # bullets inside the name
        ("ДА•ИШ менен байланышы бар деп шектелген", True),
        ("مقتل زعيم تنظيم القاعده في غارة", True),  # ta marbuta typed as ha
        ("Толибони илм ба олимпиада омаданд.", False),  # students of knowledge
        ("хизбутовцы опять раздавали листовки", True),
        # Bare names that are also ordinary words count only with context.
        ("#القاعدة تصدر بياناً", True),
        ("القاعدة الذهبية في الطبخ هي الصبر", False),  # the golden rule
        ("Qoida tashkiloti yangi bayonot tarqatdi", True),
        ("Bu qoida hammaga tegishli", False),  # "this rule applies to all"
        # Boxed emoji letters and "$" read as the letters they stand for; flags do not.
        ("Tali🅱️an banned girls' schools again", True),
        ("Вилаят Хора$ан выпустил журнал", True),
        ("Тали🇦🇫бан өкілдері Астанаға келді", True),
        # A word that is a name and an ordinary word: the ordinary sense wins with its words.
        ("Толибони синфи 9 ба озмуни фанни химия омода мешаванд.", False),
        ("Толибонҳо дар наздикии марз машқҳо гузарониданд", True),
        ("فاز طالبان من الجامعة بالمركز الأول", False),  # two students won
        ("طالبان تحتفل بذكرى السيطرة", True),
        # A name in words, in a post about a historic state, needs context; an acronym not.
        ("Исламское государство Аббасидов переживало расцвет наук.", False),
        ("كانت ولاية خراسان في العصر العباسي مركزا للعلم", False),
        ("ИГИЛ разрушил памятники эпохи Аббасидов", True),
        # A one-word name too short for a spelling key of its own counts after a hyphened
        # article ("Al-Kaýda"), not after a word that looks like one ("al kadar").
        ("Al-Kaýda toparynyň ýolbaşçysy öldürildi", True),
        ("Al-Quaida still exists", True),
        ("Bu al kadar güzel", False),
        ("Laylat al-Qadr could be tonight, make dua", False),
        ("аль-Каиды и её союзников", True),
        # «уаль»: "and the" in Russian transcription.
        ("«Катибат ат-Таухид уаль-Джихад» ведёт пропаганду", True),
    ],
)
def test_names_as_people_write_them_and_their_look_alikes(text: str, counted: bool) -> None:
    found = [m for m in SHIPPED().tag(text) if m.topic == "designated_org"]
    assert bool(found) is counted, found


@pytest.mark.parametrize(
    "text",
    ["Я ИДУ ДОМОЙ", "ИГ РАН провёл конференцию", "Islom davlatlari savdo bo'yicha kelishdi"],
)
def test_exclude_phrases_around_the_match(tagger: LexiconTagger, text: str) -> None:
    assert _found(tagger, text) == []


def test_exclude_phrases_leave_other_mentions(tagger: LexiconTagger) -> None:
    assert _found(tagger, "ИДУ и ИГ упомянуты") == [("ИДУ", "ИДУ"), ("ИГ", "ИГ")]


def test_transliterated_spellings_and_their_excludes(tagger: LexiconTagger) -> None:
    assert _found(tagger, "Sud rassmotrel delo Khizb ut-Takhrira") == [
        ("Хизб ут-Тахрир", "Khizb ut-Takhrira")
    ]
    assert _found(tagger, "Eksperty obsudili DAISh") == [("ДАИШ", "DAISh")]
    assert _found(tagger, "Ислом давлати ҳақида") == [("Islom davlat", "Ислом давлати")]
    assert _found(tagger, "Ислом давлатлари келишди") == []
    assert _found(tagger, "IGIL упомянут") == [("ИГИЛ", "IGIL")]
    # Short and opted-out abbreviations are not transliterated: "IDU", "PIVT".
    assert _found(tagger, "IDU and PIVT") == []


@pytest.mark.parametrize(
    ("text", "disclaimer"),
    [
        ("Суд по делу ИГ* (запрещена в РФ).", "запрещена в РФ"),
        (
            "об «Исламском государстве» ИГИЛ (запрещённая в России организация)",
            "запрещённая в России",
        ),
        ("IShID ИГИЛ haqida. * Rossiyada taqiqlangan tashkilot.", "Rossiyada taqiqlangan"),
        ("ИГИЛ (Қазақстанда тыйым салынған) туралы", "Қазақстанда тыйым салынған"),
        ("ИГИЛ (организации, запрещенные в Кыргызстане)", "запрещенные в Кыргызстане"),
        ("A Taliban delegation (banned in Russia) arrived", "banned in Russia"),
    ],
)
def test_disclaimer_phrases_are_signals(tagger: LexiconTagger, text: str, disclaimer: str) -> None:
    matches, signals = tagger.tag_with_signals(text)
    assert matches  # the disclaimer does not remove the topic tag
    texts = [s.text for s in signals if s.name == NEWS_DISCLAIMER]
    assert disclaimer in texts
    for signal in signals:
        assert text[signal.start : signal.end] == signal.text


def test_asterisk_after_a_name_is_a_signal(tagger: LexiconTagger) -> None:
    text = "Боевики ИГ* и «Хизб ут-Тахрир»* упомянуты, ПИВТ тоже."
    _, signals = tagger.tag_with_signals(text)
    stars = [s for s in signals if s.name == NEWS_DISCLAIMER]
    assert [(s.start, s.text) for s in stars] == [
        (text.index("*"), "*"),
        (text.index("»*") + 1, "*"),
    ]


def test_disclaimer_phrase_needs_a_name_or_a_footnote() -> None:
    text = "Продажа вейпов запрещена в России с марта."
    assert find_disclaimers(normalize(text), text, []) == []
    footnote = "Новость. *Организация запрещена в России."
    (signal,) = find_disclaimers(normalize(footnote), footnote, [])
    start = footnote.index("запрещена")
    assert signal == Signal(NEWS_DISCLAIMER, start, start + 18, "запрещена в России")


def test_shipped_lexicons_meet_the_evaluation_targets_on_the_test_half() -> None:
    positives, negatives = load_evaluation_set()
    lexicons = load_lexicons([DEFAULT_LEXICON_DIR])
    tagger = LexiconTagger(lexicons)
    report = evaluate(
        tagger.tag, positives, negatives, "test", lambda t: tagger.tag_with_signals(t)[1]
    )
    assert sum(report.total.values()) >= 90 and report.negatives >= 190
    assert len(report.total) >= 12  # every evasion form is in the test half
    assert report.recall >= 0.95, [case.text for case in report.missed]
    assert report.false_positive_rate <= 0.02, [case.text for case in report.false_positives]
    assert report.disclaimers_found == report.disclaimers > 0
    baseline = evaluate(naive_tagger(lexicons), positives, negatives, "test")
    assert baseline.recall < report.recall and baseline.false_positive_rate > 0.02


def test_evaluation_set_rows_are_checked(tmp_path: Path) -> None:
    good = {"text": "t", "lang": "ru", "kind": "ordinary", "split": "dev"}
    (tmp_path / "positives.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "negatives.jsonl").write_text(
        json.dumps(good) + "\n" + json.dumps(good | {"split": "train"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(EvaluationSetError, match=r"negatives.jsonl: line 2: split: 'train'"):
        load_evaluation_set(tmp_path)
    (tmp_path / "negatives.jsonl").write_text("{broken\n", encoding="utf-8")
    with pytest.raises(EvaluationSetError, match="line 1: invalid JSON"):
        load_evaluation_set(tmp_path)
    with pytest.raises(EvaluationSetError, match="cannot be read"):
        load_evaluation_set(tmp_path / "missing")


def test_post_classifier_fills_signals_and_they_are_stored() -> None:
    from datetime import UTC, datetime

    from classifiers.post import PostClassifier
    from crawler.items import PostItem
    from storage.records import build_record

    classifier = PostClassifier(languages=["ru", "en"])
    text = "Суд вынес приговор по делу ИГ* (запрещена в РФ), в комментариях писали Д.А.И.Ш."
    result = classifier.classify(text)
    assert result.topics == ("designated_org",)
    assert {(s.name, s.text) for s in result.signals} == {
        (NEWS_DISCLAIMER, "*"),
        (NEWS_DISCLAIMER, "запрещена в РФ"),
        (EVASION, "Д.А.И.Ш"),
    }
    assert classifier.classify_many([text, "Погода хорошая."])[0].signals == result.signals
    item = PostItem("vk", "s", "club1", "-1_1", datetime(2025, 3, 1, tzinfo=UTC), text)
    record = build_record(item, result, classifier.versions, "none")
    stored = {(t.kind, t.label): t.evidence for t in record.tags}
    assert stored[("signal", EVASION)] == [{"start": text.index("Д.А"), "end": len(text) - 1}]
    assert len(stored[("signal", NEWS_DISCLAIMER)] or []) == 2
    assert ("topic", "designated_org") in stored


def test_the_blind_sets_meet_the_targets() -> None:
    """blind1 and blind2 were written by helpers who never saw the matcher or the lexicons.

    blind1 was then used to find gaps (0.918 recall, 3.0% false positives before); blind2
    scored 0.937 / 0.6% before the digit and Turkic-ending fixes it pointed to.
    """
    positives, negatives = load_evaluation_set()
    tagger = LexiconTagger(load_lexicons([DEFAULT_LEXICON_DIR]))
    for split in ("blind1", "blind2"):
        report = evaluate(tagger.tag, positives, negatives, split)
        assert sum(report.total.values()) >= 140 and report.negatives >= 160, split
        assert report.recall >= 0.94, (split, [case.text for case in report.missed])
        assert report.false_positive_rate <= 0.02, (split, report.false_positives)


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        # Russian forms of the Taliban's name; Kazakh and Kyrgyz «талиптер» are students.
        ("Талибы взяли Кабул.", True),
        ("Талибские власти объявили новые правила.", True),
        ("Медреседеги талиптер сынактан ийгиликтүү өтүштү.", False),
        # A member derivative names followers in small letters too; the verb «иду» does not.
        ("Старики помнят, как идушники заходили в горы.", True),
        ("Даишевские каналы снова всплыли.", True),
        ("Я иду домой пешком.", False),
        # A Turkic case ending on a Latin acronym: no English reading takes one.
        ("HTSga aloqador kanal bloklandi.", True),
        ("HTS screening found three new compounds.", False),
        # Capitals out of place to dodge a filter; a unit keeps its own capitals.
        ("they write iSiS like that to dodge the filter", True),
        ("1 KiB is 1024 bytes, not 1000.", False),
    ],
)
def test_forms_of_names_people_write_count_and_their_look_alikes_do_not(
    text: str, counted: bool
) -> None:
    found = [m for m in SHIPPED().tag(text) if m.topic == "designated_org"]
    assert bool(found) is counted, found


@pytest.mark.parametrize(
    ("text", "counted"),
    [
        # From blind11's misses (each set's rules were written after its first run):
        # Arabizi: 7 is h, 3 and 2 go ("ta7rir", "qa3ida"); digits elsewhere are not letters.
        ("hay2at ta7rir el sham 3amalet mo2tamar", True),
        ("jab7at el nosra kanet hena", True),
        ("bus 7 leaves at 5, platform 3", False),
        # The article in the construct state: the first word's u with it, joined or assimilated.
        ("Жабҳатун Нусра сафида жанг қилган фуқаро ҳибсга олинди.", True),
        ("Ҷабҳатуннусра дар рӯйхат қарор дорад.", True),
        ("Jundul Khilafah kanali yopildi.", True),
        ("Жабҳаи мардумӣ ва Нусрат Раҳимов вохӯрданд.", False),
        # A follower's or an adjective's suffix on a name; a judge's plural does not fold so.
        ("A Qaedist cell was dismantled last week.", True),
        ("Аналитик назвал ячейку аль-каидовской по почерку.", True),
        ("Нусрачылар тууралуу маалымат жаңы баяндамада бар.", True),
        ("Former Daeshis held in camps are being repatriated.", True),
        ("The qadis of the old courts wrote in Persian.", False),
        # English c before e or i is an s ("Province", «Провинс»).
        ("Исламик Стейт Хорасан Провинс снова упомянута в отчёте", True),
        ("Хорасан провинциясы бидай өсіреді.", False),
        # A dot between words; a word cut into syllables by underscores or hyphens.
        ("Халифат.сарбаздары каналы қайта ашылды", True),
        ("Tav_hid va ji_hod katibasi yangi kanal ochdi", True),
        ("Ta-ly-ban hökümeti täze karar kabul etdi", True),
        ("Сидели бок-о-бок, кто-то пел.", False),
        # An acronym in capitals amid small letters is not the verb an exclusion is for.
        ("ФСБ сообщила о задержании сторонников ИДУ в [CITY].", True),
        ("Я ИДУ В ШКОЛУ, ВСЕ НА СБОР!", False),
        # Turkish and Turkmen ş for sh; a mixed-case Latin acronym in Cyrillic.
        ("IŞID-iň agzalary barada täze maglumat çykdy.", True),
        ("Суд по делу ХуТ перенесли на [NUMBER] число, сторонники ждут.", True),
        ("Хутор Михайловский отметил праздник, на хуторе ярмарка.", False),
        # A small-letter Latin acronym takes a Turkic case ending only with a context word.
        ("ishidga qo'shilganlikda ayblanganlar sudlandi.", True),
        ("Ishida san bugun keldi.", False),
        # From blind12's misses:
        # Arabizi: the article as a word of its own, and 3 and 2 unwritten inside a word.
        ("tanzim el qa3ida rja3 3al akhbar", True),
        ("ya jama3a shefto el khabar 3an da3esh?", True),
        ("el 3ada kanet 7elwa", False),
        # An asterisk hides a vowel; a plain word elsewhere is no evasion.
        ("Хизбут-Т*хрир чатына қосылыңдар деген спам", True),
        ("Сидели бок-о-бок *", False),
        # Capitals out of place, in any order; the goddess in title case is not.
        ("the IsIs account is back with a new name", True),
        ("Isis was an Egyptian goddess.", False),
        # Longer Turkic chains and followers' suffixes on acronyms and short names.
        ("Мурдагы игилчилердин үй-бүлөлөрү мекенине кайтарылды.", True),
        ("Ислам мемлекетіндегілердің отбасылары туралы жаңа деректер.", True),
        ("Хизбутшылар жабық чаттарда жиналған.", True),
        ("Ҳизбутиён паёмҳои худро паҳн мекарданд.", True),
        # An English name in Cyrillic title case counts; in small letters it is a meme.
        ("Ну и что там этот Исламик Стейт опять заявил?", True),
        ("исламик стейт это просто мем из чата", False),
        # A capitalised -ov/-ev word inside a sentence, or after a given name, is a surname.
        ("Тренер Талибов отметил прогресс юниоров.", False),
        ("Islom Davlatov bugun shaxmat turnirida g'olib bo'ldi.", False),
        ("Власти осудили талибов за запрет.", True),
        # From blind13's misses:
        # An acronym said aloud, its English letters' names in Cyrillic joined by hyphens.
        ("Эйч-Ти-Эс объявила о самороспуске, пишут СМИ.", True),
        ("Аналитики пишут про Ай-Эс-Кей-Пи и их каналы.", True),
        ("Би-Би-Си сообщает о погоде, Эм-Ти-Ви показал клип.", False),
        # An exclusion phrase covers whole words only (except a stem term's, which take endings).
        ("Интервью с бывшим членом Иду вышло на канале.", True),
        ("Ҳайати тоҷик ба вилояти Хуросони Разавии Эрон сафар кард.", False),
        # The softness of я after a consonant («Даулят»); ӣ makes a Tajik adjective of a name.
        ("Ролик с символикой «Даулят аль-Исламия» удалили.", True),
        ("Адабиёти ҳизбутӣ дар хонаи ӯ ёфт шуд.", True),
        # From blind14's misses:
        # The initials of a name of three words or more, with context only.
        ("Лидер ИПТа выступил с обращением к сторонникам.", True),
        ("Индекс ИПТ вырос на 3% за квартал.", False),
        ("Sobiq OʻIHga a'zo bo'lgan [NAME] afv etildi, sudlandi.", True),
        # Followers' suffixes after an acronym ending in a vowel, and Tajik -иён.
        ("Бывший идувец рассказал журналистам о лагерях.", True),
        ("Доишиёни собиқ ба ватан баргардонида шуданд.", True),
        ("Я иду в магазин, вечером приду.", False),
        # From blind15's misses:
        # The asterisk Russian media put after a banned organisation's name, in any case.
        ("Ещё одного вербовщика иг* задержали в [CITY].", True),
        ("Пост в иг набрал лайки, подписчиков стало больше.", False),
        # An acronym of four letters or more that is no word takes its language's case
        # endings in small letters; an Uzbek word that looks so ("ishida": in his work) does not.
        ("Канал репостил ролики игила, вербовщик задержан.", True),
        ("iskpning oʻzbek tilidagi kanallari bloklandi.", True),
        ("Ishida san bugun keldi, ishida ham omad.", False),
        ("ишидан қайтди, ишида ҳам омад.", False),
        # Context in Tajik (membership, convicted) and Russian (investigation).
        ("Суд [NAME]-ро барои узвият дар ҲИУ ба [NUMBER] сол маҳкум кард.", True),
        ("Следствие выяснило, что [NAME] был связан с Иду ещё в двухтысячных.", True),
        # From blind16's misses:
        # "!" between letters stands for i; an exclamation before a word does not.
        ("Tal!ban wekilleri gepleşige gatnaşdy.", True),
        ("Привет!Как дела, всё хорошо?", False),
        # Words and names the dictionaries lack (configs/ordinary_words_extra.yaml) need context.
        ("Мастер из Тувы показал, как делают игил, смычковый инструмент.", False),
        ("Isil [NAME] won the regional chess open in [CITY].", False),
        ("Сторонники игил задержаны в [CITY].", True),
        # The construct state after «ut» too: a Tajik follower of the joined name.
        ("Ҳизбутаҳририён дар [CITY] боздошт шуданд.", True),
        # From blind17's misses:
        # An acronym that is also a bank's name and a unit counts only with context.
        ("The KIB branch in [CITY] changes its opening hours from Monday.", False),
        ("KIB militants claimed the attack near [CITY].", True),
        # Daesh as it is said, with its Russian endings; the verb «даёшь» is not it.
        ("В [CITY] осуждён сторонник Даеша.", True),
        ("Даёшь стране угля! Даешь молодёжь!", False),
        # From blind18's misses:
        # -ization and -ers make derivatives of an acronym; a plural -s does not.
        ("Автор пишет об «игилизации» местных группировок.", True),
        ("Analysts describe the HTS-ization of local councils.", True),
        ("Former TTPers surrendered in [CITY], police said.", True),
        ("TTPs of the attackers were documented in the report.", False),
        # Before blind19, from the acronym misses of blind3-18:
        # «игил» in small letters is the acronym except next to the instrument's words.
        ("кто-нибудь знает что там у игил с новостями?", True),
        ("Мастер показал, как делают игил, смычковый инструмент.", False),
        # A mixed-case acronym in small letters, with context only.
        ("three hut members arrested in [CITY]", True),
        ("Found an old hut in the mountains, great spot for camping", False),
        # An Uzbek apostrophe is inside a word: «qo'ng'iroq» (a call) holds no «iroq» (Iraq).
        ("U ishidan kech qaytdi, shuning uchun qo'ng'iroq qilmadi.", False),
        # «-шный» makes an adjective of an acronym in capitals; ИГ-Хорасан is ISIS-K.
        ("ИГ-шный флаг на аватарке", True),
        ("Финансиста ИГ-Хорасана задержали в [CITY].", True),
        # Members' names: Uzbek «hizbchilar», English «Tahriris».
        ("Hizbchilar ishi boʻyicha sud majlisi boʻlib oʻtdi.", True),
        ("The Tahriris in [CITY] deny any link to violence.", True),
        # Joining, in the Turkic languages, makes a Latin acronym's reading clear.
        ("HTShga qo'shilgan o'zbeklar haqida maqola", True),
        ("HTS codes for the parcels changed this week", False),
        # After blind20: the Arabic article written apart is an evasion ("ال قاعدة");
        ("قالت الشرطة إن المتهم على صلة بتنظيم ال قاعدة.", True),
        ("هذه قاعدة نحوية مهمة للطلاب.", False),
        # "and" in small letters inside a camel-case hashtag is a word of its own;
        ("#TavhidvaJihod haqida yangi maqola", True),
        ("#JavaScript darslari bugun boshlanadi", False),
        # Uzbek "explosion" in Cyrillic as context; Kyrgyz with the loan «союз».
        ("ТТПнинг вакили [NAME] портлашга алоқаси йўқлигини айтди.", True),
        ("ТТП касаллиги ҳақида шифокор маслаҳати", False),
        ("Ислам жихад союзунун мүчөсү кармалды.", True),
        # After blind21: Arabic ت for ة in the construct state, the hamza on an alef seat.
        ("كتب صحفي أن جبهت النصرة كانت تسيطر على المعبر.", True),
        ("أعلنت هيأة تحرير الشام حل عدد من فصائلها.", True),
        ("قالت نصرت إن الجماعات المحلية تعمل بجد.", False),
        # After blind22: КИБ is also a bank's initials (context needed; Kyrgyz «тобу», its
        # group, is context); Iran's Razavi Khorasan province in Tajik, spelt «Ризавӣ» too.
        ("КИБ банкының мобильді қосымшасы жаңарды, енді аударым комиссиясыз.", False),
        ("Эксперттер Киб тобунун [CITY] шаарындагы таасири азайганын айтышат.", True),
        ("Вилояти Хуросони Ризавӣ бо вилояти Хатлон созишнома имзо кард.", False),
        # After blind26: an exclusion written in capitals holds for the acronym in capitals
        # (the UK's ISIS Neutron and Muon Source), while «иду в» still does not veto «ИДУ в».
        ("The ISIS neutron and muon source resumes user experiments.", False),
        ("ISIS claimed the attack in [CITY].", True),
        ("Суд над сторонниками ИДУ в [CITY] продолжается.", True),
        # A Turkic suffix chain of thirteen letters on a stem term.
        ("Imom Buxoriy katibasidagilarning ko'pi [CITY] tomonga ketgan.", True),
        # After blind28: the Kyrgyz article «эл-»; a member plural «-овтар» on a small-letter
        # acronym; a Latin acronym that is an English name amid Arabic; "suspected" is no
        # context for TTP (a blood disorder in a clinic); Tajik ISKP with «-ро».
        ("Эл-Каида тууралуу жаңы иликтөө жарыяланды.", True),
        ("игиловтар туралы жаңалықты көрдіңдер ме", True),
        ("نشر [NAME] تقريرا عن isis وانتشار حساباته على المنصات.", True),
        ("Temple of Isis in Egypt reopened for visitors.", False),
        # After blind29: a name guards only its capitalised form; all in small letters it is
        # the acronym ("Isil" the Turkish name, "isis" the group).
        ("why does every documentary about isis use the same drone footage", True),
        ("Isil [NAME] won the regional chess open in [CITY].", False),
        ("isil toparynyň agzasy tussag edildi.", True),
        # After blind30: the instrument in English, the Kabul government of 1992-2001.
        ("The igil is a two-stringed bowed instrument from Tuva.", False),
        ("igil claimed it again lol", True),
        (
            "The Islamic State of Afghanistan was the name of the Kabul government until 2001.",
            False,
        ),
        ("Islamic State claimed the attack in [CITY].", True),
        ("Patient admitted with suspected TTP and started on plasma exchange.", False),
        ("Гузориши нав фаъолияти ДИИШ-Хуросонро баррасӣ мекунад.", True),
    ],
)
def test_rules_from_the_blind_sets_misses_count_the_forms_and_not_their_look_alikes(
    text: str, counted: bool
) -> None:
    found = [m for m in SHIPPED().tag(text) if m.topic == "designated_org"]
    assert bool(found) is counted, found


@pytest.mark.parametrize(
    ("text", "family"),
    [
        # blind20's look-alikes: the football club and the word "victory" fold like «Нусра».
        ("Роналду оформил дубль за «Аль-Наср».", None),
        ("Эртага «Насаф» «Ал-Наср» билан учрашади.", None),
        ("Al-Nasr club won the cup.", None),
        ("ал-Нусра взяла город", "hayat_tahrir_al_sham"),
        ("боевики ал-Нусры", "hayat_tahrir_al_sham"),  # a Russian case ending for the a
        # The Prophet, his mosque and his Companions are not the outlets an-Naba and as-Sahab.
        ("Мавлид ан-Наби отмечают в [CITY].", None),
        ("Mawlid an-Nabi celebrations in [CITY]", None),
        ("Паломники молились в мечети ан-Набави.", None),
        ("Masjid an-Nabawi was full.", None),
        ("Рассказы о жизни ас-Сахаба", None),
        ("Аль-Азам", None),  # "the greatest" (Imam al-A'zam) is not the outlet al-Azaim
        ("газета ан-Наба вышла снова", "propaganda_outlets"),
        ("новое видео «Ас-Сахаб»", "propaganda_outlets"),
        ("аль-Азаим выпустил ролик", "propaganda_outlets"),
        # Other vowels of the same class, glides and "qu" still fold to the name.
        ("аль-Каеде приписали нападение", "al_qaida"),
        ("Al-Quaida still exists", "al_qaida"),
        ("ad-Daula announced", "islamic_state"),
        ("аль-К⚫ида снова выпустила обращение", "al_qaida"),  # a symbol for a vowel
        # A Turkic case ending after the name's own letters (blind19, blind21), not after others.
        ("Тергеушілер [NAME] әл-Каидаға ақша аударған-аудармағанын анықтап жатыр.", "al_qaida"),
        ("Ал-Каидага байланышы бар деп шектелген жаран кармалды.", "al_qaida"),
        ("ал-Кадрда намаз оқылды", None),  # the Night of Power
        ("Достарым ан-Насрға барды", None),
        # The article written apart before a capitalised name inside a sentence (blind26);
        # Kazakh «ал қайда» ("and where"), also capitalised at a sentence's start, is not it.
        ("He wrote Ал Кайда in Cyrillic letters in the chat.", "al_qaida"),
        ("Ал қайда барасың?", None),
        ("Жарайды. Ал Қайда?", None),
        ("Ал Қайда барасың?", None),
    ],
)
def test_short_names_found_on_their_key_keep_their_vowels(text: str, family: str | None) -> None:
    families = {m.family for m in SHIPPED().tag(text)}
    assert (family in families) if family else not families & {
        "hayat_tahrir_al_sham", "propaganda_outlets", "al_qaida", "isil_khorasan"
    }, families  # fmt: skip


@pytest.mark.parametrize(
    ("text", "content"),
    [
        # Researchers, analysts or a platform reporting on an outlet: news about it.
        ("Researchers find Al-Azaim built backup channel networks to survive takedowns", False),
        ("Аналитики: «Аль-Азаим» выпускает материалы на таджикском языке", False),
        ("Телеграм удалил сеть каналов, связанных с «Аль-Азаим»*", False),
        # The outlet's own reports and releases stay perpetrator content.
        ("Агентство «Амак» сообщило о новом нападении, подробностей пока нет", True),
        ("new issue of al-Naba [LINK]", True),
        ("Amaq News Agency reports a new attack, details soon [LINK]", True),
    ],
)
def test_an_outlet_in_a_report_about_it_is_a_borderline_mark(text: str, content: bool) -> None:
    matches, signals = SHIPPED().tag_with_signals(text)
    tagged = any(m.family == "propaganda_outlets" for m in matches)
    marked = any(s.name == "borderline_perpetrator_content" for s in signals)
    assert (tagged, marked) == (content, not content), (matches, signals)
