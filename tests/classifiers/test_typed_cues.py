"""Tests for the shapes pre-check of classifiers.typed_cues."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import typed_cues

# Pieces of every mark and of their near misses, digits of two scripts, a TRON address.
_PIECES = st.sampled_from(
    ["[", "@", ":", "/", "//", "www", ".", "me", "vk", "com", "ok", "ru", "w", "a", " ", "5",
     "٣", "T", "TXYZ" + "a" * 30, "T" + "1" * 33]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_the_pre_check_says_what_the_marks_say(text: str) -> None:
    """The spelled-out pre-check is the list of marks it stands for: no shape is missed."""
    expected = (
        typed_cues._DIGIT.search(text) is not None
        or any(mark in text for mark in typed_cues._MARKS)
        or ("T" in text and typed_cues._TRON.search(text) is not None)
    )
    assert typed_cues._may_have_shapes(text) == expected
