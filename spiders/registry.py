"""The one list of platforms vemeter can crawl: key, config model and spider, found by key."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spiders.vk.rules import VKRules

if TYPE_CHECKING:
    from crawler.rules_base import SourceRules


@dataclass(frozen=True)
class Platform:
    """A crawlable platform; `key` is the same in config, database, CLI and spider name."""

    key: str
    title: str
    rules: type[SourceRules]
    spider_path: str
    access: str

    def spider_class(self) -> type:
        module, _, name = self.spider_path.partition(":")
        cls: type = getattr(importlib.import_module(module), name)
        return cls


PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform(
            key="vk",
            title="VK (VKontakte) public community walls and keyword search",
            rules=VKRules,
            spider_path="spiders.vk.spider:VKSpider",
            access="official API, service token (token_env)",
        ),
    )
}


def platform(key: str) -> Platform:
    """The platform registered under `key`; KeyError names the known ones."""
    try:
        return PLATFORMS[key]
    except KeyError:
        raise KeyError(
            f"unknown platform {key!r} (known: {', '.join(sorted(PLATFORMS))})"
        ) from None
