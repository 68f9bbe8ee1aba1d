"""Tests for the combined PostClassifier and the classifier protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import (
    DEFAULT_LEXICON_DIR,
    TOPICS,
    Classification,
    LanguageIdentifier,
    LexiconTagger,
    PostClassifier,
    Tagger,
    TopicMatch,
)
from classifiers.lexicon import MATCHER_VERSION


@pytest.fixture(scope="module")
def classifier() -> PostClassifier:
    return PostClassifier()


def test_default_lexicon_dir_is_the_repository_configs() -> None:
    expected = Path(__file__).resolve().parents[2] / "configs" / "lexicons"
    assert expected == DEFAULT_LEXICON_DIR


def test_news_sentence_with_designated_names(classifier: PostClassifier) -> None:
    text = "Суд признал «Исламское государство» (ИГИЛ*) террористической организацией."
    result = classifier.classify(text)
    assert (result.language, result.script) == ("ru", "Cyrl")
    assert result.language_probability > 0.5
    assert result.flagged
    assert result.topics == ("designated_org",)
    assert [text[m.start : m.end] for m in result.matches] == ["Исламское государство", "ИГИЛ"]
    assert {m.family for m in result.matches} == {"islamic_state"}
    assert {m.layer for m in result.matches} == {"un_listed"}


def test_several_topics_are_sorted_and_unique(classifier: PostClassifier) -> None:
    result = classifier.classify("ISIS-K claimed it on Amaq, and ISIS was named too.")
    assert result.topics == ("designated_org", "perpetrator_content")
    # ISIS-K, ISIS, and Amaq twice: a name of IS's (designated_org) and its outlet.
    assert len(result.matches) == 4


def test_news_vocabulary_marks_a_post_borderline_but_does_not_tag_it(
    classifier: PostClassifier,
) -> None:
    result = classifier.classify(
        "Police said a recruiter was detained; he had claimed responsibility."
    )
    assert "perpetrator_content" not in result.topics
    assert "recruitment" not in result.topics
    assert {s.name for s in result.signals} >= {"borderline_perpetrator_content"}


def test_national_only_names_carry_their_layer(classifier: PostClassifier) -> None:
    (match,) = classifier.classify("Партия ПИВТ* запрещена в Таджикистане.").matches
    assert (match.term, match.layer) == ("ПИВТ", "national_only")


@pytest.mark.parametrize(
    "text",
    [
        "Правительство утвердило новый бюджет на следующий год.",
        "Я иду домой после работы.",
        "Follow the ministry on IG for updates on IS exams.",
        "Иран является исламской республикой.",
        "Массовая манифестация прошла в центре города.",
    ],
)
def test_neutral_sentences_are_not_flagged(classifier: PostClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert not result.flagged
    assert result.topics == ()
    assert result.matches == ()


def test_undetermined_language_still_tags(classifier: PostClassifier) -> None:
    result = classifier.classify("#ИГ*")
    assert result.language == "und"
    assert result.language_probability == 0.0
    assert result.flagged


def test_versions_and_names(classifier: PostClassifier) -> None:
    assert classifier.name == "vemeter"
    versions = classifier.versions
    assert versions["language"] == classifier.language.version
    assert versions["language"].startswith("py3langid@0.4.0")
    assert versions["lexicon"] == (
        f"lexicon@{classifier.lexicon.version}.{classifier.designations.version}"
    )
    assert versions["lexicon"].startswith(f"lexicon@{MATCHER_VERSION}.")
    assert classifier.version == f"language={versions['language']},lexicon={versions['lexicon']}"
    assert classifier.labels == TOPICS


def test_custom_lexicon_paths_and_engine(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(
        "topic: recruitment\nfamily: demo\nsource: test\n"
        "terms:\n  - {term: вербовщик, lang: [ru], mode: stem}\n",
        encoding="utf-8",
    )
    classifier = PostClassifier([tmp_path], engine="langdetect")
    result = classifier.classify("Полиция задержала вербовщика, сообщает агентство.")
    assert result.language == "ru"
    assert result.topics == ("recruitment",)
    assert classifier.versions["language"].startswith("langdetect@")


def test_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown language engine"):
        PostClassifier(engine="fasttext")


def test_classification_properties() -> None:
    match = TopicMatch("financing", "f", "t", 0, 1, ("en",))
    other = TopicMatch("designated_org", "g", "u", 2, 3, ("en",), "un_listed")
    result = Classification("en", "Latn", 0.9, (match, other, match))
    assert result.topics == ("designated_org", "financing")
    assert result.flagged
    assert not Classification("und", None, 0.0, ()).flagged


@pytest.mark.parametrize("cls", [PostClassifier, LanguageIdentifier, LexiconTagger])
def test_classes_describe_themselves(cls: type) -> None:
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    assert doc.endswith(".")
    assert doc.count(". ") == 0


def test_components_follow_the_protocol(classifier: PostClassifier) -> None:
    assert isinstance(classifier.lexicon, Tagger)
    for component in (classifier, classifier.language, classifier.lexicon):
        assert component.name
        assert component.version
        assert component.labels
