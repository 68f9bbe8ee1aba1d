"""The local fake OK REST API: signature checks, anchor paging, gates, error injection, CLI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from spiders.fakes.ok import FakeOK
from spiders.fakes.ok_data import MISSING_GROUP_ID, ErrorRule, Scenario, synthetic_scenario
from spiders.ok.signing import signed_params

KEY, SECRET, TOKEN = "CBATEST", "test-secret-0123", "test-token-abcdef"


@pytest.fixture
def scenario() -> Scenario:
    return synthetic_scenario(groups=3, topics_per_group=130, seed=3, closed=1, with_errors=False)


@pytest.fixture
def fake(scenario: Scenario) -> Iterator[FakeOK]:
    with FakeOK(scenario, app_key=KEY, app_secret=SECRET, token=TOKEN) as server:
        yield server


@pytest.fixture
def client(fake: FakeOK) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def call(
    c: httpx.Client, fake: FakeOK, method: str, *, secret: str = SECRET, **params: Any
) -> tuple[int, Any]:
    form = signed_params(
        {"method": method, **params}, application_key=KEY, access_token=TOKEN, secret_key=secret
    )
    r = c.post(fake.api_base, data=form)
    json_body = r.headers["content-type"].startswith("application/json")
    return r.status_code, r.json() if json_body else r.text


def page_all(c: httpx.Client, fake: FakeOK, gid: str, count: int = 50) -> list[dict[str, Any]]:
    topics: list[dict[str, Any]] = []
    anchor = None
    for _ in range(100):
        _, page = call(c, fake, "mediatopic.getTopics", gid=gid, count=count, anchor=anchor)
        topics += page["media_topics"]
        if not page["has_more"]:
            return topics
        anchor = page["anchor"]
    raise AssertionError("paging did not end")


def test_anchor_paging_returns_every_topic_once_sticky_first(
    scenario: Scenario, fake: FakeOK, client: httpx.Client
) -> None:
    group = scenario.groups[0]
    topics = page_all(client, fake, group.uid)
    assert [t["id"] for t in topics] == [t.id for t in group.topics]
    assert len({t["id"] for t in topics}) == 130
    assert topics[0]["is_sticky"] is True and not any(t["is_sticky"] for t in topics[1:])
    times = [t["created_ms"] for t in topics[1:]]
    assert times == sorted(times, reverse=True) and topics[0]["created_ms"] < times[-1]
    assert fake.calls("mediatopic.getTopics") == 3
    assert not any(r.token_in_url for r in fake.request_log)
    assert all("access_token" not in r.params and "sig" not in r.params for r in fake.request_log)


def test_texts_are_neutral_news_and_some_name_an_organisation(scenario: Scenario) -> None:
    topics = [t for g in scenario.groups for t in g.topics]
    flagged = [t for t in topics if t.flagged]
    assert flagged and len(flagged) < len(topics) // 10
    assert {t.lang for t in topics} >= {"ru", "kk", "ky", "uz", "tg", "en"}
    assert any(t.is_promo for t in topics) and any(not t.text for t in topics)


def test_wrong_signature_key_or_token_gets_the_ok_error(fake: FakeOK, client: httpx.Client) -> None:
    gid = fake.scenario.groups[0].uid
    status, body = call(client, fake, "group.getInfo", secret="wrong", uids=gid, fields="uid")
    assert status == 200 and body["error_code"] == 104
    assert body["error_msg"].startswith("PARAM_SIGNATURE")
    form = signed_params(
        {"method": "group.getInfo", "uids": gid, "fields": "uid"},
        application_key=KEY, access_token=TOKEN, secret_key=SECRET,
    )  # fmt: skip
    tampered = {**form, "uids": "57000000000002"}  # changed after signing
    assert client.post(fake.api_base, data=tampered).json()["error_code"] == 104
    assert (
        client.post(fake.api_base, data={**form, "application_key": "X"}).json()["error_code"]
        == 101
    )
    expired = {**form, "access_token": "old-token"}
    assert client.post(fake.api_base, data=expired).json()["error_code"] == 102
    # GET with the parameters in the URL works too, and the log notes the token was there.
    assert client.get(fake.api_base, params=form).json()[0]["uid"] == gid
    assert fake.request_log[-1].token_in_url


def test_groups_gate_and_resolution(scenario: Scenario, fake: FakeOK, client: httpx.Client) -> None:
    open_, closed = scenario.groups[0], scenario.groups[-1]
    uids = f"{open_.uid},{closed.uid},{MISSING_GROUP_ID}"
    _, groups = call(client, fake, "group.getInfo", uids=uids, fields="uid,access_type")
    assert groups == [
        {"uid": open_.uid, "access_type": "OPEN"},
        {"uid": closed.uid, "access_type": "CLOSED"},
    ]
    _, info = call(client, fake, "url.getInfo", url=f"https://ok.ru/{open_.shortname}")
    assert info["objectIdStr"] == open_.uid and info["type"] == "GROUP"
    _, missing = call(client, fake, "url.getInfo", url="https://ok.ru/no.such.group")
    assert missing["error_code"] == 300
    _, denied = call(client, fake, "mediatopic.getTopics", gid=closed.uid, count=10)
    assert denied["error_code"] == 10
    _, gone = call(client, fake, "mediatopic.getTopics", gid=MISSING_GROUP_ID, count=10)
    assert gone["error_code"] == 300
    _, bad = call(client, fake, "mediatopic.getTopics", gid=open_.uid, count=10, anchor="zzz")
    assert bad["error_code"] == 100
    _, unknown = call(client, fake, "friends.get")
    assert unknown["error_code"] == 3


def test_error_injection_and_http_statuses(scenario: Scenario, client: httpx.Client) -> None:
    scenario.errors = [
        ErrorRule("mediatopic.getTopics", code=2, nth={1}),
        ErrorRule("mediatopic.getTopics", http_status=503, nth={2}),
        ErrorRule("mediatopic.getTopics", code=10, http_status=403, nth={3}),
        ErrorRule("*", code=8, nth={5}),
    ]
    with FakeOK(scenario, app_key=KEY, app_secret=SECRET, token=TOKEN) as fake:
        gid = scenario.groups[0].uid
        got = [call(client, fake, "mediatopic.getTopics", gid=gid, count=5) for _ in range(3)]
        assert got[0] == (
            200,
            {"error_code": 2, "error_msg": got[0][1]["error_msg"], "error_data": None},
        )
        assert got[1][0] == 503
        assert got[2][0] == 403 and got[2][1]["error_code"] == 10
        assert call(client, fake, "mediatopic.getTopics", gid=gid, count=5)[1]["media_topics"]
        assert call(client, fake, "group.getInfo", uids=gid, fields="uid")[1]["error_code"] == 8
        assert fake.calls("*") == 5 and fake.calls("mediatopic.getTopics") == 4
    with pytest.raises(ValueError):
        ErrorRule("x")


def test_topics_published_while_paging_appear_on_top(client: httpx.Client) -> None:
    scenario = synthetic_scenario(groups=1, topics_per_group=60, closed=0, with_errors=False,
                                  new_topics=(1, 4))  # fmt: skip
    with FakeOK(scenario, app_key=KEY, app_secret=SECRET, token=TOKEN) as fake:
        group = scenario.groups[0]
        first_ids = [t.id for t in group.topics]
        topics = page_all(client, fake, group.uid, count=25)
        # The anchor pins the position: the old topics come exactly once, the new ones later.
        assert [t["id"] for t in topics] == first_ids
        assert len(group.topics) == 64 and group.topics[0].is_sticky
        newest = group.topics[1]
        assert int(newest.id) > max(int(i) for i in first_ids)


def test_rate_limit_answers_flood_blocked(scenario: Scenario, client: httpx.Client) -> None:
    with FakeOK(scenario, app_key=KEY, app_secret=SECRET, token=TOKEN, rps_limit=2) as fake:
        gid = scenario.groups[0].uid
        codes = [call(client, fake, "group.getInfo", uids=gid, fields="uid")[1] for _ in range(3)]
        assert isinstance(codes[0], list) and codes[2]["error_code"] == 8
        assert fake.max_requests_in_window() == 3


def test_cli_prints_its_base_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "spiders.fakes.ok", "--groups", "2", "--topics", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:") and line.endswith("/fb.do")
        form = signed_params(
            {"method": "group.getInfo", "uids": "57000000000001", "fields": "uid,name"},
            application_key="demo-app-key", access_token="demo-access-token",
            secret_key="demo-app-secret",
        )  # fmt: skip
        assert httpx.post(line, data=form, timeout=5).json()[0]["name"] == "Demo News 1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode is not None
