"""Imported rows get the key the platform's spider gives the same post (crawler.post_keys)."""

from __future__ import annotations

import pytest

from crawler.post_keys import KeyProblem, import_key, stored_id
from spiders.telegram.parse import TelegramPost
from spiders.vk.parse import parse_post


@pytest.mark.parametrize(
    ("raw", "target", "url", "key", "implied"),
    [
        ("Chan_1/77", None, None, "chan_1/77", "Chan_1"),
        ("https://t.me/s/chan_1/77", None, None, "chan_1/77", "chan_1"),
        ("t.me/chan_1/077", None, None, "chan_1/77", "chan_1"),
        ("77", "@chan_1", None, "chan_1/77", "chan_1"),
        ("77", "https://t.me/s/chan_1", None, "chan_1/77", "chan_1"),
        ("77", None, "https://t.me/chan_1/77", "chan_1/77", "chan_1"),
        ("chan_1/77", "chan_1", None, "chan_1/77", "chan_1"),
    ],
)
def test_telegram_keys(
    raw: str, target: str | None, url: str | None, key: str, implied: str
) -> None:
    assert import_key("telegram", raw, target, url) == (key, implied)


@pytest.mark.parametrize(
    ("raw", "target", "url", "reason"),
    [
        ("77", None, None, "message 77 has no channel"),
        ("77", None, "https://t.me/chan_1/78", "message 77 has no channel"),  # another message
        ("a_chan/77", "b_chan", None, "which channel is it"),
        ("chan/x", None, None, "is not a Telegram message id"),
    ],
)
def test_ambiguous_telegram_rows_are_refused(
    raw: str, target: str | None, url: str | None, reason: str
) -> None:
    with pytest.raises(KeyProblem, match=reason):
        import_key("telegram", raw, target, url)


@pytest.mark.parametrize(
    ("raw", "target", "url", "key"),
    [
        ("-123_456", None, None, "-123_456"),
        ("wall-123_456", None, None, "-123_456"),
        ("https://vk.com/wall-123_456", None, None, "-123_456"),
        ("https://vk.com/club123?w=wall-123_456", None, None, "-123_456"),
        ("456", "club123", None, "-123_456"),
        ("456", "-123", None, "-123_456"),
        ("456", "123", None, "-123_456"),  # a bare number is a community, as in crawl targets
        ("456", None, "https://vk.com/wall-123_456", "-123_456"),
    ],
)
def test_vk_keys(raw: str, target: str | None, url: str | None, key: str) -> None:
    assert import_key("vk", raw, target, url)[0] == key


def test_vk_rows_without_a_wall_are_refused() -> None:
    with pytest.raises(KeyProblem, match="screen name"):
        import_key("vk", "456", "durov", None)
    with pytest.raises(KeyProblem, match="no target names its wall"):
        import_key("vk", "456", None, None)
    with pytest.raises(KeyProblem, match="which wall is it"):
        import_key("vk", "-1_456", "club2", None)


def test_ok_and_web_and_other_keys() -> None:
    assert import_key("ok", "456", None, None) == ("456", None)
    assert import_key("ok", "555/456", None, None) == ("456", None)
    assert import_key("ok", "https://ok.ru/group/555/topic/456", None, None) == ("456", None)
    url = "HTTPS://Example.ORG/a?utm_source=x&id=3#top"
    assert import_key("web", url, None, None) == ("https://example.org/a?id=3", None)
    assert import_key("web", "tag:example.org,2025:1", None, None)[0] == "tag:example.org,2025:1"
    assert import_key("web", "12", "https://example.org/feed.xml", None)[0] == "example.org#12"
    long = "https://example.org/" + "a" * 200
    assert import_key("web", long, None, None)[0] == stored_id(long)
    with pytest.raises(KeyProblem, match="only within its site"):
        import_key("web", "12", None, None)
    assert import_key("twitter", "1234", None, None) == ("1234", None)


def test_spiders_build_the_same_keys() -> None:
    vk = parse_post({"owner_id": -123, "id": 456, "date": 1735700000})
    assert vk.post_id == import_key("vk", "456", "club123", None)[0]
    tg = TelegramPost.__new__(TelegramPost)
    object.__setattr__(tg, "channel", "Chan_1")
    object.__setattr__(tg, "message_id", 77)
    assert tg.post_id == import_key("telegram", "77", "chan_1", None)[0] == "chan_1/77"


def test_long_targets_are_not_kept_in_the_channel_cache() -> None:
    """Channels are cached (an import asks for the same few on every row), but a hostile
    file's distinct long targets are not kept: memory stays bounded whatever the rows hold."""
    from crawler import post_keys

    before = post_keys._channel_in.cache_info().currsize
    for n in range(50):
        assert post_keys.telegram_channel(f"t.me/{'x' * 5000}{n}") == f"{'x' * 5000}{n}"
    assert post_keys._channel_in.cache_info().currsize == before
    assert post_keys.telegram_channel("  https://t.me/s/Some_Channel  ") == "Some_Channel"
