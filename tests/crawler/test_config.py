"""Project configs: valid ones load; every problem of an invalid one is reported at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.config import load_config, parse_config, with_window
from crawler.errors import ConfigError

VALID = """
project: pilot
storage: {url: "sqlite:///data/pilot.db"}
sources:
  - name: vk-news
    platform: vk
    targets: [club1, "-2", "https://vk.com/apiclub", "45", public7]
    searches: [ИГИЛ]
    since: 2025-01-01
"""


def test_valid_config_normalises_targets_and_dates(tmp_path: Path) -> None:
    cfg = parse_config(VALID, tmp_path / "p.yaml")
    src = cfg.sources[0]
    assert src.targets == ["club1", "-2", "apiclub", "-45", "public7"]
    assert src.since == datetime(2025, 1, 1, tzinfo=UTC)
    assert cfg.database_url == f"sqlite:///{(tmp_path / 'data' / 'pilot.db').resolve()}"
    assert cfg.privacy.keep_text == "flagged"


def test_every_problem_reported_with_file_and_key_path() -> None:
    bad = """
project: pilot
storag: {}
privacy: {keep_text: some}
sources:
  - name: vk-news
    platform: vk
    targets: ["club 1"]
    token_env: abc-token-value
    rate: 5
  - name: x
    platform: twitter
"""
    with pytest.raises(ConfigError) as exc:
        parse_config(bad, Path("b.yaml"))
    problems = exc.value.problems
    assert (
        "b.yaml: storag: unknown key (check its spelling against configs/example.yaml)" in problems
    )
    assert any(
        p.startswith("b.yaml: privacy.keep_text: input should be 'none', 'flagged' or 'all'")
        for p in problems
    )
    assert any(
        p.startswith("b.yaml: sources.0.targets: 'club 1' is not a VK community") for p in problems
    )
    assert any(
        p.startswith("b.yaml: sources.0.token_env:") and "never the token itself" in p
        for p in problems
    )
    assert (
        "b.yaml: sources.0.rate: unknown key (check its spelling against configs/example.yaml)"
        in problems
    )
    assert any(
        p.startswith("b.yaml: sources.1.platform: 'twitter' is not a supported platform")
        for p in problems
    )
    assert len(problems) == 6


def test_source_needs_something_to_crawl_and_a_sane_window() -> None:
    text = """
project: p
sources:
  - {name: a, platform: vk}
  - {name: b, platform: vk, targets: [club1], since: 2025-02-01, until: 2025-01-01}
  - {name: c, platform: vk, targets: [club2]}
  - {name: c, platform: vk, targets: [club3]}
"""
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("c.yaml"))
    joined = "\n".join(exc.value.problems)
    assert "sources.0: a VK source needs `targets` or `searches`" in joined
    assert "sources.1: `since` must be earlier than `until`" in joined
    assert "sources.3.name: 'c' is used by another source" in joined


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("project: a\n  sources: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml: line 2, column \d+: YAML syntax error"):
        load_config(path)


def test_missing_file_and_missing_sources() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config("/nonexistent/project.yaml")
    assert parse_config("project: a\n", Path("d.yaml")).sources == []  # e.g. import-only


def test_command_line_window_overrides_config(tmp_path: Path) -> None:
    cfg = parse_config(VALID, tmp_path / "p.yaml")
    later = datetime(2025, 6, 1, tzinfo=UTC)
    moved = with_window(cfg, later, None)
    assert moved.sources[0].since == later
    assert cfg.sources[0].since == datetime(2025, 1, 1, tzinfo=UTC)


def test_import_field_mapping() -> None:
    cfg = parse_config(
        "project: a\nimport: {fields: {id: msg_id, text: body}, platform: telegram}\n",
        Path("i.yaml"),
    )
    assert (cfg.imports.fields.id, cfg.imports.fields.text, cfg.imports.fields.url) == (
        "msg_id",
        "body",
        "url",
    )
    with pytest.raises(ConfigError, match=r"i.yaml: import.fields.idd: unknown key"):
        parse_config("project: a\nimport: {fields: {idd: x}}\n", Path("i.yaml"))


def test_shipped_example_config_is_valid() -> None:
    cfg = load_config(Path(__file__).parents[2] / "configs" / "example.yaml")
    assert cfg.sources and cfg.sources[0].platform == "vk"


def test_designations_default_to_un_and_the_region_and_are_checked(tmp_path: Path) -> None:
    cfg = parse_config(VALID, tmp_path / "p.yaml")
    assert cfg.classifier.designations == ["kg", "kz", "tj", "tm", "un", "uz"]
    chosen = parse_config(VALID + "classifier: {designations: [us, ru, us]}\n", tmp_path / "p.yaml")
    assert chosen.classifier.designations == ["ru", "us"]
    with pytest.raises(ConfigError, match=r"classifier.designations: .*unknown jurisdiction 'xx'"):
        parse_config(VALID + "classifier: {designations: [un, xx]}\n", tmp_path / "p.yaml")
