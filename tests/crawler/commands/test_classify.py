"""`vemeter classify`: JSON lines in and out, bad lines by number, hints, configs and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from classifiers.post import PostClassifier
from crawler.commands.app import app
from crawler.commands.classify import parse_line
from crawler.errors import ConfigError

runner = CliRunner()
RU = "Суд рассмотрел дело о членстве в ИГИЛ, заседание продолжится завтра"


@pytest.fixture(scope="module")
def shipped_versions() -> dict[str, str]:
    """The versions of the default classifier, built once: it takes seconds to build."""
    return PostClassifier().versions


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def flat(output: str) -> str:
    """Typer's usage-error box, as one line of words."""
    return " ".join(output.replace("│", " ").split())


def test_stdin_to_stdout_one_line_per_good_line_and_bad_lines_reported_by_number(
    shipped_versions: dict[str, str],
) -> None:
    given = "\n".join([
        json.dumps({"id": 1, "text": RU}, ensure_ascii=False),
        "{not json",
        json.dumps({"text": "no id"}),
        "",
        json.dumps({"id": "b", "text": 5}),
        json.dumps({"id": "c", "text": "Ertaga Toshkentda havo issiq bo'ladi", "extra": 1}),
        json.dumps({"id": "d", "text": "hello", "lang": "Russian"}),
        json.dumps({"id": "e", "text": ""}),
    ])  # fmt: skip
    done = runner.invoke(app, ["classify"], input=given)
    assert done.exit_code == 1  # some lines were bad; every good one was still written
    out = lines(done.stdout)
    assert [row["id"] for row in out] == [1, "c", "e"]
    first = out[0]
    assert first["language"] == "ru" and first["script"] == "Cyrl" and first["flagged"] is True
    assert first["topics"] == ["designated_org"]
    (match,) = first["matches"]
    assert RU[match["span"][0] : match["span"][1]] == match["term"] == "ИГИЛ"
    assert first["classifier"] == shipped_versions
    assert out[1]["language"] == "uz" and out[1]["topics"] == [] and out[1]["flagged"] is False
    assert out[2]["language"] == "und"
    errors = done.stderr.splitlines()
    assert errors[0].startswith("stdin: line 2: not valid JSON")
    assert errors[1] == "stdin: line 3: id: missing (every line needs the post's id)"
    assert errors[2] == "stdin: line 5: text: expected a string, got int (quote the text)"
    assert errors[3].startswith("stdin: line 7: lang: 'Russian' is not a language code")
    assert "classified 3 posts" in errors[4] and "4 bad lines skipped" in errors[4]
    assert "✓" not in done.stdout and "line" not in done.stdout  # nothing but results


def test_lang_is_used_only_when_the_identifier_is_unsure() -> None:
    given = "\n".join([
        json.dumps({"id": 1, "text": RU, "lang": "kk"}, ensure_ascii=False),
        json.dumps({"id": 2, "text": "ok!", "lang": "kk"}),
        json.dumps({"id": 3, "text": "ok!"}),
    ])  # fmt: skip
    done = runner.invoke(app, ["classify"], input=given)
    assert done.exit_code == 0, done.stderr
    out = lines(done.stdout)
    assert (out[0]["language"], out[0]["language_from"]) == ("ru", "model")
    assert (out[1]["language"], out[1]["language_from"]) == ("kk", "hint")
    assert (out[2]["language"], out[2]["language_from"]) == ("und", "model")


def test_config_lexicons_and_languages_replace_the_shipped_ones(
    tmp_path: Path, shipped_versions: dict[str, str]
) -> None:
    lexicons = tmp_path / "lexicons"
    lexicons.mkdir()
    (lexicons / "org.yaml").write_text(
        "topic: designated_org\nfamily: test_names\nlayer: un_listed\nsource: synthetic\n"
        'terms:\n  - {term: "Zorbex Front", lang: [en], mode: word}\n',
        encoding="utf-8",
    )
    config = tmp_path / "p.yaml"
    config.write_text(
        "project: p\nclassifier: {languages: [ru, en], lexicons: [lexicons]}\n", encoding="utf-8"
    )
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": "z", "text": "A talk about the Zorbex Front in the city hall"})
        + "\n"
        + json.dumps({"id": "r", "text": RU}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    target = tmp_path / "out.jsonl"
    done = runner.invoke(
        app, ["classify", "--config", str(config), "--input", str(source), "--output", str(target)]
    )
    assert done.exit_code == 0, done.stderr
    assert done.stdout == ""
    zorbex, russian = lines(target.read_text(encoding="utf-8"))
    assert zorbex["topics"] == ["designated_org"] and zorbex["matches"][0]["term"] == "Zorbex Front"
    assert russian["topics"] == []  # the shipped lexicons are not used with this config
    expected = PostClassifier(lexicon_paths=[lexicons], languages=["ru", "en"]).versions
    assert zorbex["classifier"] == expected != shipped_versions


def test_missing_input_broken_lexicon_and_misplaced_options_are_errors(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["classify", "--input", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "file not found" in str(missing.exception)
    config = tmp_path / "p.yaml"
    config.write_text(f"project: p\nclassifier: {{lexicons: [{tmp_path / 'none'}]}}\n")
    broken = runner.invoke(app, ["classify", "--config", str(config)], input="")
    assert isinstance(broken.exception, ConfigError)
    both = runner.invoke(app, ["classify", "--reclassify", str(config), "--input", "x.jsonl"])
    assert both.exit_code == 2 and "leave out --config, --input and --output" in flat(both.output)
    window = runner.invoke(app, ["classify", "--source", "s"], input="")
    assert window.exit_code == 2 and "use them with --reclassify" in flat(window.output)


def test_parse_line_names_the_field_and_the_fix() -> None:
    assert parse_line(b'{"id": 7, "text": "x", "lang": "ky"}') == parse_line(
        b'{"id": 7, "text": "x", "lang": "ky", "other": null}'
    )
    assert parse_line(b"\xff\xfe") == "not UTF-8 text (save the file as UTF-8)"
    assert parse_line(b"[1]") == 'not a JSON object (write {"id": …, "text": …} on each line)'
    assert parse_line(b'{"id": [1], "text": "x"}') == (
        "id: expected a string or a number, got list (quote the id)"
    )
    assert str(parse_line(b'{"id": 1}')).startswith("text: missing")


def test_a_line_s_date_decides_which_designations_apply() -> None:
    from classifiers.post import PostClassifier
    from crawler.commands.classify import result_row

    bad = parse_line(b'{"id": 1, "text": "x", "published_at": "2025-02-30"}')
    assert isinstance(bad, str) and bad.startswith("published_at: '2025-02-30' is not a date")
    classifier = PostClassifier(designations=["kg"])
    rows = {}
    for day in ("2023-06-01", "2024-10-01"):
        post = parse_line(
            json.dumps(
                {"id": day, "text": "A Taliban delegation arrived.", "published_at": day}
            ).encode()
        )
        assert not isinstance(post, str)
        (result,) = classifier.classify_many([post.text])
        rows[day] = result_row(
            post.id, result, classifier.versions, published_at=post.published_at,
            designated=classifier.designations.lists,
        )  # fmt: skip
    # Kyrgyzstan delisted the Taliban in September 2024.
    assert rows["2023-06-01"]["flagged"] and "designated_org" in rows["2023-06-01"]["topics"]
    assert not rows["2024-10-01"]["flagged"]
    assert "national_only_org" in rows["2024-10-01"]["signals"]
