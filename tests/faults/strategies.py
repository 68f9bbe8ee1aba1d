"""Hypothesis strategies of hostile input: arbitrary JSON and text, and real fixtures mutated.

Every property test of the fault suite runs with BOUNDED: a fixed number of examples and no
deadline, so that CI time stays small and a slow machine never fails a test. On CI the examples
are derived from the test's name (derandomize), so every run of a commit tries the same inputs.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parents[1] / "fixtures"

BOUNDED = settings(
    # VEMETER_HYPOTHESIS_EXAMPLES=5000 hunts harder on a workstation; CI keeps the default.
    max_examples=int(os.environ.get("VEMETER_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fixture(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / name).read_bytes()


# ---- JSON ---------------------------------------------------------------------------------

# Values a hostile or broken API could send: every JSON type, extreme numbers, odd strings.
EXTREMES: list[Any] = [
    0, -1, 2**31, 2**63, 2**64, 10**20, -(10**20), 10**400, 1e308, -1e308, 1.5, True, False,
    None, "", "\x00", "\ud800", "1e20", "9" * 5000, "NaN", "-0", "user:", "group:1", [], {},
    float("nan"), float("inf"),
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(EXTREMES),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
# What replaces a value in a real answer: as often an extreme as anything else (a fresh copy:
# the tests change what they draw, and EXTREMES holds mutable lists and dicts).
hostile_values = st.one_of(st.sampled_from(EXTREMES), json_values).map(copy.deepcopy)


@st.composite
def mutated_json(draw: st.DrawFn, original: Any, keys: list[str] | None = None) -> Any:
    """`original` (decoded JSON) with a few values replaced, keys dropped or added, lists cut.

    Each place in the document (any value, at any depth) is as likely to be hit as any other.
    """
    value = json.loads(json.dumps(original))
    for _ in range(draw(st.integers(1, 4))):
        places = list(_places(value, ()))
        path = draw(st.sampled_from(places))
        value = _replace(value, path, _change(draw, _get(value, path), keys or []))
    return value


def _places(node: Any, path: tuple[Any, ...]) -> Any:
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _places(child, (*path, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _places(child, (*path, i))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def _replace(node: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    _get(node, path[:-1])[path[-1]] = new
    return node


def _change(draw: st.DrawFn, node: Any, keys: list[str]) -> Any:
    action = draw(st.sampled_from(["replace", "replace", "drop", "add", "cut", "wrap"]))
    if action == "drop" and isinstance(node, dict) and node:
        node.pop(draw(st.sampled_from(sorted(node))))
        return node
    if action == "add" and isinstance(node, dict):
        node[draw(st.sampled_from(keys) if keys else st.text(max_size=8))] = draw(hostile_values)
        return node
    if action == "cut" and isinstance(node, list):
        return node[: draw(st.integers(0, len(node)))]
    if action == "wrap":
        return draw(st.sampled_from([[node], {"response": node}, {"items": node}]))
    return draw(hostile_values)


@st.composite
def encoded(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    """JSON bytes as an API may write them: escaped or raw UTF-8, NaN and Infinity included
    (Python's json reads them back), lone surrogates as escapes or as invalid UTF-8."""
    value = draw(values)
    if draw(st.booleans()):
        return json.dumps(value).encode()
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# ---- bytes --------------------------------------------------------------------------------

_NASTY = st.sampled_from(
    [b"\x00", b"\xff\xfe", b"\xc3", b"<", b">", b"&", b'"', b"{", b"}", b"[", b"]", b"</html>",
     b"<!ENTITY x 'y'>", b"\r\n", b"\xe2\x80\xae", b"<![CDATA[", b"-->", b"\\u0000", b"1e999"]
)  # fmt: skip


@st.composite
def mutated_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` cut off, with slices deleted, repeated or replaced, and nasty bytes put in."""
    body = original
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "replace", "repeat"]))
        n = len(body)
        at = draw(st.integers(0, n))
        if op == "truncate":
            body = body[:at]
        elif op == "delete":
            body = body[:at] + body[at + draw(st.integers(1, 200)) :]
        elif op == "insert":
            chunk = draw(st.one_of(_NASTY, st.binary(min_size=1, max_size=20)))
            body = body[:at] + chunk + body[at:]
        elif op == "replace":
            chunk = draw(st.one_of(_NASTY, st.binary(min_size=1, max_size=20)))
            body = body[:at] + chunk + body[at + len(chunk) :]
        else:
            end = min(n, at + draw(st.integers(1, 300)))
            body = body[:end] + body[at:end] * draw(st.integers(1, 3)) + body[end:]
    return body


# Text a hostile page or a broken server could put where a date, a URL, an id or text goes.
HOSTILE_TEXT = [
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2025-02-30", "2025-13-01",
    "99999-01-01", "Mon, 32 Foo 2025 99:99:99 GMT", "31.02.2025", "1e20", "", " ",
    "http://[::1", "http://a:99999/", "http://[", "javascript:alert(1)", "//x", "https://",
    "9" * 5000, "-1", "1.2K", "3,4M", "NaN", "DemoNews/" + "9" * 30, "a/1", "x" * 10000,
    "\x00", "\x0b", "\u202e", "<", "&", "]]>", "<!ENTITY a 'b'>", "&nbsp;", "&#0;", "&#xD800;",
]  # fmt: skip
# An attribute value, or the text between two tags.
_SLOTS = re.compile(rb'"[^"<>]{0,200}"|>[^<>]{1,200}<')


@st.composite
def mutated_markup(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` HTML or XML with a few attribute values or texts replaced by hostile ones."""
    slots = [m.span() for m in _SLOTS.finditer(original)]
    body = original
    for start, end in sorted(
        draw(st.lists(st.sampled_from(slots), min_size=1, max_size=4, unique=True)), reverse=True
    ):
        text = draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40)))
        value = text.encode("utf-8", "surrogatepass")
        quote = body[start : start + 1]
        if quote == b'"':
            value = b'"' + value.replace(b'"', b"&quot;") + b'"'
        else:
            value = b">" + value + b"<"
        body = body[:start] + value + body[end:]
    return body


def bodies(original: bytes) -> st.SearchStrategy[bytes]:
    """Mutations of a real body, and arbitrary bytes now and then."""
    return st.one_of(
        mutated_bytes(original),
        mutated_markup(original),
        mutated_json_bytes(original),
        st.binary(max_size=300),
    )


@st.composite
def mutated_json_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """A JSON body with values changed (bytes mutations otherwise)."""
    try:
        value = json.loads(original)
    except ValueError:
        return draw(mutated_bytes(original))
    return draw(encoded(mutated_json(value)))


def fails_only_with(call: Callable[[], Any], *allowed: type[BaseException]) -> Any:
    """`call()`'s result, or None when it raised one of `allowed`; anything else propagates."""
    try:
        return call()
    except allowed:
        return None
