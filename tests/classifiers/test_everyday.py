"""A topic only the model finds, in a post of everyday life without the militant register,
is a borderline mark, not a flag (classifiers/everyday.py, configs/context.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from classifiers import context, lexicon
from classifiers.content import RULES_FAMILY as RULES
from classifiers.everyday import EVERYDAY
from classifiers.lexicon import build_tagger
from classifiers.normalize import normalize
from classifiers.post import PostClassifier

LANGS = ("ru", "en", "kk", "uz")
SHIPPED = build_tagger
COOKING = "Урок [NUMBER] по плову загружен, смотрите"
MATCH_LIVE = "Прямой эфир матча «Динамо» — «Кайрат» через [NUMBER] минут 🔴 [LINK]"


@pytest.fixture
def either(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PostClassifier]:
    """An `either` classifier whose model flags instruction on every post: what it flags then
    depends only on the everyday check."""
    classifier = PostClassifier(languages=LANGS, topics="either", model=model_dir)
    assert classifier.model is not None
    monkeypatch.setattr(classifier.model, "flagged_topics", lambda scores: ("instruction",))
    yield classifier


def verdict(classifier: PostClassifier, text: str) -> tuple[tuple[str, ...], list[str]]:
    """The topics the model flags in text, and the marks made at its everyday word."""
    one, batch = classifier.classify(text), classifier.classify_many([text])[0]
    assert (one.matches, one.signals) == (batch.matches, batch.signals)
    at = {(s.start, s.end) for s in one.signals if s.name == EVERYDAY}
    marks = sorted(s.name for s in one.signals if (s.start, s.end) in at)
    return classifier.model_topics(one), marks


def test_everyday_words_turn_the_models_own_topic_into_a_mark(either: PostClassifier) -> None:
    assert verdict(either, COOKING) == ((), ["borderline_instruction", EVERYDAY])
    result = either.classify(COOKING)
    mark = next(s for s in result.signals if s.name == EVERYDAY)
    assert COOKING[mark.start : mark.end] == mark.text == "плову"
    # A capitalised name in quotes mid-sentence is a club, not a code word.
    assert verdict(either, MATCH_LIVE) == ((), ["borderline_instruction", EVERYDAY])


@pytest.mark.parametrize(
    "text",
    [
        "Урок [NUMBER] для муджахидов по плову загружен, смотрите",  # register word
        "Урок [NUMBER] про «плов» загружен, пароль у админа",  # a code word in quotes
        "Урок [NUMBER] по плову от ИГИЛ загружен",  # an organisation named
        "Урок [NUMBER] по плову загружен 🏴",  # the black flag
        "Урок [NUMBER] по плову и взрывчатке загружен",  # explosives: no everyday word excuses
        "To'yimizga «salyut» tayyor 🎆",  # a small-letter code word in quotes
        "Урок [NUMBER] загружен, смотрите",  # no everyday word at all
    ],
)
def test_the_register_or_no_everyday_word_keeps_the_models_topic(
    either: PostClassifier, text: str
) -> None:
    assert verdict(either, text) == (("instruction",), [])


def test_rules_met_in_an_everyday_post_are_marks_too(
    either: PostClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A content rule met by a post's shape ("lesson" + "in the pinned post") in a post of
    everyday life is a mark, in every mode; with a register word the rule's tag stands."""
    lesson = "Урок [NUMBER] по английскому загружен, ссылка в закрепе"
    rules = [m for m in SHIPPED().tag(lesson.replace("по английскому ", "")) if m.family == RULES]
    assert [m.topic for m in rules] == ["instruction"]  # the rule itself is met
    matches, signals = SHIPPED().tag_with_signals(lesson)
    assert not [m for m in matches if m.family == RULES]
    assert {"borderline_instruction", EVERYDAY} <= {s.name for s in signals}
    marked = "Урок [NUMBER] для муджахидов по английскому загружен, ссылка в закрепе"
    assert [m.topic for m in SHIPPED().tag(marked) if m.family == RULES] == ["instruction"]
    # In `either` mode neither the rule nor the model (here flagging financing) then flags it.
    assert either.model is not None
    monkeypatch.setattr(either.model, "flagged_topics", lambda scores: ("financing",))
    result = either.classify(lesson)
    assert either.model_topics(result) == () and not result.matches


def test_lexicon_mode_adds_no_marks(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shadow = PostClassifier(languages=LANGS, model=model_dir)
    assert shadow.model is not None
    monkeypatch.setattr(shadow.model, "flagged_topics", lambda scores: ("instruction",))
    assert EVERYDAY not in {s.name for s in shadow.classify(COOKING).signals}


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Рецепт: манты на ужин", "манты"),
        ("Kurashchilarimiz chempionatda oltin oldi", "kurashchilarimiz"),
        ("Қалыңдық пен күйеу бала", "қалыңдық"),
        # Word starts only: «садака» (alms) holds «сад», «садои» (Tajik: voice) too.
        ("Братья ждут садаку, садои мо", None),
        ("Набираем серьёзных, bog'laning", None),  # «набира», «bog'» are left out
        # A word in quotes is a code name, not the thing («Огурцы», «Toʻy torti»)...
        ("Мастерская «Огурцы»: новая глава в закрытом канале", None),
        ("«Toʻy torti»ni qanday tayyorlash haqida video", None),
        # ... but an apostrophe inside an Uzbek word is no quote mark.
        ("Bog'da palov pishirdik, qo'shnilar ham keldi", "palov"),
    ],
)
def test_everyday_words_are_found_at_a_words_start(text: str, word: str | None) -> None:
    norm = normalize(text).text
    span = context.everyday(norm)
    assert (span and span[0]) == (word and norm.index(word))


def test_the_context_words_are_part_of_the_lexicons_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = lexicon.content_hash([])
    monkeypatch.setattr(lexicon, "context_digest", lambda: "changed")
    assert lexicon.content_hash([]) != before
