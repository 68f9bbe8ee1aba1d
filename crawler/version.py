"""The installed vemeter version, recorded with every run (cheap to import: no Scrapy)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def vemeter_version() -> str:
    try:
        return version("vemeter")
    except PackageNotFoundError:
        return "0+unknown"
