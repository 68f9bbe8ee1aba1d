"""Pure functions (no Scrapy, no network) from feed, sitemap and article bodies to plain data."""

from __future__ import annotations

import gzip
import io
import re
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urljoin

from parsel import Selector

from crawler.post_keys import web_guid_id
from spiders.bodies import Unreadable
from spiders.web.markup import canonical_url, html_to_text, parse_date, xml_text

__all__ = ["Unreadable"]  # raised by parse_document; importable from here

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
MAX_UNZIPPED = 50 * 1024 * 1024  # the sitemap protocol's own cap on an uncompressed file

Kind = Literal["auto", "feed", "sitemap"]


class LayoutError(Exception):
    """A whole document, but not the one the target should be: not a feed, not a sitemap, no
    article body. (A document cut off or garbled on the way is Unreadable, and asked again.)"""


# ---- XML documents -----------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _root(body: bytes) -> ET.Element:
    # The standard library's expat parser fetches no external entities; documents declaring
    # entities are refused outright, which rules out entity-expansion bombs as well.
    if not body.strip():
        raise Unreadable("empty document")
    if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap served without Content-Encoding
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(MAX_UNZIPPED + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise Unreadable(f"broken gzip file, cut off? ({exc})") from None
        if len(body) > MAX_UNZIPPED:
            raise LayoutError("gzip file unpacks to more than 50 MB (the sitemap limit)")
    head = body.lstrip()[:512].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise LayoutError("got an HTML page, not a feed or sitemap (is the URL a feed's address?)")
    if b"<!ENTITY" in body:
        raise LayoutError("document declares XML entities; refused (feeds and sitemaps need none)")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise Unreadable(f"not well-formed XML, cut off? ({exc}; {len(body)} bytes)") from None
    except (LookupError, ValueError) as exc:  # an encoding expat does not know, or cannot read
        raise Unreadable(f"XML in an encoding that cannot be read ({exc})") from None


def _child(el: ET.Element, *names: str) -> ET.Element | None:
    for name in names:
        found = el.find(name)
        if found is not None:
            return found
    return None


def _text(el: ET.Element, *names: str) -> str:
    found = _child(el, *names)
    return "".join(found.itertext()).strip() if found is not None else ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry; `author` is a raw name the spider pseudonymises at once."""

    post_id: str
    url: str | None
    title: str
    published_at: datetime | None
    author: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Feed:
    format: str  # rss | rss1 | atom
    title: str
    entries: list[Entry]
    malformed: list[str]  # one reason per entry that was skipped


@dataclass(frozen=True, slots=True)
class SitemapLink:
    """A page (urlset) or a child sitemap (sitemapindex)."""

    url: str
    lastmod: datetime | None
    published: datetime | None = None  # Google News sitemaps carry the publication date
    title: str = ""


@dataclass(frozen=True, slots=True)
class Sitemap:
    is_index: bool
    links: list[SitemapLink]
    malformed: list[str]


def parse_document(body: bytes, url: str, kind: Kind = "auto") -> Feed | Sitemap:
    """A feed or sitemap, told apart by its root element; LayoutError for anything else."""
    root = _root(body)
    name = _local(root.tag)
    is_feed = name in ("rss", "RDF", "feed")
    is_sitemap = name in ("urlset", "sitemapindex")
    if is_feed and kind != "sitemap":
        return _feed(root, url)
    if is_sitemap and kind != "feed":
        return _sitemap(root, url)
    expected = {"auto": "an RSS/Atom feed or a sitemap", "feed": "an RSS/Atom feed"}.get(
        kind, "a sitemap"
    )
    raise LayoutError(f"root element <{name}> is not {expected}")


def parse_feed(body: bytes, url: str) -> Feed:
    result = parse_document(body, url, "feed")
    assert isinstance(result, Feed)
    return result


def parse_sitemap(body: bytes, url: str) -> Sitemap:
    result = parse_document(body, url, "sitemap")
    assert isinstance(result, Sitemap)
    return result


def _join(base: str, ref: str) -> str:
    """`ref` (an xml:base) resolved against `base`; a broken one (http://[x) is left out."""
    try:
        return urljoin(base, ref)
    except ValueError:
        return base


def _feed(root: ET.Element, url: str) -> Feed:
    name, ns = _local(root.tag), ""
    if name == "feed":
        ns = ATOM if root.tag.startswith(ATOM) else root.tag[: -len("feed")]
        items = root.findall(f"{ns}entry")
        title = _text(root, f"{ns}title")
        fmt = "atom"
    elif name == "RDF":
        items, fmt = root.findall(f"{RSS1}item"), "rss1"
        title = _text(root, f"{RSS1}channel/{RSS1}title")
    else:
        channel = root.find("channel")
        if channel is None:
            raise LayoutError("<rss> without a <channel>")
        items, title, fmt = channel.findall("item"), _text(channel, "title"), "rss"
    base = _join(url, root.get(XML_BASE, ""))
    entries: list[Entry] = []
    malformed: list[str] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        try:
            if fmt == "atom":
                entry = _atom_entry(item, ns, base, url)
            else:
                entry = _rss_entry(item, fmt == "rss1", base, url)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, RecursionError):
                exc = ValueError("markup nested too deeply")
            label = _text(item, "title", f"{RSS1}title", f"{ns}title")
            malformed.append(f"entry {n}" + (f" ({label[:60]!r})" if label else "") + f": {exc}")
            continue
        if entry.post_id not in seen:  # a feed listing one entry twice stores it once
            seen.add(entry.post_id)
            entries.append(entry)
    return Feed(fmt, title, entries, malformed)


def _rss_entry(item: ET.Element, rss1: bool, base: str, feed_url: str) -> Entry:
    p = RSS1 if rss1 else ""
    link = canonical_url(_text(item, f"{p}link"), base)
    guid_el = item.find("guid")
    guid = (guid_el.text or "").strip() if guid_el is not None else ""
    if rss1 and not guid:
        guid = item.get(f"{RDF}about", "").strip()
    permalink = guid_el is not None and guid_el.get("isPermaLink") != "false"
    if link is None and permalink and re.match(r"^https?://", guid, re.I):
        link = canonical_url(guid)  # RSS 2.0: a guid is the permalink unless it says it is not
    post_id = web_guid_id(guid, link, feed_url)
    if post_id is None:
        raise ValueError("no guid and no http(s) link")
    raw_date = _text(item, "pubDate", f"{DC}date")
    try:
        published = parse_date(raw_date)
    except ValueError as exc:
        raise ValueError(f"unreadable date: {exc}") from None
    html = _text(item, f"{CONTENT}encoded") or _text(item, f"{p}description")
    author = _text(item, f"{DC}creator", "author")
    if "@" in author and "(" in author:  # RSS 2.0 "mail@example.org (Name)": keep the name
        author = author[author.index("(") + 1 :].rstrip(")").strip()
    return Entry(
        post_id=post_id,
        url=link,
        title=html_to_text(_text(item, f"{p}title")),
        published_at=published,
        author=author or None,
        text=html_to_text(html),
    )


def _atom_text(el: ET.Element | None) -> str:
    if el is None:
        return ""
    kind = el.get("type", "text")
    if kind == "xhtml":
        div = next(iter(el), None)
        return xml_text(div) if div is not None else ""
    raw = "".join(el.itertext())
    return html_to_text(raw) if kind in ("html", "text/html") else " ".join(raw.split())


def _atom_entry(item: ET.Element, ns: str, base: str, feed_url: str) -> Entry:
    base = _join(base, item.get(XML_BASE, ""))
    link = None
    for candidate in item.findall(f"{ns}link"):
        if candidate.get("rel", "alternate") == "alternate":
            link = canonical_url(candidate.get("href", ""), base)
            if link:
                break
    post_id = web_guid_id(_text(item, f"{ns}id"), link, feed_url)
    if post_id is None:
        raise ValueError("no id and no http(s) link")
    raw_date = _text(item, f"{ns}published", f"{ns}updated", f"{ns}issued", f"{ns}modified")
    try:
        published = parse_date(raw_date)
    except ValueError as exc:
        raise ValueError(f"unreadable date: {exc}") from None
    body = _atom_text(_child(item, f"{ns}content")) or _atom_text(_child(item, f"{ns}summary"))
    return Entry(
        post_id=post_id,
        url=link,
        title=_atom_text(_child(item, f"{ns}title")),
        published_at=published,
        author=_text(item, f"{ns}author/{ns}name") or None,
        text=body,
    )


def _lastmod(raw: str) -> datetime | None:
    """A sitemap `lastmod`, only a hint of what changed: unreadable means the page is fetched.

    A day alone means some time that day: its last second, so a page published later that day
    does not look older than the last crawl.
    """
    try:
        when = parse_date(raw)
    except ValueError:
        return None
    if when is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        when = when.replace(hour=23, minute=59, second=59)
    return when


def _sitemap(root: ET.Element, url: str) -> Sitemap:
    is_index = _local(root.tag) == "sitemapindex"
    ns = root.tag[: -len(_local(root.tag))]  # the sitemap namespace, or none at all
    links: list[SitemapLink] = []
    malformed: list[str] = []
    for n, item in enumerate(root.findall(f"{ns}{'sitemap' if is_index else 'url'}"), 1):
        loc = canonical_url(_text(item, f"{ns}loc"), url)
        if loc is None:
            malformed.append(f"entry {n}: no http(s) <loc>")
            continue
        news = item.find(f"{NEWS}news")
        if news is None:
            links.append(SitemapLink(loc, _lastmod(_text(item, f"{ns}lastmod"))))
            continue
        try:
            published = parse_date(_text(news, f"{NEWS}publication_date"))
        except ValueError:
            published = None
        title = _text(news, f"{NEWS}title")
        links.append(SitemapLink(loc, _lastmod(_text(item, f"{ns}lastmod")), published, title))
    return Sitemap(is_index, links, malformed)


# ---- article pages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    text: str
    published_at: datetime | None
    author: str | None


def _values(page: Selector, css: str) -> list[str]:
    """Text of each match: `::text`/`::attr()` values as they are, elements as readable text."""
    matches = page.css(css)
    if "::" in css:
        return [" ".join(v.split()) for v in matches.getall() if v.strip()]
    return [t for m in matches if (t := html_to_text(m.get()))]


def _date_of(page: Selector, css: str) -> datetime | None:
    for match in page.css(css):
        raw_value = match.get()
        candidates: list[str | None] = []
        if isinstance(match.root, str):  # `::attr(datetime)` and `::text` select a string
            candidates.append(raw_value)
        else:
            # <time datetime> and <meta content> hold the machine-readable date.
            candidates += [match.attrib.get("datetime"), match.attrib.get("content")]
            candidates.append(raw_value if "::" in css else html_to_text(raw_value))
        for raw in candidates:
            try:
                if (when := parse_date(raw)) is not None:
                    return when
            except ValueError:
                continue
    return None


def parse_article(
    html: str,
    *,
    body: str,
    title: str | None = None,
    date: str | None = None,
    author: str | None = None,
) -> Article:
    """An article page read by CSS selectors; LayoutError when the body selector matches nothing."""
    # Text that cannot be UTF-8 (lone surrogates) would stop lxml: made readable first. Read as
    # HTML whatever it looks like: parsel would take a body that parses as JSON ('{"":""}') for
    # JSON, on which CSS selectors raise.
    page = Selector(text=html.encode("utf-8", "replace").decode("utf-8"), type="html")
    if not page.css(body):
        raise LayoutError(f"body selector {body!r} matched nothing")
    titles = _values(page, title) if title else []
    authors = _values(page, author) if author else []
    return Article(
        title=" ".join(titles[0].split()) if titles else "",
        text="\n".join(_values(page, body)),
        published_at=_date_of(page, date) if date else None,
        author=" ".join(authors[0].split()) if authors else None,
    )
