"""Pure helpers shared by the web parsers: dates in their many spellings, URLs, markup to text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

from crawler.post_keys import canonical_url as canonical_url  # one home: post keys use it

# ---- dates and URLs ----------------------------------------------------------------------

_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ ,T]+(\d{1,2}):(\d{2}))?$")


def parse_date(raw: str | None) -> datetime | None:
    """A feed, sitemap or page date (RFC 3339/W3C, RFC 822, DD.MM.YYYY) in UTC; None when empty.

    Raises ValueError for text that is not a date. Dates without a zone are taken as UTC.
    """
    value = (raw or "").strip()
    if not value:
        return None
    iso = value.replace("Z", "+00:00").replace("z", "+00:00")
    if re.fullmatch(r"\d{4}(-\d{2})?", iso):  # W3C year or year-month
        iso = iso + ("-01-01" if len(iso) == 4 else "-01")
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            dotted = _DOTTED.match(value)
            if dotted:
                d, m, y, hh, mm = dotted.groups()
                parsed = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0))
    if parsed is None:
        raise ValueError(f"{value[:60]!r} is not a date")
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the calendar once in UTC
        raise ValueError(f"{value[:60]!r} is beyond the calendar") from None


# ---- HTML to text ------------------------------------------------------------------------

# fmt: off
_BLOCK = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "tr", "table", "section", "article", "header", "footer", "figure", "figcaption", "hr", "dd",
    "dt", "dl", "aside", "main", "nav", "address", "details", "summary",
})
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})
# fmt: on


class _TextBuilder:
    """Text of markup: tags dropped, block elements become line breaks, whitespace collapsed."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.skipping = 0

    def start(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def data(self, text: str | None) -> None:
        if text and not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", text))

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return "\n".join(line for line in lines if line)


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _TextBuilder()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.start(tag)

    def handle_endtag(self, tag: str) -> None:
        self.out.end(tag)

    def handle_data(self, data: str) -> None:
        self.out.data(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment or page: markup dropped, paragraphs as line breaks."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return parser.out.text()


def xml_text(element: ET.Element) -> str:
    """Text of an inline XHTML element (Atom `type="xhtml"`), by the same rules as HTML."""
    out = _TextBuilder()

    def walk(el: ET.Element) -> None:
        tag = el.tag.rsplit("}", 1)[-1]
        out.start(tag)
        out.data(el.text)
        for child in el:
            walk(child)
            out.data(child.tail)
        out.end(tag)

    walk(element)
    return out.text()
