"""Keyed pseudonyms for authors: HMAC-SHA256, so ids cannot be reversed or guessed without the key."""

from __future__ import annotations

import hashlib
import hmac

from crawler.errors import SecretMissing
from crawler.secrets import read_secret


class Pseudonymiser:
    """Turn a platform's author id into a stable pseudonym; the same key gives the same pseudonym."""

    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 characters long")
        self._key = key.encode()

    @classmethod
    def from_env(cls, env_name: str) -> Pseudonymiser:
        key = read_secret(
            env_name,
            "the secret key for author pseudonyms",
            f"set it once per project and keep it, e.g. export {env_name}=$(python -c "
            "'import secrets; print(secrets.token_hex(32))')",
        )
        try:
            return cls(key)
        except ValueError as exc:
            raise SecretMissing(f"environment variable {env_name}: {exc}") from None

    def __call__(self, platform: str, author_id: str | int | None) -> str | None:
        if author_id is None or author_id == "":
            return None
        msg = f"{platform}:{author_id}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:32]
