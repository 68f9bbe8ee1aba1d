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


@pytest.mark.parametrize("day", ["2025-02-29", "2025-13-01", "2025-04-31"])
def test_a_date_that_does_not_exist_is_a_config_error_with_its_key(day: str) -> None:
    text = f"project: p\nsources:\n  - {{name: a, platform: vk, targets: [club1], since: {day}}}\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("d.yaml"))
    assert exc.value.problems == [
        f"d.yaml: sources.0.since: '{day}' is not a date (write 2025-01-31 or 2025-01-31T12:00:00Z)"
    ]


def test_a_date_beyond_the_calendar_once_in_utc_is_a_config_error() -> None:
    text = (
        "project: p\nsources:\n"
        "  - {name: a, platform: vk, targets: [club1], until: '0001-01-01T00:00:00+05:00'}\n"
    )
    with pytest.raises(ConfigError, match=r"sources.0.until: .*beyond the calendar"):
        parse_config(text, Path("d.yaml"))


def test_every_problem_in_one_pass_with_duplicates_and_checks_between_fields() -> None:
    text = """
project: p
storage: {url: 7}
sources:
  - {name: news, platform: vk, targets: ["club 1"], since: 2025-02-01, until: 2025-01-01}
  - {name: news, platform: telegram, targets: [durov], searches: [x], since: 2025-02-30}
  - {name: web, platform: web, targets: ["https://a.example/rss"], kind: sitemap,
     fetch_articles: false, requests_per_second: fast}
"""
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("m.yaml"))
    assert exc.value.problems == [
        "m.yaml: sources.0.targets: 'club 1' is not a VK community (write -123, club123, "
        "public123, a screen name or a vk.com/… address)",
        "m.yaml: sources.0: `since` must be earlier than `until`",  # beside the bad target
        "m.yaml: sources.1.name: 'news' is used by another source (sources.0; names must be "
        "unique)",
        "m.yaml: sources.1.since: '2025-02-30' is not a date (write 2025-01-31 or "
        "2025-01-31T12:00:00Z)",
        "m.yaml: sources.1: telegram sources do not support `searches` (the web preview has no "
        "global search); list channels under `targets` instead",
        "m.yaml: sources.2.requests_per_second: Input should be a valid number, unable to parse "
        "string as a number",
        "m.yaml: sources.2: a sitemap lists pages only: set fetch_articles: true and "
        "selectors.body",
        "m.yaml: storage.url: Input should be a valid string",
    ]


def test_a_check_between_fields_is_left_out_when_one_of_its_fields_is_itself_wrong() -> None:
    # `targets` is wrong: "needs targets or searches" would only repeat it.
    text = "project: p\nsources:\n  - {name: a, platform: vk, targets: ['club 1']}\n"
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("t.yaml"))
    assert len(exc.value.problems) == 1 and "is not a VK community" in exc.value.problems[0]


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("token_env", "vk1.a.AbCdEf0123456789xYzAbCdEf0123456789"),
        ("token_env", "4f2a9c0e7b1d3f5a8c6e2b4d9f1a3c5e7b9d2f4a6c8e0b2d"),
        ("app_secret_env", "0A1B2C3D4E5F6A7B8C9D0E1F"),
    ],
)
def test_a_secret_pasted_for_a_variable_name_is_never_shown_back(key: str, secret: str) -> None:
    platform, targets = ("ok", "['57000000000001']") if key.startswith("app") else ("vk", "[club1]")
    text = (
        f"project: p\nsources:\n  - {{name: a, platform: {platform}, targets: {targets}, "
        f"{key}: '{secret}', rate: 1, {secret}: x}}\n"
    )
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("s.yaml"))
    joined = "\n".join(exc.value.problems)
    assert secret not in joined and secret[:12] not in joined
    assert f"s.yaml: sources.0.{key}: (a value that looks like a secret, not shown) is not an " in (
        joined
    )
    assert "never the" in joined and "sources.0.rate: unknown key" in joined
    assert "sources.0.(a value that looks like a secret, not shown): unknown key" in joined


def test_a_database_password_is_never_shown_back() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config("project: p\nstorage: {url: 'mysql://me:hunter2@db/x'}\n", Path("u.yaml"))
    assert "hunter2" not in str(exc.value) and "'mysql://me:***@db/x'" in str(exc.value)


def test_the_example_configs_web_selectors_read_a_page_shaped_like_the_fake_sites() -> None:
    from spiders.fakes.web import _article_page
    from spiders.fakes.web_data import default_site
    from spiders.web.parse import parse_article
    from spiders.web.rules import WebRules

    cfg = load_config(Path(__file__).parents[2] / "configs" / "example.yaml")
    (web,) = [s for s in cfg.sources if isinstance(s, WebRules)]
    sel = web.selectors
    assert sel.body and sel.date
    article = default_site().news[0]
    page = parse_article(
        _article_page(article).decode(), body=sel.body, title=sel.title, date=sel.date
    )
    assert page.published_at == article.published_at
    assert page.text == article.text and page.title == article.title
