"""The Telegram config model: targets as people write them, invite links and searches refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from spiders.telegram.rules import TelegramRules, normalise_target


def rules(**kw: Any) -> TelegramRules:
    return TelegramRules.model_validate({"name": "tg", "platform": "telegram", **kw})


@pytest.mark.parametrize(
    "raw",
    [
        "demo_news",
        "@demo_news",
        "Demo_News",
        "t.me/demo_news",
        "https://t.me/demo_news",
        "https://t.me/s/demo_news",
        "http://www.t.me/s/demo_news/",
        "https://t.me/demo_news/4312",
        "https://telegram.me/demo_news",
        " t.me/s/demo_news?before=20 ",
    ],
)
def test_targets_normalise_to_the_bare_username(raw: str) -> None:
    assert normalise_target(raw) == "demo_news"


@pytest.mark.parametrize(
    "raw", ["+AbCdEf123", "https://t.me/+AbCdEf123", "t.me/joinchat/AbCdEf", "joinchat/AbCdEf"]
)
def test_invite_links_are_refused_clearly(raw: str) -> None:
    with pytest.raises(ValueError, match="invite link to a private chat"):
        normalise_target(raw)


@pytest.mark.parametrize("raw", ["", "ab", "1channel", "t.me/c/12345/67", "https://vk.com/x_news"])
def test_other_values_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a public Telegram channel"):
        normalise_target(raw)


def test_joinchat_prefix_of_a_username_is_not_an_invite() -> None:
    assert normalise_target("joinchatnews") == "joinchatnews"


def test_defaults_and_duplicates() -> None:
    r = rules(targets=["@Demo_News", "t.me/s/demo_news", "other_chan"])
    assert r.targets == ["demo_news", "other_chan"]
    assert r.base_url == "https://t.me"
    assert r.requests_per_second == 1.0
    assert r.max_posts_per_target is None
    assert r.secret_envs() == {}


def test_local_base_url_and_lifted_rate() -> None:
    r = rules(targets=["demo_news"], base_url="http://127.0.0.1:8766/", requests_per_second=0)
    assert r.base_url == "http://127.0.0.1:8766" and r.requests_per_second == 0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"targets": ["demo_news"], "searches": ["ИГИЛ"]}, "do not support `searches`"),
        ({"targets": []}, "needs `targets`"),
        ({"targets": ["demo_news"], "base_url": "t.me"}, "not an http"),
        ({"targets": ["demo_news"], "base_url": "https://t.me/s/x"}, "not an http"),
        ({"targets": ["demo_news"], "requests_per_second": -1}, "greater than or equal"),
        ({"targets": ["demo_news"], "token_env": "X"}, "Extra inputs"),
    ],
)
def test_invalid_configs_say_why(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rules(**kw)


def test_config_file_reports_each_problem_on_one_line(tmp_path: Any) -> None:
    from crawler.config import parse_config
    from crawler.errors import ConfigError

    text = (
        "project: x\nsources:\n"
        "  - {name: a, platform: telegram, targets: ['t.me/+abc']}\n"
        "  - {name: b, platform: telegram, targets: [demo_news], searches: [news]}\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text, tmp_path / "p.yaml")
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert "sources.0.targets" in lines[0] and "invite link" in lines[0]
    assert "sources.1" in lines[1] and "`searches`" in lines[1]
