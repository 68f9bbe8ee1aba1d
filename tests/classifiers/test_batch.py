"""Batched classification must give exactly the per-text answers."""

from __future__ import annotations

import numpy as np
import pytest
from py3langid import langid

from classifiers import fast_langid
from classifiers.language import LanguageIdentifier, LanguageResult
from classifiers.post import PostClassifier
from tests.classifiers.test_language import SENTENCES

# The confusers the crawl restricts py3langid to, besides the targets in SENTENCES.
CONFUSERS = [
    "Хөкүмәт киләсе елга яңа бюджетны раслады.",  # tt
    "Hökumət gələn il üçün yeni büdcəni təsdiqlədi.",  # az
    "Hükümet gelecek yıl için yeni bütçeyi onayladı.",  # tr
    "Уряд затвердив новий бюджет на наступний рік.",  # uk
    "Хөкүмәт киләһе йылға яңы бюджетты раҫланы.",  # ba
]
LONG = " ".join(text for _, _, text in SENTENCES) * 20  # ~12 KB, several languages
# Each short text follows a long one in another language, and most start with bytes that
# would make n-grams with the end of the text before: any look-back across a boundary
# changes their feature counts and so their probabilities.
TEXTS = [
    *(text for _, _, text in SENTENCES),
    *CONFUSERS,
    "",
    "https://example.org/news/2024/budget",
    "@kg_news https://t.me/kg_news/123",
    "👍👍👍 🔥",
    "ИГИЛ",
    "abc",
    "Мир",
    "да",
    LONG,
    "ия и ение",
    "The government approved a new budget for next year. " * 5,
    "ение",
    "Правительство утвердило бюджет, read more: www.example.com/ru",
    "Ertaga Toshkentda havo issiq bo'ladi. Завтра в Ташкенте жарко. غدا حار",
    "#ИГ #Сирия новости",
    "ПРАВИТЕЛЬСТВО УТВЕРДИЛО БЮДЖЕТ",
    "Straße «ё» ✓ 2024",
    "Cafe\u0301 déjà vu",
    "a",
    "ing the",
    "Үкімет келесі жылға арналған жаңа бюджетті бекітті." * 30,
    "ова",
    "Oʻzbekiston",
]


@pytest.fixture(scope="module")
def identifier() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.fixture(params=["c", "numpy"])
def counting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test runs with the C counting loop (classifiers/_native.c) and without it."""
    if request.param == "numpy":
        monkeypatch.setattr(fast_langid, "_native", None)
    elif fast_langid._native is None:
        pytest.skip("the C counting loops are not built (no C compiler at install)")
    return str(request.param)


def assert_same(batched: list[LanguageResult], single: list[LanguageResult]) -> None:
    assert len(batched) == len(single)
    for ours, theirs in zip(batched, single, strict=True):
        assert (ours.language, ours.script) == (theirs.language, theirs.script)
        assert ours.probability == pytest.approx(theirs.probability, rel=0, abs=1e-9)


def test_identify_many_equals_identify(identifier: LanguageIdentifier, counting: str) -> None:
    single = [identifier.identify(text) for text in TEXTS]
    assert_same(identifier.identify_many(TEXTS), single)
    # Another order puts other texts on either side of each boundary.
    assert_same(identifier.identify_many(TEXTS[::-1]), single[::-1])


def test_no_look_back_across_texts(identifier: LanguageIdentifier, counting: str) -> None:
    # The same short text after texts whose last bytes differ must score the same every time.
    texts = ["ение власти", "Правительство утвердило", "ение власти", "tomorrow", "ение власти"]
    results = identifier.identify_many(texts)
    # Same text, same terms summed in the same order: equal to the last bit.
    assert results[0] == results[2] == results[4]
    assert_same(results[:1], [identifier.identify(texts[0])])


def test_every_suffix_after_a_long_text(identifier: LanguageIdentifier, counting: str) -> None:
    # Texts of 3 to 8 bytes are shorter than the tokenizer's look-back, so every one of their
    # states is walked next to the boundary.
    tails = [LONG[i : i + n] for i in range(0, 400, 37) for n in (3, 4, 5, 6, 8)]
    texts = [item for tail in tails for item in (LONG[:500], tail)]
    assert_same(identifier.identify_many(texts), [identifier.identify(text) for text in texts])


def test_chunks_split_the_batch(
    identifier: LanguageIdentifier, monkeypatch: pytest.MonkeyPatch, counting: str
) -> None:
    # Tiny chunks: most texts get a chunk of their own, LONG goes over the byte limit alone.
    monkeypatch.setattr(fast_langid, "_CHUNK_BYTES", 200)
    monkeypatch.setattr(fast_langid, "_CHUNK_TEXTS", 3)
    assert_same(identifier.identify_many(TEXTS), [identifier.identify(text) for text in TEXTS])


def test_the_c_loop_scores_as_the_numpy_walk_and_the_library(
    identifier: LanguageIdentifier,
) -> None:
    if fast_langid._native is None:
        pytest.skip("the C counting loops are not built (no C compiler at install)")
    py3 = fast_langid.new_py3langid(["ru", "kk", "ky", "uz", "tg", "en", "ar"])
    encoded = [py3._encode(text) for text in TEXTS]
    tables = fast_langid._tables(py3.tk_nextmove, py3.tk_row, py3.tk_output)
    c_scores = py3._raw_scores(encoded)
    numpy_scores = py3._raw_scores_numpy(encoded, tables)
    assert np.abs(c_scores - numpy_scores).max() < 1e-9
    # The library's own per-byte Python walk, in float32, on a few texts.
    library = langid.LanguageIdentifier._raw_score
    for text, scores in list(zip(encoded, c_scores, strict=True))[:12]:
        assert np.allclose(scores, library(py3, text), rtol=1e-5, atol=1e-2)


def test_the_c_loop_refuses_arrays_that_do_not_agree() -> None:
    counting = fast_langid._native
    if counting is None:
        pytest.skip("the C counting loops are not built (no C compiler at install)")
    py3 = fast_langid.new_py3langid(["ru", "en"])
    tables = fast_langid._tables(py3.tk_nextmove, py3.tk_row, py3.tk_output)
    moves, pairs = tables[0], fast_langid._state_pairs(tables)
    scores = np.empty((1, 2))
    with pytest.raises(ValueError, match="lengths exceed"):
        counting.walk_scores(
            b"abc", np.array([4], np.int64), moves, pairs, py3.nb_ptc, py3.nb_pc, scores
        )
    with pytest.raises(ValueError, match="do not agree"):
        counting.walk_scores(
            b"abc", np.array([3], np.int64), moves, pairs, py3.nb_ptc, py3.nb_pc,
            np.empty((2, 2)),
        )  # fmt: skip
    with pytest.raises(TypeError, match="items of 8 bytes"):
        counting.walk_scores(
            b"abc", np.array([3], np.int32), moves, pairs, py3.nb_ptc, py3.nb_pc, scores
        )
    wild = pairs.copy()
    wild[:, 0] = np.iinfo(np.int32).max  # every row start past the table's end
    with pytest.raises(ValueError, match="outside the table"):
        counting.walk_scores(
            b"abc", np.array([3], np.int64), moves, wild, py3.nb_ptc, py3.nb_pc, scores
        )


def test_empty_batch(identifier: LanguageIdentifier) -> None:
    assert identifier.identify_many([]) == []
    assert identifier.identify_many(["", "123"]) == [
        LanguageResult("und", None, 0.0),
        LanguageResult("und", None, 0.0),
    ]


def test_langdetect_engine_batch() -> None:
    detector = LanguageIdentifier(engine="langdetect")
    texts = [SENTENCES[0][2], "", SENTENCES[-1][2], "https://t.me/x 123 👍"]
    assert detector.identify_many(texts) == [detector.identify(text) for text in texts]


def test_classify_many_equals_classify() -> None:
    classifier = PostClassifier()
    texts = [
        *TEXTS,
        "Суд признал «Исламское государство» (ИГИЛ*) террористической организацией.",
        "ISIS-K claimed responsibility, and ISIS was named too.",
        "Партия ПИВТ* запрещена в Таджикистане.",
    ]
    batched = classifier.classify_many(texts)
    for text, ours in zip(texts, batched, strict=True):
        theirs = classifier.classify(text)
        assert ours.matches == theirs.matches
        assert (ours.language, ours.script) == (theirs.language, theirs.script)
        assert ours.language_probability == pytest.approx(
            theirs.language_probability, rel=0, abs=1e-9
        )
    assert any(result.flagged for result in batched)
    assert classifier.classify_many([]) == []
