"""Keyed pseudonyms for authors: HMAC-SHA256, so ids cannot be reversed or guessed without the key.

The database keeps the key's fingerprint, never the key (storage/keys.py): a crawl or import
with another key is refused before it stores anything.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from crawler.errors import SecretMissing
from crawler.secrets import read_secret

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from storage.keys import KeyPeriod

# What the fingerprint is an HMAC of. Pseudonyms are HMACs of "platform:id"; this string has no
# colon, so a fingerprint can never equal an author's pseudonym.
FINGERPRINT_MESSAGE = b"vemeter pseudonym key fingerprint v1"


_CACHE_LIMIT = 100_000


class Pseudonymiser:
    """Turn a platform's author id into a stable pseudonym; the same key gives the same pseudonym."""

    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 characters long")
        self._key = key.encode()
        # Authors post many times: each pseudonym is computed once (HMAC ~6 µs, a lookup
        # ~0.1 µs); the cache is emptied when full, so memory stays bounded.
        self._cache: dict[tuple[str, str | int], str] = {}
        self.env_name: str | None = None  # where the key came from, for messages

    @classmethod
    def from_env(cls, env_name: str) -> Pseudonymiser:
        key = read_secret(
            env_name,
            "the secret key for author pseudonyms",
            f"set it once per project and keep it, e.g. export {env_name}=$(python -c "
            "'import secrets; print(secrets.token_hex(32))')",
        )
        try:
            pseudonymiser = cls(key)
        except ValueError as exc:
            raise SecretMissing(f"environment variable {env_name}: {exc}") from None
        pseudonymiser.env_name = env_name
        return pseudonymiser

    def fingerprint(self) -> str:
        """An HMAC of a fixed string with the key: tells keys apart, and cannot give the key."""
        return hmac.new(self._key, FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()

    def check_database(self, engine: Engine) -> KeyPeriod:
        """Refuse (KeyMismatch, one line) a database whose authors were pseudonymised with
        another key; the first use of a database records this key. Call it after opening the
        database and before storing anything."""
        from storage.keys import check_key

        return check_key(
            engine, self.fingerprint(), env_name=self.env_name or "the pseudonym key variable"
        )

    def __call__(self, platform: str, author_id: str | int | None) -> str | None:
        if author_id is None or author_id == "":
            return None
        cache = self._cache
        found = cache.get((platform, author_id))
        if found is None:
            msg = f"{platform}:{author_id}".encode()
            found = hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:32]
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[(platform, author_id)] = found
        return found
