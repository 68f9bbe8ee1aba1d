"""Tests for the guard on the C loops' build (classifiers.native)."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import evasion, language_rules, native, spelling

normalize_module = importlib.import_module("classifiers.normalize")


def test_a_build_from_this_source_is_used() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine")
    assert native.load() is not None
    assert native.NATIVE is not None


def test_a_build_from_other_source_is_not_used(tmp_path: Path) -> None:
    """An extension left over from an edit whose rebuild failed computes what the old code
    did: the Python loops run instead, and the warning says how to rebuild."""
    if native.NATIVE is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    edited = tmp_path / "_native.c"
    edited.write_bytes(native.SOURCE.read_bytes() + b"\n/* an edit */\n")
    with pytest.warns(RuntimeWarning, match="rebuild it with"):
        assert native.load(edited) is None


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40))
def test_the_c_loops_agree_with_python_on_any_text(text: str) -> None:
    """Any characters at all (lone surrogates, controls, astral planes): the C loops neither
    fail nor differ from the Python code they stand in for."""
    if native.NATIVE is None:
        pytest.skip("the C loops are not built (no C compiler at install)")
    assert native.NATIVE.split_words(text) == spelling.python_split_words(text)
    necessary = evasion.HINT_DASHES | evasion.HINT_ARTICLE
    c_bits, python_bits = native.NATIVE.evasion_hints(text), evasion.python_hints(text)
    assert c_bits & ~necessary == python_bits & ~necessary
    assert c_bits & necessary & ~python_bits == 0
    data = text.encode("utf-8", errors="surrogatepass")
    assert native.NATIVE.script_letters(text) == tuple(
        len(data.translate(None, others)) for _, others in language_rules._SCRIPT_BYTES
    )
    found = normalize_module._ANY_CHANGE_RE.search(text)
    assert native.NATIVE.first_in(text, normalize_module._CHANGE_BITS) == (
        found.start() if found else -1
    )
