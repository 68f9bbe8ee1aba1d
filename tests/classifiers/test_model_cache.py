"""py3langid's model is unpacked once into the cache folder and mapped by later processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from classifiers import fast_langid

TEXTS = ["Погода в Бишкеке: завтра снег", "Ertaga Toshkentda havo issiq", "The council met today"]


@pytest.fixture
def fresh_model() -> Iterator[None]:
    """Forget the process's loaded model before and after, so _model() really loads."""
    fast_langid.release_shared_model()
    yield
    fast_langid.release_shared_model()


def answers() -> list[tuple[str, float]]:
    return fast_langid.new_py3langid(["ru", "uz", "en", "kk"]).classify_many(TEXTS)


def test_first_load_unpacks_into_the_cache_and_the_next_maps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_model: None
) -> None:
    monkeypatch.setenv("VEMETER_CACHE_DIR", str(tmp_path / "cache"))
    unpacked = answers()
    (folder,) = (tmp_path / "cache").iterdir()
    assert folder.name.startswith("py3langid-")
    assert {p.name for p in folder.glob("*.npy")} == {f"{n}.npy" for n in fast_langid._FIELDS}
    fast_langid.release_shared_model()
    assert isinstance(fast_langid._model()[3], np.memmap)  # the transition table, mapped
    assert answers() == unpacked
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]  # no leftovers


def test_an_unusable_cache_folder_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_model: None
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("VEMETER_CACHE_DIR", str(blocker / "cache"))
    assert answers()[0][0] == "ru"
    assert not isinstance(fast_langid._model()[3], np.memmap)


def test_a_damaged_cache_is_read_around_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_model: None
) -> None:
    monkeypatch.setenv("VEMETER_CACHE_DIR", str(tmp_path))
    expected = answers()
    (folder,) = tmp_path.iterdir()
    (folder / "ptc.npy").write_bytes(b"not an array")
    fast_langid.release_shared_model()
    assert answers() == expected
    fast_langid.release_shared_model()
    assert isinstance(fast_langid._model()[0], np.memmap)  # unpacked again


def test_the_tokenizer_depth_is_kept_beside_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_model: None
) -> None:
    monkeypatch.setenv("VEMETER_CACHE_DIR", str(tmp_path))
    model = fast_langid._model()
    moves, rows = np.asarray(model[3]), np.asarray(model[4])
    depth = fast_langid._cached_depth(moves, rows)
    (folder,) = tmp_path.iterdir()
    saved = folder / "dfa_depth.txt"
    assert (
        saved.read_text(encoding="ascii") == str(depth) == str(fast_langid._dfa_depth(moves, rows))
    )
    saved.write_text("not a number", encoding="ascii")
    assert fast_langid._cached_depth(moves, rows) == depth  # recomputed, and saved again
    assert saved.read_text(encoding="ascii") == str(depth)
