"""OK parsers on fixture files, each paired with what it must produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spiders.ok.parse import (
    Action,
    LayoutError,
    OKApiError,
    OKGroup,
    OKTopic,
    Unreadable,
    action_for,
    parse_envelope,
    parse_groups,
    parse_topic,
    parse_topics,
    parse_url_info,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ok"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in FIXTURES.glob("*.expected.json"))


def topic_dict(t: OKTopic) -> dict[str, Any]:
    return {
        "id": t.id,
        "group_id": t.group_id,
        "author": t.author,
        "published_at": t.published_at.isoformat(),
        "text": t.text,
        "is_sticky": t.is_sticky,
        "is_promo": t.is_promo,
        "is_reshare": t.is_reshare,
        "likes": t.likes,
        "comments": t.comments,
        "reshares": t.reshares,
        "views": t.views,
        "media_types": list(t.media_types),
        "url": t.url,
    }


def group_dict(g: OKGroup) -> dict[str, Any]:
    return {
        "uid": g.uid,
        "name": g.name,
        "shortname": g.shortname,
        "access_type": g.access_type,
        "inaccessible_reason": g.inaccessible_reason,
    }


def test_every_fixture_has_a_parse_test() -> None:
    assert len(NAMES) >= 12
    for name in NAMES:
        assert (FIXTURES / f"{name}.json").is_file(), name


@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_expected(name: str) -> None:
    body = (FIXTURES / f"{name}.json").read_bytes()
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text(encoding="utf-8"))
    if name.startswith("error_"):
        with pytest.raises(OKApiError) as err:
            parse_envelope(body)
        got: Any = {
            "code": err.value.code,
            "message": err.value.message,
            "action": err.value.action.value,
        }
    elif name == "changed_layout":
        with pytest.raises(LayoutError) as layout:
            parse_topics(parse_envelope(body))
        assert expected["layout_error"] in str(layout.value)
        return
    elif name.startswith("topics_"):
        page = parse_topics(parse_envelope(body))
        got = {
            "anchor": page.anchor,
            "has_more": page.has_more,
            "topics": [topic_dict(t) for t in page.topics],
        }
    elif name.startswith("group_info"):
        got = {"groups": [group_dict(g) for g in parse_groups(parse_envelope(body))]}
    elif name.startswith("url_info"):
        resolved = parse_url_info(parse_envelope(body))
        got = {"resolved": list(resolved) if resolved else None}
    else:
        raise AssertionError(f"no parser for fixture {name}")
    assert got == expected


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (1, Action.RETRY),
        (2, Action.RETRY),
        (9999, Action.RETRY),
        (7, Action.PARK_KEY),
        (8, Action.PARK_KEY),
        (9, Action.PARK_KEY),
        (11, Action.PARK_KEY),
        (402, Action.PARK_KEY),
        (3, Action.STOP_SOURCE),
        (101, Action.STOP_SOURCE),
        (102, Action.STOP_SOURCE),
        (103, Action.STOP_SOURCE),
        (104, Action.STOP_SOURCE),
        (105, Action.STOP_SOURCE),
        (210, Action.STOP_SOURCE),
        (453, Action.STOP_SOURCE),
        (10, Action.INACCESSIBLE),
        (200, Action.INACCESSIBLE),
        (300, Action.INACCESSIBLE),
        (4, Action.ERROR),
        (100, Action.ERROR),
        (12345, Action.ERROR),
    ],
)
def test_error_table(code: int, action: Action) -> None:
    assert action_for(code) is action


def test_error_with_a_non_2xx_status_keeps_the_status() -> None:
    with pytest.raises(OKApiError) as err:
        parse_envelope(b'{"error_code": 10, "error_msg": "PERMISSION_DENIED : no"}', status=403)
    assert err.value.status == 403 and err.value.action is Action.INACCESSIBLE
    assert str(err.value) == "OK error 10: PERMISSION_DENIED : no"


def test_bodies_that_are_not_whole_json_are_unreadable_not_a_layout_change() -> None:
    with pytest.raises(Unreadable, match=r"not JSON .*maintenance"):
        parse_envelope(b"<html>maintenance</html>")
    whole = (FIXTURES / "topics_page.json").read_bytes()
    with pytest.raises(Unreadable, match="not whole JSON"):
        parse_envelope(whole[: len(whole) // 2])  # cut off on the way
    with pytest.raises(Unreadable, match="empty"):
        parse_envelope(b"")


def test_one_topic_beyond_the_calendar_is_skipped_not_the_page() -> None:
    good = {"id": "1", "created_ms": 1_740_000_000_000}
    page = parse_topics({"media_topics": [{"id": "2", "created_ms": 10**20}, good]})
    assert [t.id for t in page.topics] == ["1"]
    assert page.skipped == ["topic 2: created_ms 100000000000000000000 is beyond the calendar"]
    # One topic without its id beside good ones is skipped too; a page of none is a layout change.
    page = parse_topics({"media_topics": [{"created_ms": 1}, good]})
    assert [t.id for t in page.topics] == ["1"] and page.skipped == [
        "item 1: media topic lacks `id`"
    ]
    with pytest.raises(LayoutError, match="`id`"):
        parse_topics({"media_topics": [{"created_ms": 1}]})


def test_wrong_shapes_are_layout_errors_not_empty_pages() -> None:
    with pytest.raises(LayoutError, match="not a JSON object"):
        parse_topics([])
    with pytest.raises(LayoutError, match="no `anchor`"):
        parse_topics({"media_topics": [], "has_more": True})
    with pytest.raises(LayoutError, match="created_ms"):
        parse_topic({"id": "1", "created_ms": "yesterday"})
    with pytest.raises(LayoutError, match="`id`"):
        parse_topic({"created_ms": 1})
    with pytest.raises(LayoutError, match="list of groups"):
        parse_groups({"group": {}})
    with pytest.raises(LayoutError):
        parse_url_info([])


def test_unknown_url_and_a_topic_without_group_owner() -> None:
    assert parse_url_info({"type": "UNKNOWN"}) is None
    assert parse_url_info({"objectId": 0, "type": "GROUP"}) is None
    topic = parse_topic({"id": "5", "created_ms": 0, "owner_ref": "user:9", "author_ref": "bad"})
    assert topic.group_id is None and topic.url is None and topic.author is None


def test_an_anchor_without_has_more_continues_only_with_topics() -> None:
    assert parse_topics({"media_topics": [], "anchor": "abc"}).has_more is False
