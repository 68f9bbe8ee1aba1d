"""A local, fast fake of the VK API (`https://api.vk.ru/method`) for demos, tests, benchmarks.

    with FakeVK(synthetic_scenario()).start() as vk:
        httpx.get(f"{vk.api_base}/wall.get", params={"owner_id": -5550001, "v": "5.199"})

`python -m spiders.fakes.vk --port 8765` serves a synthetic scenario until Ctrl-C.
Binds 127.0.0.1 only. Post objects are serialised once and cached as JSON bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from spiders.fakes.http import (
    FakeHTTPServer,
    FakeService,
    FormHandler,
    most_in_window,
    serve_until_stopped,
)
from spiders.fakes.vk_data import FakeCommunity, FakePost, Scenario, make_new_posts

# fmt: off
ERROR_MESSAGES: dict[int, str] = {
    1: "Unknown error occurred", 3: "Unknown method passed",
    5: "User authorization failed: invalid access_token", 6: "Too many requests per second",
    7: "Permission to perform this action is denied", 8: "Invalid request: v is required",
    9: "Flood control", 10: "Internal server error", 14: "Captcha needed",
    15: "Access denied: this wall available only for community members", 17: "Validation required",
    18: "User was deleted or banned", 19: "Content blocked", 29: "Rate limit reached",
    30: "This profile is private", 104: "Not found",
    100: "One of the parameters specified was missing or invalid",
}
# fmt: on
_NUMERIC_NAME = re.compile(r"^(?:club|public|event)?(\d+)$")


@dataclass
class RequestRecord:
    time: float  # time.monotonic()
    method: str
    token: str | None
    params: dict[str, str]  # without access_token


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class _ApiError(Exception):
    def __init__(self, code: int, detail: str | None = None) -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


class _Wall:
    """Server-side mutable copy of one community's wall with cached item bytes."""

    def __init__(self, community: FakeCommunity) -> None:
        self.community = community
        self.posts = list(community.posts)
        self.rendered: list[bytes | None] = [None] * len(self.posts)
        self.calls = 0

    def page(self, offset: int, count: int) -> bytes:
        end = min(offset + count, len(self.posts))
        parts: list[bytes] = []
        for i in range(offset, end):
            raw = self.rendered[i]
            if raw is None:
                raw = self.rendered[i] = _dumps(self.posts[i].to_vk())
            parts.append(raw)
        head = b'{"response":{"count":%d,"items":[' % len(self.posts)
        return head + b",".join(parts) + b"]}}"

    def publish(self, n: int) -> None:
        top = 1 if self.posts and self.posts[0].is_pinned else 0
        regular = self.posts[top:]
        max_id = max((p.id for p in self.posts), default=0)
        max_date = max((p.date for p in regular), default=0)
        fresh = make_new_posts(-self.community.id, max_id, max_date, n)
        self.posts[top:top] = fresh
        self.rendered[top:top] = [None] * len(fresh)


class FakeVK(FakeService):
    def __init__(
        self, scenario: Scenario, *, token: str | None = None, rps_limit: float | None = None
    ) -> None:
        self.scenario = scenario
        self.token = token
        self.rps_limit = rps_limit
        self.request_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._total_calls = 0
        self._recent: dict[str | None, deque[float]] = {}
        self._walls = {c.id: _Wall(c) for c in scenario.communities}
        self._by_name = {c.screen_name.lower(): c for c in scenario.communities}
        self._search_cache: dict[tuple[str, int, int], tuple[list[FakePost], list[bytes]]] = {}

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        return f"{self.origin}/method"

    def warm(self) -> FakeVK:
        """Pre-render every wall post (otherwise rendered lazily on first request)."""
        with self._lock:
            for wall in self._walls.values():
                wall.page(0, len(wall.posts))
        return self

    # --- introspection -----------------------------------------------------------------
    def calls(self, method: str) -> int:
        """Requests received for `method` (all outcomes); "*" counts every request."""
        with self._lock:
            return self._total_calls if method == "*" else self._calls.get(method, 0)

    def max_requests_in_window(self, token: str | None = None, window: float = 1.0) -> int:
        """Largest number of requests by one token inside any half-open window [t, t+window).

        With token=None the maximum is taken over every token seen (tokenless requests
        count as one more "token")."""
        with self._lock:
            records = list(self.request_log)
        groups: dict[str | None, list[float]] = {}
        for rec in records:
            if token is None or rec.token == token:
                groups.setdefault(rec.token, []).append(rec.time)
        return max((most_in_window(times, window) for times in groups.values()), default=0)

    # --- request handling (called from handler threads) --------------------------------
    def handle(self, method: str, params: dict[str, str], token: str | None) -> tuple[int, bytes]:
        now = time.monotonic()
        logged = {k: v for k, v in params.items() if k != "access_token"}
        with self._lock:
            self.request_log.append(RequestRecord(now, method, token, logged))
            self._total_calls += 1
            nth = self._calls[method] = self._calls.get(method, 0) + 1
            total = self._total_calls
            try:
                if self.token is not None and token != self.token:
                    raise _ApiError(5)
                if "v" not in params:
                    raise _ApiError(8)
                if self.rps_limit is not None and self._too_fast(token, now):
                    raise _ApiError(6)
                for rule in self.scenario.errors:
                    if (rule.method == method and nth in rule.nth) or (
                        rule.method == "*" and total in rule.nth
                    ):
                        if rule.http_status is not None:
                            return rule.http_status, b'{"error":"injected HTTP error"}'
                        raise _ApiError(rule.code or 1)
                handler = _METHODS.get(method)
                if handler is None:
                    raise _ApiError(3)
                return 200, handler(self, params)
            except _ApiError as err:
                return 200, _error_body(err, method, logged)

    def _too_fast(self, token: str | None, now: float) -> bool:
        recent = self._recent.setdefault(token, deque())
        recent.append(now)
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        return len(recent) > (self.rps_limit or 0)

    def _community(self, ref: str) -> FakeCommunity | None:
        ref = ref.strip().lower()
        m = _NUMERIC_NAME.match(ref.lstrip("-"))
        if m:
            wall = self._walls.get(int(m.group(1)))
            if wall is not None:
                return wall.community
        return self._by_name.get(ref)

    def _resolve(self, params: dict[str, str]) -> dict[str, Any] | list[Any]:
        comm = self._community(params.get("screen_name", ""))
        return [] if comm is None else {"object_id": comm.id, "type": "group"}

    def _groups(self, params: dict[str, str]) -> dict[str, Any]:
        refs = [r for r in (params.get("group_ids") or params.get("group_id", "")).split(",") if r]
        fields = set(params.get("fields", "").split(","))
        groups: list[dict[str, Any]] = []
        seen: set[int] = set()
        for ref in refs:
            comm = self._community(ref)
            if comm is None or comm.id in seen:
                continue
            seen.add(comm.id)
            group: dict[str, Any] = {
                "id": comm.id,
                "name": comm.name,
                "screen_name": comm.screen_name,
                "is_closed": comm.is_closed,
                "type": "page",
            }
            if comm.deactivated:
                group["deactivated"] = comm.deactivated
            if "members_count" in fields and not comm.deactivated:
                group["members_count"] = 1000 + comm.id % 9000 + 37 * len(comm.posts)
            if "verified" in fields:
                group["verified"] = 0
            groups.append(group)
        if not groups:
            raise _ApiError(100, "group_ids is undefined")
        return {"groups": groups, "profiles": []}

    def _wall_get(self, params: dict[str, str]) -> bytes:
        owner, domain = params.get("owner_id", ""), params.get("domain", "")
        comm = None
        if owner:
            comm = self._community(owner[1:]) if owner[:1] == "-" and owner[1:].isdigit() else None
        elif domain:
            comm = self._community(domain)
        if comm is None:
            raise _ApiError(100, "owner_id is undefined")
        offset, count = _int(params, "offset", 0), _int(params, "count", 20)
        if count > 100 or count < 0 or offset < 0:
            raise _ApiError(100, "offset is negative" if offset < 0 else "count is out of range")
        err = comm.wall_error or (18 if comm.deactivated else 15 if comm.is_closed else None)
        if err is not None:
            raise _ApiError(err)
        wall = self._walls[comm.id]
        wall.calls += 1
        body = wall.page(offset, count)
        if params.get("extended") == "1":
            extra = {"profiles": [], "groups": self._groups({"group_ids": str(comm.id)})["groups"]}
            body = body[:-2] + b"," + _dumps(extra)[1:-1] + b"}}"
        k_n = comm.new_posts_after_call
        if k_n is not None and wall.calls == k_n[0]:
            wall.publish(k_n[1])
        return body

    def _search(self, params: dict[str, str]) -> bytes:
        q = params.get("q", "")
        start = _int(params, "start_time", self.scenario.now - 86400)
        end = _int(params, "end_time", 2**62)
        count = max(0, min(_int(params, "count", 30), 200))
        cursor = params.get("start_from", "")
        offset = int(cursor.split("/", 1)[0]) if cursor.split("/", 1)[0].isdigit() else 0
        key = (q, start, end)
        cached = self._search_cache.get(key)
        if cached is None:
            hits = [p for p in self.scenario.search_posts.get(q, []) if start <= p.date <= end]
            hits.sort(key=lambda p: p.date, reverse=True)
            cached = self._search_cache[key] = (hits, [_dumps(p.to_vk()) for p in hits])
        hits, rendered = cached
        available = min(len(hits), 1000)  # VK serves only the first 1000 results
        end_idx = min(offset + count, available)
        body = b'{"response":{"items":[' + b",".join(rendered[offset:end_idx]) + b"]"
        body += b',"count":%d,"total_count":%d' % (available, len(hits))
        if end_idx < available and count > 0:
            last = hits[end_idx - 1]
            body += b',"next_from":"%d/%d_%d"' % (end_idx, last.owner_id, last.id)
        return body + b"}}"


def _int(params: dict[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _ApiError(100, f"{key} not integer") from None


def _error_body(err: _ApiError, method: str, params: dict[str, str]) -> bytes:
    msg = ERROR_MESSAGES.get(err.code, "Unknown error occurred")
    if err.detail:
        msg = f"{msg}: {err.detail}"
    shown = [{"key": "method", "value": method}]
    shown += [{"key": k, "value": v} for k, v in params.items()]
    error: dict[str, Any] = {"error_code": err.code, "error_msg": msg, "request_params": shown}
    if err.code == 14:
        error["captcha_sid"] = "123456789"
        error["captcha_img"] = "http://127.0.0.1/captcha.php?sid=123456789"
    return _dumps({"error": error})


_MethodImpl = Callable[[FakeVK, dict[str, str]], bytes]


def _wrap(fn: Callable[[FakeVK, dict[str, str]], object]) -> _MethodImpl:
    return lambda fake, params: _dumps({"response": fn(fake, params)})


_METHODS: dict[str, _MethodImpl] = {
    "utils.resolveScreenName": _wrap(FakeVK._resolve),
    "groups.getById": _wrap(FakeVK._groups),
    "wall.get": FakeVK._wall_get,
    "newsfeed.search": FakeVK._search,
}


class _Server(FakeHTTPServer):
    fake: FakeVK


class _Handler(FormHandler):
    server: _Server

    def dispatch(self, body: bytes) -> None:
        url = urlsplit(self.path)
        if not url.path.startswith("/method/"):
            self._send(404, b'{"error":"not found"}')
            return
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        auth = self.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else params.get("access_token")
        status, payload = self.server.fake.handle(url.path[8:], params, token)
        self._send(status, payload)

    def _send(self, status: int, body: bytes) -> None:
        retry_after = "1" if status == 429 else None
        self.send_answer(status, body, "application/json; charset=utf-8", retry_after)


def main(argv: list[str] | None = None) -> None:
    from spiders.fakes.vk_data import synthetic_scenario

    ap = argparse.ArgumentParser(description="Serve a synthetic fake VK API on 127.0.0.1")
    ap.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    ap.add_argument("--communities", type=int, default=6)
    ap.add_argument("--posts", type=int, default=450, help="posts per community")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--closed", type=int, default=1)
    ap.add_argument("--deleted", type=int, default=1)
    ap.add_argument("--no-errors", action="store_true", help="no injected errors")
    ap.add_argument("--token", default=None, help="require this access token")
    ap.add_argument("--rps-limit", type=float, default=None)
    a = ap.parse_args(argv)
    scenario = synthetic_scenario(a.communities, a.posts, a.seed, a.closed, a.deleted)
    if a.no_errors:
        scenario.errors = []
    fake = FakeVK(scenario, token=a.token, rps_limit=a.rps_limit).warm().start(a.port)
    serve_until_stopped(fake, fake.api_base)


FakeVK.handler = _Handler


if __name__ == "__main__":
    main()
