"""The OK config model: targets normalised, secrets only as env var names, sane limits."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from spiders.ok.rules import OKRules, normalise_target


def rules(**kw: Any) -> OKRules:
    return OKRules.model_validate({"name": "ok-test", "platform": "ok", **kw})


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("57000000000001", "57000000000001"),
        (" 57000000000001 ", "57000000000001"),
        ("https://ok.ru/group/57000000000001", "57000000000001"),
        ("https://ok.ru/group57000000000001/", "57000000000001"),
        ("ok.ru/group/57000000000001/topics", "57000000000001"),
        ("https://m.ok.ru/group/57000000000001?utm=x", "57000000000001"),
        ("https://www.odnoklassniki.ru/group/57000000000001", "57000000000001"),
        ("ok.ru/demo.news1", "demo.news1"),
        ("https://ok.ru/demo.news1/", "demo.news1"),
        ("demo_news", "demo_news"),
    ],
)
def test_targets_are_normalised(raw: str, stored: str) -> None:
    assert normalise_target(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "https://ok.ru/profile/575000007919",
        "https://ok.ru/group",
        "https://ok.ru/dk",
        "https://vk.com/club1",
        "-57000000000001",
        "группа новостей",
        "",
    ],
)
def test_bad_targets_are_rejected_with_a_hint(raw: str) -> None:
    with pytest.raises(ValueError, match="OK group"):
        normalise_target(raw)


def test_defaults_and_yaml_numbers() -> None:
    r = rules(targets=[57000000000001, "https://ok.ru/group/57000000000001", "demo.news1"])
    assert r.targets == ["57000000000001", "demo.news1"]  # duplicates dropped, order kept
    assert r.api_base == "https://api.ok.ru/fb.do"
    assert r.requests_per_second == 1.0 and r.page_size == 50
    assert (r.app_key_env, r.app_secret_env, r.token_env) == (
        "OK_APP_KEY",
        "OK_APP_SECRET",
        "OK_TOKEN",
    )
    assert set(r.secret_envs()) == {"OK_APP_KEY", "OK_APP_SECRET", "OK_TOKEN"}
    assert all("ok-test" in holds for holds in r.secret_envs().values())


def test_local_api_base_and_no_rate_limit() -> None:
    r = rules(targets=["1"], api_base="http://127.0.0.1:8765/fb.do/", requests_per_second=0)
    assert r.api_base == "http://127.0.0.1:8765/fb.do" and r.requests_per_second == 0


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"token_env": "tkn-abc123secret"}, "never the token itself"),
        ({"app_secret_env": "a1b2c3"}, "never the secret key itself"),
        ({"app_key_env": "OK_TOKEN"}, "three different variables"),
        ({"api_base": "https://api.ok.ru/"}, "fb.do"),
        ({"searches": ["ИГИЛ"]}, "no keyword search"),
        ({"targets": []}, "needs `targets`"),
        ({"page_size": 500}, None),
        ({"requests_per_second": -1}, None),
        ({"rate": 3}, None),
    ],
)
def test_invalid_settings(kw: dict[str, Any], needle: str | None) -> None:
    settings = {"targets": ["57000000000001"], **kw}
    with pytest.raises(ValidationError) as err:
        rules(**settings)
    if needle:
        assert needle in str(err.value)
