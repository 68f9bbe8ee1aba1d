"""Tests for the lexicon file format, its error messages and the shipped lexicon files."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import DEFAULT_LEXICON_DIR, TOPICS, LexiconTagger
from classifiers.lexicon import LexiconError, load_lexicons

SHIPPED = sorted(DEFAULT_LEXICON_DIR.glob("*.yaml"))

GOOD = """\
topic: designated_org
family: example_org
layer: un_listed
source: "tests"
terms:
  - term: "ИГИЛ"
    lang: [ru]
    mode: abbr
"""


def _write(tmp_path: Path, text: str, name: str = "lexicon.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(paths: list[Path]) -> str:
    with pytest.raises(LexiconError) as caught:
        load_lexicons(paths)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def test_good_file_loads(tmp_path: Path) -> None:
    (lexicon,) = load_lexicons([_write(tmp_path, GOOD)])
    assert (lexicon.topic, lexicon.family, lexicon.layer) == (
        "designated_org",
        "example_org",
        "un_listed",
    )
    assert lexicon.terms[0].exclude == []


def test_bad_mode_gives_one_line_naming_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("mode: abbr", "mode: stemm"))
    message = _error([path])
    assert "\n" not in message
    assert message.startswith(f"{path}: terms[0].mode: ")
    assert "'stemm'" in message
    assert message.endswith(")")


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("family: example_org", "family: Example Org").replace(
        "lang: [ru]", "lang: [ru]\n    colour: red"
    )
    lines = _error([_write(tmp_path, text)]).splitlines()
    assert len(lines) == 2
    assert any(": family: " in line and "snake_case" in line for line in lines)
    assert any(": terms[0].colour: unknown key (allowed keys: " in line for line in lines)


def test_missing_key_and_empty_terms(tmp_path: Path) -> None:
    path = _write(tmp_path, "topic: financing\nfamily: x\nterms: []\n")
    lines = _error([path]).splitlines()
    assert f"{path}: source: required key is missing (add it)" in lines
    assert any(line.startswith(f"{path}: terms: ") for line in lines)


def test_layer_only_for_designated_organisations(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("designated_org", "financing"))
    assert _error([path]) == (
        f"{path}: layer: only designated_org lexicons have a layer (remove it)"
    )


def test_duplicate_terms_and_tiny_stem_anchor(tmp_path: Path) -> None:
    text = GOOD + (
        "  - {term: 'игил ', lang: [ru], mode: word}\n"
        "  - {term: 'Игил', lang: [ru], mode: word}\n"
        "  - {term: 'в государств', lang: [ru], mode: stem}\n"
    )
    lines = _error([_write(tmp_path, text)]).splitlines()
    assert any("terms[2].term: same as terms[1]" in line for line in lines)
    assert any("terms[3].term: a stem term must start with a word" in line for line in lines)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "topic: [designated_org\nfamily: x\n")
    message = _error([path])
    assert "\n" not in message
    assert message.startswith(f"{path}: (yaml): ")
    assert "line" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- just\n- a list\n")
    assert _error([path]).startswith(f"{path}: (top level): expected a mapping, got list")


def test_every_bad_file_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD.replace("lang: [ru]", "lang: [RU]"), "b.yaml")
    _write(tmp_path, GOOD.replace("topic: designated_org", "topic: propaganda"), "c.yaml")
    lines = _error([tmp_path]).splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        str(tmp_path / "b.yaml"),
        str(tmp_path / "c.yaml"),
    ]
    assert lines[0].startswith(f"{tmp_path / 'b.yaml'}: terms[0].lang[0]: ")


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    assert _error([tmp_path / "nope.yaml"]) == (
        f"{tmp_path / 'nope.yaml'}: (file): does not exist (check the path)"
    )
    assert "no *.yaml files" in _error([tmp_path])


def test_shipped_directory_has_files() -> None:
    assert len(SHIPPED) >= 11


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_lexicon_file_loads(path: Path) -> None:
    (lexicon,) = load_lexicons([path])
    assert lexicon.source.strip()
    LexiconTagger([lexicon])


def test_every_topic_has_a_shipped_lexicon_file() -> None:
    topics = {lexicon.topic for lexicon in load_lexicons([DEFAULT_LEXICON_DIR])}
    assert topics == set(TOPICS)


def test_designated_organisations_e1_to_e10_and_national_layer_are_shipped() -> None:
    lexicons = load_lexicons([DEFAULT_LEXICON_DIR])
    designated = [lexicon for lexicon in lexicons if lexicon.topic == "designated_org"]
    assert all(lexicon.layer is not None for lexicon in designated)
    assert {lexicon.family for lexicon in designated} >= {
        "islamic_state",
        "isil_khorasan",
        "islamic_movement_of_uzbekistan",
        "islamic_jihad_union",
        "katibat_imam_al_bukhari",
        "katibat_tawhid_wal_jihad",
        "jamaat_ansarullah",
        "hayat_tahrir_al_sham",
        "hizb_ut_tahrir",
        "jund_al_khilafah",
    }
    assert any(lexicon.layer == "national_only" for lexicon in designated)
    families = [lexicon.family for lexicon in lexicons]
    assert len(families) == len(set(families))


def test_lower_in_hashtag_only_for_abbreviations(tmp_path: Path) -> None:
    text = GOOD + '  - {term: "Daesh", lang: [en], mode: word, lower_in_hashtag: true}\n'
    assert _error([_write(tmp_path, text)]) == (
        f"{tmp_path / 'lexicon.yaml'}: terms[1].lower_in_hashtag: only abbr terms are "
        "case-sensitive (remove it or use mode: abbr)"
    )


def test_optional_evasion_fields_load(tmp_path: Path) -> None:
    text = GOOD + '    lower_in_hashtag: true\n    translit: false\n    exclude: ["иг ран"]\n'
    (lexicon,) = load_lexicons([_write(tmp_path, text)])
    (term,) = lexicon.terms
    assert (term.lower_in_hashtag, term.translit, term.exclude) == (True, False, ["иг ран"])
