"""VK parsers on fixture files, each paired with what it must produce."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spiders.vk.parse import (
    Action,
    LayoutError,
    Unreadable,
    VKApiError,
    action_for,
    parse_envelope,
    parse_groups,
    parse_post,
    parse_resolved,
    parse_search,
    parse_wall,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "vk"


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_wall_matches_expected_items() -> None:
    page = parse_wall(parse_envelope(body("wall_get.json")))
    expected = json.loads(body("wall_get.expected.json"))
    assert page.count == expected["count"]
    got = [
        {
            "post_id": p.post_id,
            "author_id": p.author_id,
            "published_at": p.published_at.isoformat(),
            "text": p.text,
            "repost_text": p.repost_text,
            "is_repost": p.is_repost,
            "is_pinned": p.is_pinned,
            "edited": p.edited,
            "is_promo": p.is_promo,
            "views": p.views,
            "likes": p.likes,
            "reposts": p.reposts,
            "comments": p.comments,
            "attachments": list(p.attachments),
            "url": p.url,
        }
        for p in page.posts
    ]
    assert got == expected["posts"]


def test_groups_accepts_5199_and_legacy_shapes() -> None:
    groups = parse_groups(parse_envelope(body("groups_getById.json")))
    assert [g.id for g in groups] == [5550001, 5550002, 5550003]
    assert groups[0].inaccessible_reason is None
    assert "closed" in (groups[1].inaccessible_reason or "")
    assert "deleted" in (groups[2].inaccessible_reason or "")
    legacy = parse_groups(parse_envelope(body("groups_getById_legacy.json")))
    assert [g.screen_name for g in legacy] == ["demo_news_1"]


def test_resolve_unknown_name_is_empty_list() -> None:
    assert parse_resolved(parse_envelope(body("resolve_unknown.json"))) is None
    assert parse_resolved(parse_envelope(body("resolve_group.json"))) == ("page", 5550001)


def test_search_pages_until_next_from_missing() -> None:
    first = parse_search(parse_envelope(body("newsfeed_search.json")))
    assert first.next_from == "5/-5550007_501"
    assert first.posts[0].post_id == "-5550007_501"
    last = parse_search(parse_envelope(body("newsfeed_search_last.json")))
    assert last.next_from is None and last.posts == []


def test_errors_become_actions() -> None:
    with pytest.raises(VKApiError) as captcha:
        parse_envelope(body("error_captcha.json"))
    assert captcha.value.code == 14 and captcha.value.action is Action.PARK_TOKEN
    with pytest.raises(VKApiError) as closed:
        parse_envelope(body("error_wall_closed.json"))
    assert closed.value.action is Action.INACCESSIBLE
    assert "members" in closed.value.message


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (6, Action.RETRY_SOON),
        (10, Action.RETRY_BACKOFF),
        (9, Action.STOP_METHOD),
        (29, Action.STOP_METHOD),
        (5, Action.STOP_SOURCE),
        (14, Action.PARK_TOKEN),
        (15, Action.INACCESSIBLE),
        (18, Action.INACCESSIBLE),
        (30, Action.INACCESSIBLE),
        (100, Action.INACCESSIBLE),
        (113, Action.INACCESSIBLE),
        (8, Action.ERROR),
    ],
)
def test_error_table(code: int, action: Action) -> None:
    assert action_for(code) is action


def test_changed_layout_is_reported_not_crashed() -> None:
    with pytest.raises(LayoutError, match="neither"):
        parse_envelope(body("changed_layout.json"))
    with pytest.raises(LayoutError, match="items"):
        parse_wall({"count": 3})
    with pytest.raises(LayoutError, match="not a JSON object"):
        parse_envelope(b"[1, 2]")


def test_a_body_cut_off_or_not_json_is_unreadable_not_a_layout_change() -> None:
    whole = body("wall_get.json")
    for cut in (len(whole) // 3, len(whole) - 2):
        with pytest.raises(Unreadable, match=r"not whole JSON \(cut off\?"):
            parse_envelope(whole[:cut])
    with pytest.raises(Unreadable, match=r"not JSON .*maintenance"):
        parse_envelope(b"<html>maintenance</html>")
    with pytest.raises(Unreadable, match="empty answer"):
        parse_envelope(b"")


def test_one_odd_post_is_skipped_with_its_reason_not_the_page() -> None:
    good = {"owner_id": -1, "id": 5, "date": 1740990000, "text": "t"}
    page = parse_wall(
        {"count": 4, "items": [{**good, "id": 6, "date": 10**20}, good, {"id": 7}, "x"]}
    )
    assert [p.post_id for p in page.posts] == ["-1_5"]
    assert page.shown == 4  # the next page starts after every item, posts or not
    assert page.skipped[0] == "post -1_6: date 100000000000000000000 is beyond the calendar"
    assert page.skipped[1].startswith("item 3: post lacks owner_id/id/date")
    assert page.skipped[2] == "item 4 is not a JSON object"
    # A page none of whose items has the fields of a post: the layout changed.
    with pytest.raises(LayoutError, match="lacks owner_id/id/date"):
        parse_wall({"count": 1, "items": [{"post": 1}]})
    # Only dates beyond the calendar: skipped, and paging goes on.
    assert parse_wall({"count": 9, "items": [{**good, "date": -(10**15)}]}).posts == []


def test_edited_and_advertising_flags() -> None:
    base = {"owner_id": -1, "id": 5, "date": 1740990000, "text": "t"}
    assert parse_post(base).edited is False and parse_post(base).is_promo is None
    edited = parse_post({**base, "edited": 1740999999, "marked_as_ads": 0})
    assert edited.edited is True and edited.is_promo is False
    assert parse_post({**base, "marked_as_ads": 1}).is_promo is True
    assert parse_post({**base, "post_type": "post_ads"}).is_promo is True
