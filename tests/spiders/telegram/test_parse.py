"""Telegram web-preview parsers on fixture pages, each paired with what it must produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spiders.telegram.parse import (
    FORWARD_HIDDEN,
    FORWARD_USER,
    Forward,
    LayoutError,
    NoPublicHistory,
    TelegramPost,
    parse_channel_page,
    parse_views,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
PAGES = sorted(p.name.removesuffix(".expected.json") for p in FIXTURES.glob("*.expected.json"))
ERRORS = {"LayoutError": LayoutError, "NoPublicHistory": NoPublicHistory}


def as_dict(post: TelegramPost) -> dict[str, Any]:
    forward = post.forwarded_from
    return {
        "post_id": post.post_id,
        "url": post.url,
        "published_at": post.published_at.isoformat(),
        "text": post.text,
        "extra_text": post.extra_text,
        "views": post.views,
        "edited": post.edited,
        "forwarded_from": {"name": forward.name, "url": forward.url} if forward else None,
        "forward_origin": post.forward_origin,
        "reply_to": post.reply_to,
        "author_signature": post.author_signature,
        "media": list(post.media),
        "links": list(post.links),
    }


@pytest.mark.parametrize("name", PAGES)
def test_fixture_matches_expected(name: str) -> None:
    body = (FIXTURES / f"{name}.html").read_bytes()
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    if "raises" in expected:
        with pytest.raises(ERRORS[expected["raises"]], match=expected.get("message")):
            parse_channel_page(body)
        return
    page = parse_channel_page(body)
    assert page.before == expected["before"]
    assert page.service_messages == expected["service_messages"]
    assert [as_dict(p) for p in page.posts] == expected["posts"]


def test_fixtures_cover_the_required_cases() -> None:
    assert {"channel_page", "channel_last_page", "restricted", "changed_layout"} <= set(PAGES)


@pytest.mark.parametrize(
    ("raw", "views"),
    [("845", 845), ("1.2K", 1200), ("12.3K", 12300), ("123K", 123000), ("3M", 3_000_000),
     ("1,5M", 1_500_000), (" 7 ", 7), ("", None), ("n/a", None), (None, None)],
)  # fmt: skip
def test_views(raw: str | None, views: int | None) -> None:
    assert parse_views(raw) == views


def _page(messages: str, extra: str = "") -> str:
    return (
        '<html><body><section class="tgme_channel_history js-message_history">'
        f"{extra}{messages}</section></body></html>"
    )


def _message(post: str, inner: str = "", wrap: bool = True) -> str:
    msg = (
        f'<div class="tgme_widget_message js-widget_message" data-post="{post}">{inner}'
        '<a class="tgme_widget_message_date" href="#"><time datetime="2025-01-02T03:04:05Z">'
        "03:04</time></a></div>"
    )
    return f'<div class="tgme_widget_message_wrap">{msg}</div>' if wrap else msg


def test_reply_quote_is_not_the_message_text() -> None:
    inner = (
        '<a class="tgme_widget_message_reply" href="https://t.me/c_demo/1">'
        '<div class="tgme_widget_message_text js-message_reply_text">quoted words</div></a>'
        '<div class="tgme_widget_message_text js-message_text">own words</div>'
    )
    (post,) = parse_channel_page(_page(_message("c_demo/2", inner))).posts
    assert post.text == "own words" and post.reply_to == "https://t.me/c_demo/1"


def test_source_whitespace_collapses_but_line_breaks_stay() -> None:
    inner = '<div class="tgme_widget_message_text">  one\n   two <br/> three<br>four </div>'
    (post,) = parse_channel_page(_page(_message("c_demo/2", inner))).posts
    assert post.text == "one two\nthree\nfour"


def test_cursor_falls_back_to_href_then_smallest_id() -> None:
    messages = _message("c_demo/7") + _message("c_demo/9")
    href = '<a class="tme_messages_more" data-before="" href="/s/c_demo?before=6"></a>'
    assert parse_channel_page(_page(messages, href)).before == 6
    no_attribute = '<a class="tme_messages_more" href="/s/c_demo?before=5"></a>'
    assert parse_channel_page(_page(messages, no_attribute)).before == 5
    forward_only = '<a class="tme_messages_more" data-after="9" href="/s/c_demo?after=9"></a>'
    assert parse_channel_page(_page(messages, forward_only)).before is None
    bare = '<a class="tme_messages_more" data-before=""></a>'
    assert parse_channel_page(_page(messages, bare)).before == 7
    assert parse_channel_page(_page(messages)).before is None


@pytest.mark.parametrize(
    ("html", "message"),
    [
        (_page(_message("c_demo/2", wrap=False)), "outside any tgme_widget_message_wrap"),
        (_page('<div class="tgme_widget_message_wrap"><p>x</p></div>'), "holds no"),
        (_page(_message("c_demo")), "unreadable data-post"),
        (_page(_message("c_demo/2").replace("datetime=", "data-x=")), "no time"),
        ("<html><body><p>Service unavailable</p></body></html>", "neither messages"),
    ],
)
def test_unknown_shapes_are_layout_errors(html: str, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        parse_channel_page(html)


def test_empty_history_section_is_no_public_history() -> None:
    with pytest.raises(NoPublicHistory):
        parse_channel_page(_page(""))


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://t.me/Regional_Digest/88", "regional_digest"),
        ("https://t.me/regional_digest/88?single", "regional_digest"),
        ("https://t.me/some_person", FORWARD_USER),
        ("https://t.me/some_person/", FORWARD_USER),
        ("https://t.me/c/1234567890/88", FORWARD_HIDDEN),
        ("https://t.me/+AbCdEf123", FORWARD_HIDDEN),
        ("https://example.org/regional_digest/88", FORWARD_HIDDEN),
        (None, FORWARD_HIDDEN),
    ],
)
def test_forward_origin_names_only_public_channels(url: str | None, origin: str) -> None:
    assert Forward("A Shown Name", url).origin == origin


def test_forward_origin_of_a_page() -> None:
    public = (
        '<div class="tgme_widget_message_forwarded_from">Forwarded from <a class='
        '"tgme_widget_message_forwarded_from_name" href="https://t.me/Demo_Chan/5">Demo</a></div>'
    )
    person = (
        '<div class="tgme_widget_message_forwarded_from">Forwarded from '
        '<span class="tgme_widget_message_forwarded_from_name">Demo Person</span></div>'
    )
    page = _page(_message("c_demo/3", public) + _message("c_demo/2", person) + _message("c_demo/1"))
    posts = {p.message_id: p for p in parse_channel_page(page).posts}
    assert posts[3].forward_origin == "demo_chan"
    assert posts[2].forward_origin == FORWARD_HIDDEN
    assert posts[1].forward_origin is None


def test_edited_is_unknown_without_a_meta_span() -> None:
    def meta(text: str) -> str:
        return (
            f'<span class="tgme_widget_message_meta">{text}<a class="tgme_widget_message_date" '
            'href="#"><time datetime="2025-01-02T03:04:05Z">03:04</time></a></span>'
        )

    page = _page(
        _message("c_demo/3", meta("edited&nbsp;"))
        + _message("c_demo/2", meta(""))
        + _message("c_demo/1")
    )
    posts = {p.message_id: p.edited for p in parse_channel_page(page).posts}
    assert posts == {3: True, 2: False, 1: None}


def test_a_link_no_url_parser_can_read_is_left_out_not_a_crash() -> None:
    inner = (
        '<div class="tgme_widget_message_text">see <a href="http://[::1">this</a> and '
        '<a href="https://example.org/a">that</a></div>'
    )
    (post,) = parse_channel_page(_page(_message("c_demo/2", inner))).posts
    assert post.links == ("https://example.org/a",) and post.text == "see this and that"


def test_a_page_cut_off_before_its_end_is_unreadable_not_a_layout_change() -> None:
    from spiders.telegram.parse import Unreadable

    whole = (FIXTURES / "channel_page.html").read_bytes()
    for cut in (len(whole) // 3, len(whole) - 10):
        with pytest.raises(Unreadable, match=r"page cut off before </html> \(\d+ bytes\)"):
            parse_channel_page(whole[:cut])
    with pytest.raises(Unreadable, match="empty page"):
        parse_channel_page(b"  ")


def test_a_bogus_meta_charset_is_moot() -> None:
    page = _page(_message("c_demo/2", '<div class="tgme_widget_message_text">текст</div>'))
    page = page.replace("<html>", '<html><head><meta charset="\x08"></head>')
    (post,) = parse_channel_page(page.encode()).posts
    assert post.text == "текст"
