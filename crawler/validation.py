"""Reading counts the way people and export tools write them: 1234, "1 234", "1.2K", "3,4M".

Shared by `vemeter import` and any spider that reads counts off a page. The range a count may
take (0…2⁶³−1) is storage's rule (storage.validation.check_post), not this module's.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["CountError", "parse_count"]

# Thousands grouped with spaces (also no-break and thin ones), commas, dots or apostrophes.
_GROUPED = re.compile(r"\d{1,3}(?:([ ,.'\u00a0\u202f])\d{3})(?:\1\d{3})*")
# A number with a magnitude suffix, as platforms display them: 1.2K, 3,4M, 12 тыс., 1,5 млн.
_SUFFIXED = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-zа-я]+\.?)", re.IGNORECASE)
_SCALE = {
    "k": 1_000, "к": 1_000, "тыс": 1_000, "тыс.": 1_000,
    "m": 1_000_000, "м": 1_000_000, "млн": 1_000_000, "млн.": 1_000_000,
    "b": 1_000_000_000, "млрд": 1_000_000_000, "млрд.": 1_000_000_000,
}  # fmt: skip


class CountError(ValueError):
    """The value is not a count; the message says what was expected (never echoes long input)."""


def parse_count(value: object) -> int | None:
    """A whole number from an int, a whole float, or text as above; None for None or "".

    Suffixed values are rounded to a whole number ("1.2345K" is 1235). Negative numbers come
    back negative, for the caller's range check to name.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CountError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise CountError(f"{value!r} is not a whole number")
    if not isinstance(value, str):
        raise CountError(f"expected a number, got {type(value).__name__}")
    text = value.strip()
    if len(text) > 40:
        raise CountError(f"{len(text)} characters is not a count")
    sign = 1
    if text.startswith("-"):
        sign, text = -1, text[1:].lstrip()
    if text.isdigit() and text.isascii():
        return sign * int(text)
    if _GROUPED.fullmatch(text):
        return sign * int(re.sub(r"\D", "", text))
    suffixed = _SUFFIXED.fullmatch(text)
    if suffixed and suffixed.group(2).lower() in _SCALE:
        try:
            number = Decimal(suffixed.group(1).replace(",", "."))
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            raise CountError(f"{value!r} is not a count") from None
        scaled = number * _SCALE[suffixed.group(2).lower()]
        return sign * int(scaled.to_integral_value(rounding=ROUND_HALF_UP))
    raise CountError(f"{value!r} is not a whole number (like 1234, 1 234, 1.2K or 3,4M)")
