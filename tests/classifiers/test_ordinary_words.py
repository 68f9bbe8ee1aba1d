"""Which acronyms are also words or names (configs/ordinary_words*.yaml), by the form written."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import ordinary_words


@pytest.mark.parametrize(
    ("acronym", "ordinary", "small_word"),
    [
        ("ISIS", True, False),  # "Isis", a name: hunspell en_US accepts only the capital
        ("ИДУ", True, True),  # «иду», Russian "I go"
        ("TIP", True, True),
        ("ISIL", True, False),  # the Turkish given name Isil (the hand-written names)
        ("ИГИЛ", False, False),
    ],
)
def test_the_shipped_lists_tell_words_from_names(
    acronym: str, ordinary: bool, small_word: bool
) -> None:
    assert ordinary_words.is_ordinary(acronym) is ordinary
    assert ordinary_words.is_small_word(acronym) is small_word


def test_forms_decide_and_hand_written_words_guard_both(tmp_path: Path) -> None:
    generated, extra = tmp_path / "ordinary.yaml", tmp_path / "extra.yaml"
    generated.write_text(
        "words:\n  abc: {en_US: [Abc]}\n  xyz: {en_US: [Xyz], ru_RU: [xyz]}\n", encoding="utf-8"
    )
    extra.write_text("words: {qqq: source}\nnames: {zed: source}\n", encoding="utf-8")
    words = ordinary_words._words.__wrapped__(generated, extra)
    assert words == {"abc": False, "xyz": True, "qqq": True, "zed": False}
