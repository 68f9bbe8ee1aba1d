"""Tests for the rules around the model: evidence letters, priors, mixed posts and agreement."""

from __future__ import annotations

import pytest

from classifiers import language_rules
from classifiers.language import LanguageIdentifier
from classifiers.language_prior import SourcePriors
from classifiers.language_rules import LetterEvidence, script_counts, segments
from classifiers.native import NATIVE


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


def test_letters_count_only_against_languages_of_their_script() -> None:
    evidence = LetterEvidence(["ru", "kk", "tg", "tk", "en"], penalty=0.01)
    kazakh = evidence.factors("Ұл")
    assert kazakh is not None
    assert list(kazakh) == [0.01, 1.0, 0.01, 1.0, 1.0]  # ұ: only Kazakh among Cyrillic
    latin = evidence.factors("XXL")
    assert latin is not None
    assert list(latin) == [1.0, 1.0, 1.0, 0.01, 1.0]  # x: not Turkmen; Cyrillic untouched
    assert evidence.factors("Istanbul") is None  # capital I is not Turkish ı


def test_uzbek_apostrophe_is_evidence() -> None:
    evidence = LetterEvidence(["uz", "tr", "en"], penalty=0.01)
    for text in ("o'zbek", "gʻalaba", "O’zbekiston"):
        factors = evidence.factors(text)
        assert factors is not None and list(factors) == [1.0, 0.01, 0.01], text


def test_letters_settle_an_unsure_call(identifier: LanguageIdentifier) -> None:
    # Uzbek Cyrillic ("happy Navruz"): the models (py3langid and the short-text model) lean to
    # Tajik, unsure; ў is a letter Tajik never writes.
    text = "Наврўз байрами муборак"
    model = identifier._distributions([text], [script_counts(text)[1]], batch=False)[0]
    assert identifier.languages[int(model.argmax())] == "tg" and model.max() < 0.9
    assert identifier.identify(text).language == "uz"


def test_script_counts_and_segments() -> None:
    assert script_counts("Привет, world!") == ("Cyrl", 11, 5)
    assert script_counts("123 👍") == (None, 0, 0)
    text = "Бүгін күн жылы, саябаққа барамыз.\nСегодня тепло, идём в парк все вместе."
    assert len(segments(text, 20)) == 2
    assert segments("Коротко. И ясно.", 20) == []


def test_source_priors_count_only_long_confident_posts() -> None:
    tally = SourcePriors(min_probability=0.95, min_letters=40)
    assert not tally.observe("a", "ky", 0.99, 10)
    assert not tally.observe("a", "ky", 0.5, 100)
    assert not tally.observe("a", "und", 1.0, 100)
    assert tally.prior("a") is None
    for language in ("ky", "ky", "ky", "ru"):
        assert tally.observe("a", language, 0.99, 100)
    assert tally.prior("a") == {"ky": 0.75, "ru": 0.25}
    assert tally.counted("a") == 4 and tally.counted("b") == 0


# Three Uzbek Cyrillic words py3langid calls Tajik (dev-half evaluation post).
SHORT_UZ = "Чорсу бозорида помидор"


def test_prior_decides_short_posts(identifier: LanguageIdentifier) -> None:
    assert identifier.identify(SHORT_UZ).language == "tg"
    assert identifier.identify(SHORT_UZ, prior={"uz": 0.9, "ru": 0.1}).language == "uz"
    # A confident long post is not overruled by the prior.
    long_tajik = "Дар Душанбе рӯзи шанбе консерти мусиқии миллӣ дар боғи Рӯдакӣ баргузор мешавад"
    assert identifier.identify(long_tajik, prior={"uz": 1.0}).language == "tg"


def test_sources_tally_within_a_batch() -> None:
    identifier = LanguageIdentifier()
    channel = [
        "Тошкентда эртадан бошлаб ҳаво ҳарорати +41 даражагача кўтарилади, эҳтиёт бўлинг",
        "Ҳукумат янги мактаблар қуриш дастурини тасдиқлади, бу йил кўплаб мактаб очилади",
        "Самарқандда сайёҳлар сони икки баравар ошди, меҳмонхоналар тўла бўлиб қолди",
        SHORT_UZ,
    ]
    plain = identifier.identify_many(channel)
    assert plain[-1].language == "tg"
    sourced = identifier.identify_many(channel, sources=["uz_channel"] * len(channel))
    assert [r.language for r in sourced] == ["uz"] * 4
    # The tally lives on: a later batch from the same source gets the prior too.
    assert identifier.identify(SHORT_UZ, source="uz_channel").language == "uz"
    assert identifier.identify(SHORT_UZ, source="other").language == "tg"


def test_mixed_post_lists_languages_with_shares(identifier: LanguageIdentifier) -> None:
    text = (
        "Завтра в 10:00 в акимате пройдёт встреча с жителями района.\n"
        "Ертең сағат 10:00-де әкімдікте аудан тұрғындарымен кездесу өтеді."
    )
    result = identifier.identify(text)
    assert {code for code, _ in result.languages} == {"ru", "kk"}
    assert result.language == result.languages[0][0]
    assert sum(share for _, share in result.languages) == pytest.approx(1.0, abs=0.01)
    assert 0.0 < result.probability <= 1.0
    single = identifier.identify("Сегодня в парке прошёл большой семейный праздник для всех.")
    assert single.languages == (("ru", 1.0),)


def test_two_scripts_are_split_even_on_one_line(identifier: LanguageIdentifier) -> None:
    text = "جشنواره فیلم کوتاه از فردا آغاز می‌شود. The short film festival starts tomorrow."
    assert {code for code, _ in identifier.identify(text).languages} == {"fa", "en"}


def test_undetermined_has_no_languages(identifier: LanguageIdentifier) -> None:
    result = identifier.identify("👍👍 2024")
    assert (result.language, result.languages, result.script) == ("und", (), None)


def test_uzbek_script_is_reported(identifier: LanguageIdentifier) -> None:
    latin = identifier.identify("Bugun bog'da katta oilaviy bayram bo'ldi, hammaga rahmat")
    cyrillic = identifier.identify("Бугун боғда катта оилавий байрам бўлди, ҳаммага раҳмат")
    assert (latin.language, latin.script) == ("uz", "Latn")
    assert (cyrillic.language, cyrillic.script) == ("uz", "Cyrl")


def test_identify_agrees_with_identify_many(identifier: LanguageIdentifier) -> None:
    from classifiers.language_eval import VARIANTS, load_posts, variant_text

    posts = load_posts()[::7]
    texts = [variant_text(post.text, variant) for post in posts for variant in VARIANTS]
    texts += [
        "Завтра встреча.\nЕртең кездесу өтеді, барлығыңызды шақырамыз!\nПриходите все вовремя.",
        "",
    ]
    prior = {"kk": 0.7, "ru": 0.3}
    batch = identifier.identify_many(texts, priors=[prior] * len(texts))
    for text, many in zip(texts, batch, strict=True):
        one = identifier.identify(text, prior=prior)
        assert (one.language, one.script, one.languages) == (
            many.language, many.script, many.languages,
        ), text  # fmt: skip
        assert one.probability == pytest.approx(many.probability, abs=1e-9)


def test_priors_must_match_texts(identifier: LanguageIdentifier) -> None:
    with pytest.raises(ValueError, match="one entry per text"):
        identifier.identify_many(["a b c", "d e f"], priors=[None])


def test_langdetect_engine_still_identifies() -> None:
    detector = LanguageIdentifier(engine="langdetect")
    result = detector.identify("The government approved a new budget for next year.")
    assert (result.language, result.languages) == ("en", (("en", 1.0),))
    assert detector.version.startswith("langdetect@") and "+rules3" in detector.version
    assert "+short" not in detector.version  # the short-text model rides on py3langid only


def _python_counts(text: str) -> tuple[int, int, int]:
    data = text.encode("utf-8", errors="surrogatepass")
    cyrillic, latin, arabic = (
        len(data.translate(None, others)) for _, others in language_rules._SCRIPT_BYTES
    )
    return cyrillic, latin, arabic


def test_the_c_script_count_is_the_lead_byte_count() -> None:
    """Each character below U+0800 (all the boundaries) counts for the same script either way,
    and every later block of 4,096 characters gives the same totals (surrogates too)."""
    if NATIVE is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    for code in range(0x800):
        assert NATIVE.script_letters(chr(code)) == _python_counts(chr(code)), hex(code)
    for block in range(0x800, 0x110000, 0x1000):
        text = "".join(map(chr, range(block, min(block + 0x1000, 0x110000))))
        assert NATIVE.script_letters(text) == _python_counts(text), hex(block)
    assert script_counts("Привет, мир! hi") == ("Cyrl", 11, 2)
