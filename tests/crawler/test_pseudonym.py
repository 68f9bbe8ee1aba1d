"""Pseudonyms: keyed, stable, the same from the cache as computed afresh, memory bounded."""

from __future__ import annotations

import hashlib
import hmac

from crawler import pseudonym
from crawler.pseudonym import Pseudonymiser

KEY = "pseudonym-test-key-0123456789"


def fresh(platform: str, author: str | int) -> str:
    return hmac.new(KEY.encode(), f"{platform}:{author}".encode(), hashlib.sha256).hexdigest()[:32]


def test_a_pseudonym_is_the_keyed_hash_whether_cached_or_not(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(pseudonym, "_CACHE_LIMIT", 3)
    names = Pseudonymiser(KEY)
    authors = [("vk", 1), ("vk", "1"), ("ok", 1), ("vk", 2), ("vk", 1), ("telegram", "x")]
    for platform, author in authors * 2:
        assert names(platform, author) == fresh(platform, author)
    assert len(names._cache) <= 3  # emptied when full: memory stays bounded
    assert names("vk", None) is None and names("vk", "") is None
    assert Pseudonymiser("another-key-0123456789abc")("vk", 1) != names("vk", 1)
