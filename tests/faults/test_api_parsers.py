"""VK and OK parsers on hostile input: arbitrary JSON, and real answers mutated or cut off.

Whatever the body, a parser returns its page or raises one of its own errors (an API error, an
unreadable body, a changed layout), and every item of a page is either a post or a skipped item
with its reason: no exception escapes, no item goes missing silently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from spiders.ok import parse as ok
from spiders.vk import parse as vk
from tests.faults.strategies import (
    BOUNDED,
    bodies,
    encoded,
    fails_only_with,
    fixture,
    hostile_values,
    json_values,
    mutated_json,
)

VK_FIXTURES = ["wall_get.json", "newsfeed_search.json", "groups_getById.json", "resolve_group.json",
               "groups_getById_legacy.json", "error_captcha.json", "changed_layout.json"]  # fmt: skip
OK_FIXTURES = ["topics_page.json", "topics_last.json", "group_info.json", "group_info_wrapped.json",
               "url_info.json", "error_service.json", "changed_layout.json"]  # fmt: skip
POST_KEYS = ["owner_id", "id", "date", "from_id", "text", "copy_history", "attachments", "views",
             "likes", "is_pinned", "edited", "marked_as_ads", "post_type", "items", "count"]  # fmt: skip
TOPIC_KEYS = ["id", "created_ms", "media", "author_ref", "owner_ref", "like_summary", "has_more",
              "anchor", "media_topics", "is_sticky", "views_summary", "uid", "access_type"]  # fmt: skip


def vk_body(name: str) -> Any:
    return json.loads(fixture("vk", name))


def ok_body(name: str) -> Any:
    return json.loads(fixture("ok", name))


def check_vk_post(post: vk.VKPost) -> None:
    assert isinstance(post.post_id, str) and isinstance(post.text, str)
    assert isinstance(post.published_at, datetime) and post.published_at.tzinfo is UTC
    for count in (post.views, post.likes, post.reposts, post.comments):
        assert count is None or isinstance(count, int)


def read_vk(response: Any) -> None:
    """Every VK reader on one decoded `response`: a page, or LayoutError."""
    wall = fails_only_with(lambda: vk.parse_wall(response), vk.LayoutError)
    if wall is not None:
        assert len(wall.posts) + len(wall.skipped) == wall.shown == len(response["items"])
        assert all(isinstance(r, str) and r for r in wall.skipped)
        for post in wall.posts:
            check_vk_post(post)
    search = fails_only_with(lambda: vk.parse_search(response), vk.LayoutError)
    if search is not None:
        for post in search.posts:
            check_vk_post(post)
        assert search.next_from is None or isinstance(search.next_from, str)
    groups = fails_only_with(lambda: vk.parse_groups(response), vk.LayoutError)
    for group in groups or []:
        assert group.is_closed in (0, 1, 2)
        assert group.inaccessible_reason is None or isinstance(group.inaccessible_reason, str)
    resolved = vk.parse_resolved(response)
    assert resolved is None or isinstance(resolved[1], int)


@BOUNDED
@given(st.data())
def test_vk_bodies_mutated_or_cut_off_are_read_or_reported(data: st.DataObject) -> None:
    body = data.draw(bodies(fixture("vk", data.draw(st.sampled_from(VK_FIXTURES)))))
    try:
        response = vk.parse_envelope(body)
    except vk.VKApiError as err:
        assert isinstance(err.code, int) and isinstance(err.action, vk.Action)
        return
    except (vk.Unreadable, vk.LayoutError) as exc:
        assert str(exc)
        return
    read_vk(response)


@BOUNDED
@given(st.data())
def test_vk_answers_with_values_of_any_type_are_read_or_reported(data: st.DataObject) -> None:
    original = vk_body(data.draw(st.sampled_from(VK_FIXTURES)))
    body = data.draw(encoded(st.one_of(mutated_json(original, POST_KEYS), json_values)))
    try:
        response = vk.parse_envelope(body)
    except (vk.VKApiError, vk.Unreadable, vk.LayoutError):
        return
    read_vk(response)


def test_vk_a_body_cut_off_anywhere_is_unreadable_never_a_layout_change() -> None:
    whole = fixture("vk", "wall_get.json")
    for cut in range(0, len(whole) - 1, 7):
        try:
            vk.parse_envelope(whole[:cut])
        except vk.Unreadable:
            continue
        raise AssertionError(f"a body cut at {cut} of {len(whole)} bytes was read")


def check_ok_topic(topic: ok.OKTopic) -> None:
    assert isinstance(topic.id, str) and topic.id and isinstance(topic.text, str)
    assert topic.published_at.tzinfo is UTC  # computed on demand: must not overflow
    assert topic.url is None or topic.url.startswith("https://ok.ru/group/")
    assert topic.author is None or ":" in topic.author


def read_ok(data: Any) -> None:
    """Every OK reader on one decoded answer: a page, or LayoutError."""
    page = fails_only_with(lambda: ok.parse_topics(data), ok.LayoutError)
    if page is not None:
        items = data.get("media_topics") or []
        assert len(page.topics) + len(page.skipped) == len(items)
        assert page.anchor is not None or not page.has_more
        for topic in page.topics:
            check_ok_topic(topic)
    for group in fails_only_with(lambda: ok.parse_groups(data), ok.LayoutError) or []:
        assert group.uid and (group.inaccessible_reason is None or group.inaccessible_reason)
    info = fails_only_with(lambda: ok.parse_url_info(data), ok.LayoutError)
    assert info is None or (isinstance(info[0], str) and isinstance(info[1], str))


@BOUNDED
@given(st.data())
def test_ok_bodies_mutated_or_cut_off_are_read_or_reported(data: st.DataObject) -> None:
    body = data.draw(bodies(fixture("ok", data.draw(st.sampled_from(OK_FIXTURES)))))
    status = data.draw(st.sampled_from([200, 200, 400, 403]))
    try:
        answer = ok.parse_envelope(body, status)
    except ok.OKApiError as err:
        assert isinstance(err.code, int) and isinstance(err.action, ok.Action)
        return
    except ok.Unreadable as exc:
        assert str(exc)
        return
    read_ok(answer)


@BOUNDED
@given(st.data())
def test_ok_answers_with_values_of_any_type_are_read_or_reported(data: st.DataObject) -> None:
    original = ok_body(data.draw(st.sampled_from(OK_FIXTURES)))
    body = data.draw(encoded(st.one_of(mutated_json(original, TOPIC_KEYS), json_values)))
    try:
        answer = ok.parse_envelope(body)
    except (ok.OKApiError, ok.Unreadable):
        return
    read_ok(answer)


def with_values(real: list[dict[str, Any]], keys: list[str]) -> st.SearchStrategy[Any]:
    """A real item with one to three of its fields (or `keys`) set to a hostile value."""

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        item = dict(draw(st.sampled_from(real)))
        for key in draw(st.lists(st.sampled_from(sorted({*item, *keys})), min_size=1, max_size=3)):
            item[key] = draw(hostile_values)
        return item

    return st.one_of(build(), st.dictionaries(st.sampled_from(keys), json_values, max_size=8))


REAL_TOPICS = ok_body("topics_page.json")["media_topics"]
REAL_POSTS = vk_body("wall_get.json")["response"]["items"]


@BOUNDED
@given(with_values(REAL_TOPICS, TOPIC_KEYS))
def test_ok_one_topic_of_any_shape_is_a_topic_or_a_reason(raw: dict[str, Any]) -> None:
    try:
        check_ok_topic(ok.parse_topic(raw))
    except (ok.LayoutError, ok.BadTopic) as exc:
        assert str(exc)


@BOUNDED
@given(with_values(REAL_POSTS, POST_KEYS))
def test_vk_one_post_of_any_shape_is_a_post_or_a_reason(raw: dict[str, Any]) -> None:
    try:
        check_vk_post(vk.parse_post(raw))
    except (vk.LayoutError, vk.BadPost) as exc:
        assert str(exc)
