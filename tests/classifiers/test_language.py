"""Tests for language and script identification."""

from __future__ import annotations

import random

import pytest
from py3langid import langid as py3langid_module

from classifiers.language import DEFAULT_LANGUAGES, LanguageIdentifier, LanguageResult
from classifiers.short_langid import load_short_model

# One short, neutral, news-like sentence per language ("The government approved a new budget").
SENTENCES = [
    ("ru", "Cyrl", "Правительство утвердило новый бюджет на следующий год."),
    ("kk", "Cyrl", "Үкімет келесі жылға арналған жаңа бюджетті бекітті."),
    ("ky", "Cyrl", "Өкмөт кийинки жылга карата жаңы бюджетти бекитти."),
    ("uz", "Latn", "Oʻzbekiston hukumati kelgusi yil uchun yangi byudjetni tasdiqladi."),
    ("uz", "Latn", "Hukumat kelgusi yil uchun yangi byudjetni tasdiqladi."),
    ("uz", "Cyrl", "Ҳукумат келгуси йил учун янги бюджетни тасдиқлади."),
    ("tg", "Cyrl", "Ҳукумат буҷети навро барои соли оянда тасдиқ кард."),
    ("tk", "Latn", "Hökümet indiki ýyl üçin täze býujeti tassyklady."),
    ("ar", "Arab", "وافقت الحكومة على الميزانية الجديدة للعام المقبل."),
    ("fa", "Arab", "دولت بودجه جدید را برای سال آینده تصویب کرد."),
    ("en", "Latn", "The government approved a new budget for next year."),
]


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.mark.parametrize(("language", "script", "text"), SENTENCES)
def test_identifies_language_and_script(
    identifier: LanguageIdentifier, language: str, script: str, text: str
) -> None:
    result = identifier.identify(text)
    assert (result.language, result.script) == (language, script)
    assert 0.5 < result.probability <= 1.0


@pytest.mark.parametrize("text", ["https://t.me/x 123 👍", "@channel_name 2024", "ок", "#ИГ", ""])
def test_too_few_letters_is_undetermined(identifier: LanguageIdentifier, text: str) -> None:
    result = identifier.identify(text)
    assert result.language == "und"
    assert result.probability == 0.0


def test_urls_and_mentions_do_not_count(identifier: LanguageIdentifier) -> None:
    text = (
        "Правительство утвердило бюджет https://example.org/news/the-budget-was-approved @kg_news"
    )
    assert identifier.identify(text).language == "ru"


def test_result_is_frozen(identifier: LanguageIdentifier) -> None:
    result = identifier.identify(SENTENCES[0][2])
    assert isinstance(result, LanguageResult)
    with pytest.raises(AttributeError):
        result.language = "en"  # type: ignore[misc]


def test_same_answers_as_py3langid_itself(identifier: LanguageIdentifier) -> None:
    # The vectorised tokenizer walk must give exactly the library's labels and probabilities.
    reference = py3langid_module.LanguageIdentifier.from_model_file(
        py3langid_module.MODEL_FILE, norm_probs=True
    )
    reference.set_languages(list(DEFAULT_LANGUAGES))
    rng = random.Random(7)
    pool = " ".join(text for _, _, text in SENTENCES) + " ИГИЛ 2024 ✓ «ё» Straße"
    samples = [pool[i : i + rng.randrange(1, 300)] for i in rng.sample(range(len(pool)), 200)]
    for sample in samples + [text for _, _, text in SENTENCES]:
        ours = identifier._py3.classify(sample)
        theirs = reference.classify(sample)
        assert ours[0] == theirs[0], sample
        assert ours[1] == pytest.approx(theirs[1], abs=1e-4), sample


def test_restricted_language_list(identifier: LanguageIdentifier) -> None:
    small = LanguageIdentifier(languages=["ru", "en"])
    assert small.identify(SENTENCES[1][2]).language in {"ru", "en"}
    assert small.version != identifier.version
    assert identifier.version == f"py3langid@0.4.0+rules3+short.{load_short_model().digest}"


def test_unknown_language_code_is_rejected() -> None:
    with pytest.raises(ValueError):
        LanguageIdentifier(languages=["xx"])


def test_langdetect_engine() -> None:
    detector = LanguageIdentifier(engine="langdetect")
    assert detector.version.startswith("langdetect@")
    assert detector.identify(SENTENCES[0][2]).language == "ru"
    assert detector.identify(SENTENCES[-1][2]).language == "en"
    assert detector.identify("https://t.me/x 123 👍").language == "und"
    # Seeded, so repeated calls agree exactly.
    assert detector.identify(SENTENCES[0][2]) == detector.identify(SENTENCES[0][2])


def test_unknown_engine_is_rejected() -> None:
    with pytest.raises(ValueError):
        LanguageIdentifier(engine="cld2")  # type: ignore[arg-type]
