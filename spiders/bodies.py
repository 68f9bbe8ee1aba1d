"""What every platform's parser shares about raw bodies: telling a cut-off answer from a changed one.

An answer that is not one whole document (cut off in transit, empty, garbled) is `Unreadable`: a
fault of the transport, asked again like a 5xx. A whole document of an unknown shape is each
parser's own LayoutError: the platform changed. Pure functions: no Scrapy, no network.
"""

from __future__ import annotations

import json
from typing import Any


class Unreadable(Exception):
    """The body is not one whole document: cut off in transit, empty, or not the format at all."""


def load_json(body: bytes | str) -> Any:
    """The decoded body; Unreadable when it is not one whole JSON document."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and integers too long to convert.
        raise Unreadable(_not_json(body, exc)) from None


def _not_json(body: bytes | str, exc: Exception) -> str:
    """Why a body is not JSON, in words: where it broke, and how it starts when not JSON-like."""
    size = len(body)
    if not body.strip():
        return "empty answer"
    where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
    text = body if isinstance(body, str) else body[:200].decode("utf-8", "replace")
    if text.lstrip()[:1] in ("{", "["):
        return f"answer is not whole JSON (cut off?{where}; {size} bytes)"
    return f"answer is not JSON ({size} bytes, starting {text.strip()[:60]!r})"


def error_code(value: Any) -> int:
    """An API's numeric error code (a JSON number or digits), -1 when it is none."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value if abs(value) < 10**18 else -1
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    return -1


def one_line(text: Any, limit: int = 300) -> str:
    """A message from the platform as one short line: it goes into a target's reason."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
