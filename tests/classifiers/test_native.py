"""Tests for the guard on the C loops' build (classifiers.native)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classifiers import native


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
