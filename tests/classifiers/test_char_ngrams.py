"""FastCharNgrams gives the topic model's features exactly as scikit-learn's vectorizer does,
and the typed-cue gate passes over only texts that cannot hold a card, phone, wallet, handle
or link."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers import char_ngrams, typed_cues
from classifiers.char_ngrams import FastCharNgrams
from classifiers.starter import STARTER_DIR
from classifiers.topic_model import TrainParams, _vectorizer
from classifiers.typed_cues import find_typed, shapes_as_placeholders

# Letters of the project's scripts, digits, the shapes' marks, odd spaces and joiners.
ALPHABET = "abcT xyzИГИЛәңғқөүұһӘЎўҳқءاالدولةـ0123456789 [CARD]@.:/+-\t\n\u00a0\u200b🅱️"
TEXTS = st.text(alphabet=ALPHABET, max_size=80)


def corpus_texts(limit: int = 1500) -> list[str]:
    texts: list[str] = []
    for name in ("corpus_a.jsonl", "corpus_g.jsonl"):
        with (STARTER_DIR / name).open(encoding="utf-8") as fh:
            texts += [json.loads(line)["text"] for line in fh][: limit // 2]
    return texts


@pytest.fixture(scope="module")
def fitted() -> TfidfVectorizer:
    return _vectorizer(TrainParams(), min_df=1).fit(corpus_texts())


def assert_same(vectorizer: TfidfVectorizer, texts: list[str]) -> None:
    """Both ways of counting (the C loop where it is built, and NumPy) give scikit-learn's."""
    expected = vectorizer.transform(texts)
    built = char_ngrams._native
    paths = [built, None] if built is not None else [None]
    for counting in paths:
        char_ngrams._native = counting
        try:
            got = FastCharNgrams(vectorizer).transform(texts)
        finally:
            char_ngrams._native = built
        assert got.shape == expected.shape
        assert np.array_equal(got.indptr, expected.indptr)
        for row in range(len(texts)):  # the C loop keeps a row's columns in order of occurrence
            span = slice(got.indptr[row], got.indptr[row + 1])
            assert np.array_equal(np.sort(got.indices[span]), expected[row].indices)
        assert abs(got - expected).max() <= 1e-12 if expected.nnz else got.nnz == 0


def test_the_c_loop_is_built_where_a_compiler_is() -> None:
    # CI has one (.ci/run checks the import too); a user without one gets the NumPy loop.
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine")
    assert char_ngrams._native is not None


def test_the_c_loop_refuses_a_slot_table_that_is_not_one(fitted: TfidfVectorizer) -> None:
    """A table of slots not a power of two is refused; one out of order reads nothing outside
    the keys (no crash, no row from elsewhere)."""
    native = char_ngrams._native
    if native is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    fast = FastCharNgrams(fitted)
    codes = np.frombuffer(" ab ".encode("utf-32-le"), dtype=np.uint32)
    lengths = np.array([4], dtype=np.int64)

    def run(first: np.ndarray) -> tuple[bytes, bytes, bytes]:
        return native.ngram_tfidf(
            codes, lengths, fast.rank, fast.keys, fast._columns64, first, fast.idf,
            fast.bits, fast.min_n, fast.max_n, fast.sublinear, True,
        )  # fmt: skip

    with pytest.raises(ValueError, match="do not agree"):
        run(fast.first[:-1].copy())
    scrambled = np.full_like(fast.first, fast.keys.size + 5)
    _, indices, _ = run(scrambled)
    assert indices == b""
    assert fast.slot_bits < 20  # two to four slots per key, not a fixed 2**20


def test_the_model_features_are_scikit_learns(fitted: TfidfVectorizer) -> None:
    assert FastCharNgrams.fits(fitted)
    texts = [*corpus_texts(3000)[::3], "", " ", "a", "ab", "a  b\tc", "Карта 4400 1234 5678 9012"]
    assert_same(fitted, texts)


def test_a_batch_too_big_for_32_bit_pairs_gives_the_same_features(
    fitted: TfidfVectorizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(char_ngrams, "_NARROW_PAIRS", 0)  # as if texts x vocabulary >= 2**32
    assert_same(fitted, corpus_texts(300)[::3])


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=8))
def test_any_text_gives_the_same_features(fitted: TfidfVectorizer, texts: list[str]) -> None:
    assert_same(fitted, texts)


@pytest.mark.parametrize("ngrams", [(1, 2), (2, 4), (4, 6)])
def test_other_ranges_and_short_words_count_as_scikit_learn_counts_them(
    ngrams: tuple[int, int],
) -> None:
    # With n-grams longer than a padded word, scikit-learn counts the word once, whole.
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, sublinear_tf=True)
    texts = ["a bb ccc dddd eeeee", "Ab ИГ x", "yy zzz   a", ""]
    vectorizer.fit(texts + corpus_texts(200))
    assert_same(vectorizer, [*texts, "bb a", "x y z"])


def test_a_vectorizer_it_cannot_reproduce_is_left_to_its_own_transform() -> None:
    assert not FastCharNgrams.fits(TfidfVectorizer(analyzer="word").fit(["ab cd"]))
    assert not FastCharNgrams.fits(TfidfVectorizer(analyzer="char_wb", use_idf=False).fit(["a"]))


def _full_sub(text: str) -> str:
    pattern = typed_cues._TYPED_RE
    return pattern.sub(lambda m: typed_cues._PLACEHOLDER[m.lastgroup or "link"], text).lower()


def _full_find(text: str) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for match in typed_cues._TYPED_RE.finditer(text):
        if match.lastgroup and match.lastgroup not in found:
            found[match.lastgroup] = match.span()
    return found


SHAPES = st.sampled_from([
    "4400 1234 5678 9012", "+7 (701) 123-45-67", "@handle_name", "https://x.org/a", "t.me/chan",
    "www.site.kz", "vk.com/club1", "ok.ru/g", "[LINK]", "[CARD]", "[CONTACT]",
    "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(TEXTS, SHAPES), max_size=6).map(" ".join))
def test_the_gate_changes_no_placeholder_and_no_cue(text: str) -> None:
    assert shapes_as_placeholders(text) == _full_sub(text)
    assert find_typed(text) == _full_find(text)


def test_the_gate_passes_over_everyday_text_only() -> None:
    assert not typed_cues._may_have_shapes("Погода в Бишкеке: завтра снег и ветер")
    for text in ("до 2025 года", "пишите @admin_kz", "сайт www.example.kz", "Tron " + "T" * 34):
        assert typed_cues._may_have_shapes(text), text
    assert re.fullmatch(r"\[card\] .*", shapes_as_placeholders("4400 1234 5678 9012 ok"))
