"""The shipped lexicons' compiled tagger is kept on disk: the next process loads it instead of
compiling, tags the same, and a changed file or a corrupt cache builds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from classifiers import lexicon, tagger_cache
from classifiers.lexicon_files import DEFAULT_LEXICON_DIR

TEXTS = [
    "Суд по делу ИГИЛ перенесли, сторонники задержаны.",
    "Jabhatun Nusra kanali yopildi.",
    "Погода в Бишкеке: завтра снег.",
    "Переведите на карту [CARD], всё для братьев в Шаме.",
]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("VEMETER_CACHE_DIR", str(folder))
    lexicon._BUILT.clear()
    yield folder
    lexicon._BUILT.clear()


def _cannot_compile(*_: object, **__: object) -> object:
    raise AssertionError("compiled although a cached tagger was there")


def test_the_next_process_loads_the_tagger_and_tags_the_same(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = lexicon.build_tagger()
    assert len(list(cache.glob("tagger-*.pickle"))) == 1
    lexicon._BUILT.clear()  # as a new process starts
    monkeypatch.setattr(lexicon, "load_lexicons", _cannot_compile)
    loaded = lexicon.build_tagger()
    assert loaded is not built
    assert [loaded.tag_with_signals(t) for t in TEXTS] == [built.tag_with_signals(t) for t in TEXTS]
    assert loaded.version == built.version


def test_a_corrupt_file_is_rebuilt_and_replaced(cache: Path) -> None:
    lexicon.build_tagger()
    (stored,) = cache.glob("tagger-*.pickle")
    stored.write_bytes(b"not a pickle")
    lexicon._BUILT.clear()
    assert lexicon.build_tagger().tag(TEXTS[0])
    assert stored.read_bytes() != b"not a pickle"


def test_a_change_to_the_code_or_configs_is_a_new_file(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lexicon.build_tagger()
    lexicon._BUILT.clear()
    monkeypatch.setattr(tagger_cache, "_code_digest", lambda: b"another version")
    lexicon.build_tagger()
    assert len(list(cache.glob("tagger-*.pickle"))) == 2


def test_other_lexicons_keep_nothing_on_disk(tmp_path: Path, cache: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "names.yaml").write_text(
        (DEFAULT_LEXICON_DIR / "designated_e03_imu.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert lexicon.build_tagger([own]).tag("Сторонники ИДУ задержаны.")
    assert not list(cache.glob("tagger-*.pickle"))
