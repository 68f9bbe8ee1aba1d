"""The one list of platforms vemeter can crawl: key, config model and spider, found by key.

Spiders are plugins of the crawl (they subclass crawler.spiderbase.SourceSpider), so this
registry names them by dotted path, as Scrapy's SPIDER_MODULES does, and loads one when a crawl
or a config needs it: the crawl never imports a platform package up front.

Adding a platform: a package `spiders/<key>/` with `rules.py` (its config model), `parse.py`
(pure functions) and `spider.py`; a fake server `spiders/fakes/<key>.py` (for tests and the
demo); fixtures with their expected items in `tests/fixtures/<key>/`; a row in
docs/platforms.md; one entry below. tests/crawler/test_platforms.py fails while any is missing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.rules_base import SourceRules


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Platform:
    """A crawlable platform; `key` is the same in config, database, CLI and spider name."""

    key: str
    title: str
    access: str
    rules_path: str
    spider_path: str

    @property
    def rules(self) -> type[SourceRules]:
        cls: type[SourceRules] = _load(self.rules_path)
        return cls

    def spider_class(self) -> type:
        cls: type = _load(self.spider_path)
        return cls


PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform(
            key="vk",
            title="VK (VKontakte) public community walls and keyword search",
            access="official API, service token (token_env)",
            rules_path="spiders.vk.rules:VKRules",
            spider_path="spiders.vk.spider:VKSpider",
        ),
        Platform(
            key="ok",
            title="Odnoklassniki (ok.ru) public group topics",
            access="official REST API (fb.do), app key, secret and token (app_key_env, app_secret_env, token_env)",
            rules_path="spiders.ok.rules:OKRules",
            spider_path="spiders.ok.spider:OKSpider",
        ),
        Platform(
            key="telegram",
            title="Telegram public channels via the web preview (t.me/s/<channel>)",
            access="public web pages, no account or key",
            rules_path="spiders.telegram.rules:TelegramRules",
            spider_path="spiders.telegram.spider:TelegramSpider",
        ),
        Platform(
            key="web",
            title="Websites through their RSS/Atom feeds and sitemaps, articles by CSS selectors",
            access="public web pages, no account or key",
            rules_path="spiders.web.rules:WebRules",
            spider_path="spiders.web.spider:WebSpider",
        ),
    )
}


def spider_modules() -> list[str]:
    """Scrapy's SPIDER_MODULES: one per registered platform."""
    return [p.spider_path.partition(":")[0] for p in PLATFORMS.values()]
