"""Read secrets from the environment variables a config names, never from the config itself."""

from __future__ import annotations

import os

from crawler.errors import SecretMissing


def read_secret(env_name: str, purpose: str, how: str) -> str:
    """Return the value of ``env_name`` or raise a one-line SecretMissing that says how to set it."""
    value = os.environ.get(env_name, "")
    if not value.strip():
        raise SecretMissing(
            f"environment variable {env_name} is not set: it holds {purpose} ({how})"
        )
    return value.strip()


def mask(secret: str) -> str:
    """A form of a secret safe to log: only its length and last two characters."""
    return f"…{secret[-2:]} ({len(secret)} chars)" if len(secret) > 6 else "…"
