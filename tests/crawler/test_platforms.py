"""Every registered platform has its config model, spider, parsers, fake server, fixtures and docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.platforms import PLATFORMS
from crawler.rules_base import SourceRules
from crawler.spiderbase import SourceSpider

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", sorted(PLATFORMS))
def test_platform_is_complete(key: str) -> None:
    platform = PLATFORMS[key]
    assert issubclass(platform.rules, SourceRules)
    spider = platform.spider_class()
    assert issubclass(spider, SourceSpider) and spider.name == key
    assert spider.rules_type is platform.rules
    package = ROOT / "spiders" / key
    for module in ("rules.py", "parse.py", "spider.py"):
        assert (package / module).is_file(), f"spiders/{key}/{module} is missing"
    fake = ROOT / "spiders" / "fakes" / f"{key}.py"
    assert fake.is_file(), f"spiders/fakes/{key}.py (the fake {key} server) is missing"
    assert not list(package.glob("fake*.py")), f"fakes belong in spiders/fakes/, not spiders/{key}/"
    parse = (package / "parse.py").read_text(encoding="utf-8")
    assert "import scrapy" not in parse and "from scrapy" not in parse, "parse.py must stay pure"
    fixtures = ROOT / "tests" / "fixtures" / key
    expected = sorted(fixtures.glob("*.expected.json"))
    assert expected, f"tests/fixtures/{key}/ needs fixtures paired with *.expected.json"
    for file in expected:
        stem = file.name.removesuffix(".expected.json")
        assert any(p.name.startswith(stem + ".") and p != file for p in fixtures.iterdir()), file
    rows = (ROOT / "docs" / "platforms.md").read_text(encoding="utf-8")
    assert f"| `{key}` |" in rows, f"docs/platforms.md needs a row for `{key}`"


def test_spider_names_are_the_registry_keys() -> None:
    from crawler.settings import SPIDER_MODULES

    assert [f"spiders.{key}.spider" for key in PLATFORMS] == SPIDER_MODULES
