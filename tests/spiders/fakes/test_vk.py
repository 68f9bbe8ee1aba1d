"""Tests for the local fake VK API (spiders.fakes.vk / spiders.fakes.vk_data)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from spiders.fakes.vk import FakeVK, RequestRecord
from spiders.fakes.vk_data import (
    NOW,
    ErrorRule,
    FakeCommunity,
    FakePost,
    Scenario,
    synthetic_scenario,
)

V = "5.199"


def _post(owner: int, post_id: int, date: int, text: str = "x", pinned: bool = False) -> FakePost:
    return FakePost(post_id, -owner, -owner, date, text, 10, 1, 0, 0, is_pinned=pinned)


def _wall(owner: int, n: int, **kw: Any) -> FakeCommunity:
    posts = [_post(owner, i, NOW - 1000 * (n - i)) for i in range(n, 0, -1)]
    return FakeCommunity(owner, f"c{owner}", f"Community {owner}", posts, **kw)


@pytest.fixture
def synthetic() -> Scenario:
    return synthetic_scenario(communities=4, posts_per_community=250, seed=7, with_errors=False)


@pytest.fixture
def server(synthetic: Scenario) -> Iterator[FakeVK]:
    with FakeVK(synthetic) as fake:
        yield fake


@pytest.fixture
def client(server: FakeVK) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api_base, timeout=5) as c:
        yield c


def call(c: httpx.Client, method: str, **params: Any) -> Any:
    params.setdefault("v", V)
    r = c.get(f"/{method}", params=params)
    assert r.status_code == 200
    return r.json()


def page_all(c: httpx.Client, owner_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        resp = call(c, "wall.get", owner_id=-owner_id, offset=offset, count=100)["response"]
        items += resp["items"]
        offset += 100
        if offset >= resp["count"]:
            return items


def test_paging_a_wall_returns_every_post_once(synthetic: Scenario, client: httpx.Client) -> None:
    comm = synthetic.communities[0]
    items = page_all(client, comm.id)
    assert [(i["owner_id"], i["id"]) for i in items] == [(-comm.id, p.id) for p in comm.posts]
    assert len({i["id"] for i in items}) == len(comm.posts) == 250
    assert items[0]["is_pinned"] == 1 and all("is_pinned" not in i for i in items[1:])
    regular = [i["id"] for i in items[1:]]
    assert regular == sorted(regular, reverse=True)
    first = items[1]
    assert {"id", "owner_id", "from_id", "date", "text", "likes", "reposts", "comments"} <= set(
        first
    )
    assert first["post_type"] == "post" and first["marked_as_ads"] == 0
    assert any("copy_history" in i for i in items) and any(i["text"] == "" for i in items)
    by_id = {p.id: p for p in comm.posts}
    for item in items:
        assert ("views" in item) == (by_id[item["id"]].views is not None)


def test_wall_by_domain_and_count_limits(synthetic: Scenario, client: httpx.Client) -> None:
    comm = synthetic.communities[1]
    resp = call(client, "wall.get", domain=comm.screen_name, count=3)["response"]
    assert resp["count"] == 250 and [i["id"] for i in resp["items"]] == [
        p.id for p in comm.posts[:3]
    ]
    assert len(call(client, "wall.get", owner_id=-comm.id)["response"]["items"]) == 20
    ext = call(client, "wall.get", owner_id=-comm.id, count=1, extended=1)["response"]
    assert ext["profiles"] == [] and [g["id"] for g in ext["groups"]] == [comm.id]
    assert ext["count"] == 250 and len(ext["items"]) == 1
    assert call(client, "wall.get", owner_id=-comm.id, count=101)["error"]["error_code"] == 100
    assert call(client, "wall.get", owner_id=-999)["error"]["error_code"] == 100
    past_end = call(client, "wall.get", owner_id=-comm.id, offset=1000, count=100)
    assert past_end["response"] == {"count": 250, "items": []}


def test_closed_and_deleted_communities(synthetic: Scenario, client: httpx.Client) -> None:
    deleted, closed = synthetic.communities[-2], synthetic.communities[-1]
    assert deleted.deactivated == "deleted" and closed.is_closed == 1
    err = call(client, "wall.get", owner_id=-closed.id, access_token="tok")["error"]
    assert err["error_code"] == 15
    assert err["error_msg"] == "Access denied: this wall available only for community members"
    assert {"key": "owner_id", "value": str(-closed.id)} in err["request_params"]
    assert all(p["key"] != "access_token" for p in err["request_params"])
    assert call(client, "wall.get", owner_id=-deleted.id)["error"]["error_code"] == 18


def test_resolve_screen_name(synthetic: Scenario, client: httpx.Client) -> None:
    comm = synthetic.communities[0]
    assert call(client, "utils.resolveScreenName", screen_name=comm.screen_name)["response"] == {
        "object_id": comm.id,
        "type": "group",
    }
    assert call(client, "utils.resolveScreenName", screen_name="no_such_name")["response"] == []


def test_groups_get_by_id_shape(synthetic: Scenario, client: httpx.Client) -> None:
    c0, deleted, closed = synthetic.communities[0], *synthetic.communities[-2:]
    ids = f"{c0.id},{deleted.screen_name},{closed.id},unknown_name"
    resp = call(client, "groups.getById", group_ids=ids)["response"]
    assert set(resp) == {"groups", "profiles"} and resp["profiles"] == []
    groups = resp["groups"]
    assert [g["id"] for g in groups] == [c0.id, deleted.id, closed.id]
    assert groups[0] == {
        "id": c0.id,
        "name": c0.name,
        "screen_name": c0.screen_name,
        "is_closed": 0,
        "type": "page",
    }
    assert groups[1]["deactivated"] == "deleted" and groups[2]["is_closed"] == 1
    single = call(client, "groups.getById", group_id=c0.screen_name)["response"]["groups"]
    assert [g["id"] for g in single] == [c0.id]
    err = call(client, "groups.getById", group_ids="nobody,12345")["error"]
    assert err["error_code"] == 100 and "group_ids is undefined" in err["error_msg"]


def test_error_injection_on_nth_call() -> None:
    rules = [
        ErrorRule("wall.get", code=6, nth={2, 4}),
        ErrorRule("wall.get", http_status=503, nth=[3]),
        ErrorRule("groups.getById", http_status=429, nth={1}),
        ErrorRule("*", code=10, nth={9}),
    ]
    with FakeVK(Scenario([_wall(1, 5)], rules)) as fake, httpx.Client(base_url=fake.api_base) as c:
        outcomes = []
        for _ in range(5):
            r = c.get("/wall.get", params={"owner_id": -1, "v": V})
            body = r.json() if r.status_code == 200 else None
            outcomes.append(
                body["error"]["error_code"] if body and "error" in body else r.status_code
            )
        assert outcomes == [200, 6, 503, 6, 200]
        r = c.get("/groups.getById", params={"group_ids": "1", "v": V})
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        assert "response" in call(c, "groups.getById", group_ids="1")
        assert call(c, "utils.resolveScreenName", screen_name="c1")["response"]["object_id"] == 1
        assert call(c, "utils.resolveScreenName", screen_name="c1")["error"]["error_code"] == 10
        assert fake.calls("wall.get") == 5 and fake.calls("groups.getById") == 2
        assert fake.calls("*") == 9 and fake.calls("wall.getById") == 0


def test_new_posts_after_call_shifts_offsets() -> None:
    comm = _wall(1, 10, new_posts_after_call=(1, 3))
    comm.posts.insert(0, _post(1, 100, NOW - 10**7, pinned=True))  # old pinned post (highest id)
    with FakeVK(Scenario([comm])) as fake, httpx.Client(base_url=fake.api_base) as c:
        first = call(c, "wall.get", owner_id=-1, offset=0, count=5)["response"]
        assert first["count"] == 11
        assert [i["id"] for i in first["items"]] == [100, 10, 9, 8, 7]
        second = call(c, "wall.get", owner_id=-1, offset=5, count=5)["response"]
        assert second["count"] == 14
        assert [i["id"] for i in second["items"]] == [9, 8, 7, 6, 5]  # shifted by 3
        top = call(c, "wall.get", owner_id=-1, count=4)["response"]["items"]
        assert [i["id"] for i in top] == [100, 103, 102, 101]
        assert top[1]["date"] > top[2]["date"] > top[3]["date"] > NOW - 1000
        assert call(c, "wall.get", owner_id=-1, count=1)["response"]["count"] == 14  # once only


def test_newsfeed_search_paging() -> None:
    posts = [_post(7, i, NOW - 3600 * i, text=f"hit {i}") for i in range(1, 8)]
    posts.append(_post(7, 50, NOW - 90000, text="older than 24h"))
    scenario = Scenario([_wall(7, 3)], search_posts={"hit": posts})
    with FakeVK(scenario) as fake, httpx.Client(base_url=fake.api_base) as c:
        seen: list[int] = []
        pages = 0
        params: dict[str, Any] = {"q": "hit", "start_time": NOW - 10**6, "count": 3}
        while True:
            resp = call(c, "newsfeed.search", **params)["response"]
            pages += 1
            assert resp["count"] == resp["total_count"] == 8
            seen += [i["id"] for i in resp["items"]]
            if "next_from" not in resp:
                break
            params["start_from"] = resp["next_from"]
        assert pages == 3 and seen == [1, 2, 3, 4, 5, 6, 7, 50]
        default_window = call(c, "newsfeed.search", q="hit")["response"]  # last 24 h only
        assert [i["id"] for i in default_window["items"]] == [1, 2, 3, 4, 5, 6, 7]
        assert "next_from" not in default_window
        windowed = call(c, "newsfeed.search", q="hit", start_time=NOW - 3 * 3600, end_time=NOW)
        assert [i["id"] for i in windowed["response"]["items"]] == [1, 2, 3]
        assert call(c, "newsfeed.search", q="nothing")["response"]["items"] == []


def test_token_check_version_and_unknown_method() -> None:
    with FakeVK(Scenario([_wall(1, 2)]), token="secret") as fake:
        with httpx.Client(base_url=fake.api_base) as c:
            assert call(c, "wall.get", owner_id=-1)["error"]["error_code"] == 5
            bad = call(c, "wall.get", owner_id=-1, access_token="wrong")["error"]
            assert bad["error_code"] == 5
            assert bad["error_msg"] == "User authorization failed: invalid access_token"
            assert "wrong" not in str(bad["request_params"])
            ok = call(c, "wall.get", owner_id=-1, access_token="secret")
            assert ok["response"]["count"] == 2
            hdr = {"Authorization": "Bearer secret"}
            r = c.get("/wall.get", params={"owner_id": -1, "v": V}, headers=hdr)
            assert r.json()["response"]["count"] == 2
            assert int(r.headers["Content-Length"]) == len(r.content)
            r = c.post("/wall.get", data={"owner_id": "-1", "v": V, "access_token": "secret"})
            assert r.json()["response"]["count"] == 2
            r = c.get("/wall.get", params={"owner_id": -1}, headers=hdr)
            assert r.json()["error"]["error_code"] == 8
            assert call(c, "wall.nope", access_token="secret")["error"]["error_code"] == 3
        assert all("access_token" not in rec.params for rec in fake.request_log)
        assert [rec.token for rec in fake.request_log[:3]] == [None, "wrong", "secret"]


def test_max_requests_in_window_counts() -> None:
    fake = FakeVK(Scenario([]))
    times = {"a": [0.0, 0.2, 0.5, 0.99, 1.0, 1.5, 1.9], "b": [0.0, 0.1, 0.2, 0.3, 5.0]}
    for tok, ts in times.items():
        fake.request_log += [RequestRecord(t, "wall.get", tok, {}) for t in ts]
    assert fake.max_requests_in_window("a") == 4  # [0.0, 1.0) holds 0, .2, .5, .99
    assert fake.max_requests_in_window("a", window=0.5) == 2
    assert fake.max_requests_in_window("b") == 4
    assert fake.max_requests_in_window("c") == 0
    assert fake.max_requests_in_window() == 4
    assert fake.max_requests_in_window("a", window=10) == 7


def test_rps_limit_returns_error_6() -> None:
    with FakeVK(Scenario([_wall(1, 1)]), rps_limit=3) as fake:
        with httpx.Client(base_url=fake.api_base) as c:
            codes = [
                call(c, "wall.get", owner_id=-1, access_token="t")
                .get("error", {})
                .get("error_code")
                for _ in range(5)
            ]
        assert codes == [None, None, None, 6, 6]
        assert len(fake.request_log) == 5 and fake.max_requests_in_window("t") == 5


def test_synthetic_scenario_is_deterministic() -> None:
    a = synthetic_scenario(communities=5, posts_per_community=300, seed=3, closed=1, deleted=1)
    b = synthetic_scenario(communities=5, posts_per_community=300, seed=3, closed=1, deleted=1)
    assert a == b
    assert a != synthetic_scenario(communities=5, posts_per_community=300, seed=4)
    assert [c.id for c in a.communities] == [5550001 + i for i in range(5)]
    assert [c.screen_name for c in a.communities][:2] == ["demo_news_1", "demo_news_2"]
    assert all(len(c.posts) == 300 for c in a.communities)
    assert (a.communities[-1].is_closed, a.communities[-1].wall_error) == (1, 15)
    assert (a.communities[-2].deactivated, a.communities[-2].wall_error) == ("deleted", 18)
    assert all(c.wall_error is None for c in a.communities[:3])
    posts = a.communities[0].posts
    assert posts[0].is_pinned and posts[0].date < min(p.date for p in posts[1:])
    assert not any(p.is_pinned for c in a.communities for p in c.posts[1:])
    assert [p.id for p in posts[1:]] == sorted((p.id for p in posts[1:]), reverse=True)
    assert all(NOW - 61 * 86400 < p.date < NOW for p in posts[1:])
    everything = [p for c in a.communities for p in c.posts]
    reposts = [p for p in everything if p.copy_history]
    assert reposts and all(
        p.copy_history and p.copy_history[0]["owner_id"] != p.owner_id for p in reposts
    )
    assert any(p.text == "" and p.attachments for p in everything)
    assert any(p.from_id > 0 for p in everything) and any(p.views is None for p in everything)
    flagged = [p for p in everything if p.flagged]
    assert len(flagged) == 5 * round(0.05 * 300)
    assert len({p.lang for p in everything}) >= 8
    assert a.search_posts and all(
        t.lower() in p.text.lower() for t, ps in a.search_posts.items() for p in ps
    )
    assert [r.code or r.http_status for r in a.errors] == [6, 503]
    assert synthetic_scenario(2, 10, with_errors=False).errors == []


def test_cli_serves_until_terminated() -> None:
    cmd = [sys.executable, "-m", "spiders.fakes.vk", "--port", "0", "--communities", "3"]
    proc = subprocess.Popen(
        [*cmd, "--posts", "20", "--no-errors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/method")
        with httpx.Client(base_url=base, timeout=5) as c:
            for _ in range(3):
                r = c.get("/wall.get", params={"domain": "demo_news_1", "v": V})
                assert r.json()["response"]["count"] == 20
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == ""  # nothing logged per request


def test_concurrent_clients_each_get_every_post(synthetic: Scenario, server: FakeVK) -> None:
    open_ids = [c.id for c in synthetic.communities[:2]]
    results: dict[int, list[int]] = {}

    def crawl(gid: int) -> None:
        with httpx.Client(base_url=server.api_base, timeout=5) as c:
            results[gid] = [i["id"] for i in page_all(c, gid)]

    threads = [threading.Thread(target=crawl, args=(gid,)) for gid in open_ids * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for comm in synthetic.communities[:2]:
        assert results[comm.id] == [p.id for p in comm.posts]
    assert server.calls("wall.get") == 4 * 3


def test_stop_closes_keep_alive_connections() -> None:
    fake = FakeVK(Scenario([_wall(1, 1)])).start()
    with httpx.Client(base_url=fake.api_base, timeout=2) as c:
        assert call(c, "wall.get", owner_id=-1)["response"]["count"] == 1
        fake.stop()
        with pytest.raises(httpx.TransportError):
            call(c, "wall.get", owner_id=-1)
