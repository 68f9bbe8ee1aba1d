"""The HTTP base every fake server shares, and the faults every fake can inject."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import httpx
import pytest

from spiders.fakes.http import Fault, FaultPlan, most_in_window
from spiders.fakes.web import PATHS, FakeWeb


def test_most_in_window_counts_the_busiest_half_open_window() -> None:
    assert most_in_window([], 1.0) == 0
    assert most_in_window([0.0, 0.5, 0.99, 1.0, 1.5], 1.0) == 3  # [0, 1) and [0.5, 1.5)
    assert most_in_window([2.0, 0.0, 1.0], 1.0) == 1  # unsorted input; 1.0 is outside [0, 1)


# ---- faults: every fake can misbehave on purpose -------------------------------------------


@pytest.fixture
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as fake:
        yield fake


def get(web: FakeWeb, path: str) -> httpx.Response:
    with httpx.Client(base_url=web.base, timeout=10) as client:
        return client.get(path)


def test_a_plan_hits_the_named_requests_of_the_matching_routes_only() -> None:
    plan = FaultPlan([Fault("status", match="/feeds/", times=(2, 3)), Fault("reset", times=())])
    assert plan.take("/feeds/news.rss")  # matches both: the second fault, due every time
    assert plan.take("/feeds/news.rss") == Fault("status", match="/feeds/", times=(2, 3))
    assert plan.take("/feeds/blog.atom") == Fault("status", match="/feeds/", times=(2, 3))
    assert plan.take("/feeds/news.rss").kind == "reset"  # type: ignore[union-attr]
    assert plan.count("status") == 2 and plan.count("reset", "/feeds/news") == 2
    assert FaultPlan([Fault("cut", match="/feeds/")]).take("/robots.txt") is None


def test_cut_sends_a_whole_answer_of_a_cut_document(web: FakeWeb) -> None:
    whole = get(web, PATHS["rss"]).content
    web.faults.add(Fault("cut", match=PATHS["rss"], keep=0.25))
    cut = get(web, PATHS["rss"])
    assert cut.status_code == 200 and cut.content == whole[: len(whole) // 4]
    assert int(cut.headers["Content-Length"]) == len(cut.content)
    assert get(web, PATHS["rss"]).content == whole  # the first request only


def test_short_declares_the_whole_body_and_sends_part_of_it(web: FakeWeb) -> None:
    web.faults.add(Fault("short", match=PATHS["rss"]))
    with pytest.raises(httpx.RemoteProtocolError):
        get(web, PATHS["rss"])
    assert get(web, PATHS["rss"]).status_code == 200


def test_reset_answers_nothing(web: FakeWeb) -> None:
    web.faults.add(Fault("reset", match=PATHS["rss"]))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        get(web, PATHS["rss"])
    assert get(web, PATHS["rss"]).status_code == 200


def test_status_bursts_nuls_and_stalls(web: FakeWeb) -> None:
    web.faults.add(Fault("status", match=PATHS["atom"], times=(1, 2), status=429))
    web.faults.add(Fault("nul", match=PATHS["html"]))
    web.faults.add(Fault("stall", match="/robots.txt", seconds=0.2))
    burst = [get(web, PATHS["atom"]) for _ in range(3)]
    assert [r.status_code for r in burst] == [429, 429, 200]
    assert burst[0].headers["Retry-After"] == "0"
    assert get(web, PATHS["html"]).content.count(b"\x00") == 3
    assert get(web, "/robots.txt").status_code == 200  # late, but whole
    assert web.faults.count("stall") == 1


def test_huge_streams_a_body_over_any_limit_until_the_client_hangs_up(web: FakeWeb) -> None:
    web.faults.add(Fault("huge", match="/big", size=300_000))
    web.faults.add(Fault("huge", match="/undeclared", size=300_000, declared=False))
    with httpx.Client(base_url=web.base, timeout=10) as client:
        with client.stream("GET", "/big") as answer:
            assert answer.headers["Content-Length"] == "300000"
            assert sum(len(c) for c in answer.iter_bytes()) == 300_000
        with client.stream("GET", "/undeclared") as answer:
            assert "Content-Length" not in answer.headers
            assert next(answer.iter_bytes())  # read a little, then hang up
    with contextlib.closing(socket.create_connection(("127.0.0.1", web.port), timeout=5)):
        pass  # the server still accepts connections
