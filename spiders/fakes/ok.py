"""A local fake of the OK REST API (`https://api.ok.ru/fb.do`) for tests, demos and benchmarks.

    with FakeOK(synthetic_scenario(), app_key="K", app_secret="S", token="T") as ok:
        ok.api_base  # http://127.0.0.1:PORT/fb.do; send signed GET or POST form parameters

It checks the application key, the token and the signature exactly as platforms.md §2.2
describes (wrong signature → error 104). `python -m spiders.fakes.ok` serves a synthetic
scenario until Ctrl-C. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from spiders.fakes.http import (
    FakeHTTPServer,
    FakeService,
    FormHandler,
    most_in_window,
    serve_until_stopped,
)
from spiders.fakes.ok_data import FakeGroup, Scenario, make_new_topics
from spiders.ok.signing import session_secret, signature

# fmt: off
ERROR_NAMES: dict[int, str] = {
    1: "UNKNOWN : Unknown error", 2: "SERVICE : Service is temporary unavailable.",
    3: "METHOD : Method not found", 4: "REQUEST : Invalid request", 7: "ACTION_BLOCKED : Blocked",
    8: "FLOOD_BLOCKED : Call blocked due to flood protection", 9: "IP_BLOCKED : Blocked IP",
    10: "PERMISSION_DENIED : Permission denied", 11: "LIMIT_REACHED : Limit reached",
    100: "PARAM : Invalid parameter", 101: "PARAM_API_KEY : Application key is invalid",
    102: "PARAM_SESSION_EXPIRED : Session expired", 104: "PARAM_SIGNATURE : Invalid signature",
    300: "NOT_FOUND : Object not found", 402: "AUTH_LOGIN_CAPTCHA : Captcha required",
    453: "SESSION_REQUIRED : Session is required", 9999: "SYSTEM : Critical system error",
}
# fmt: on
_GROUP_URL = re.compile(r"^(?:https?://)?(?:www\.|m\.)?ok\.ru/(?:group/?(\d+)|([^/?#]+))/?$")


@dataclass
class RequestRecord:
    time: float  # time.monotonic()
    method: str
    app_key: str | None
    params: dict[str, str]  # without access_token and sig
    token_in_url: bool  # the access token was sent in the URL (it should travel in a POST body)


class _ApiError(Exception):
    def __init__(self, code: int, detail: str | None = None) -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _anchor(gid: str, topic_id: str) -> str:
    return base64.urlsafe_b64encode(f"{gid}:{topic_id}".encode()).decode().rstrip("=")


def _unanchor(anchor: str, gid: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(anchor + "=" * (-len(anchor) % 4)).decode()
    except ValueError:
        raise _ApiError(100, "anchor is invalid") from None
    owner, _, topic_id = raw.partition(":")
    if owner != gid or not topic_id:
        raise _ApiError(100, "anchor is invalid")
    return topic_id


class FakeOK(FakeService):
    def __init__(
        self,
        scenario: Scenario,
        *,
        app_key: str,
        app_secret: str,
        token: str,
        rps_limit: float | None = None,
    ) -> None:
        self.scenario = scenario
        self.app_key, self.app_secret, self.token = app_key, app_secret, token
        self.rps_limit = rps_limit
        self.request_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._total = 0
        self._recent: deque[float] = deque()
        self._page_calls: dict[str, int] = {}
        self._rendered: dict[tuple[str, str], bytes] = {}

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        return f"{self.origin}/fb.do"

    # --- introspection -----------------------------------------------------------------
    def calls(self, method: str) -> int:
        """Requests received for `method` (all outcomes); "*" counts every request."""
        with self._lock:
            return self._total if method == "*" else self._calls.get(method, 0)

    def max_requests_in_window(self, window: float = 1.0) -> int:
        """Largest number of requests inside any half-open window [t, t + window)."""
        with self._lock:
            times = [r.time for r in self.request_log]
        return most_in_window(times, window)

    # --- request handling (called from handler threads) --------------------------------
    def handle(self, params: dict[str, str], token_in_url: bool) -> tuple[int, bytes]:
        now = time.monotonic()
        method = params.get("method", "")
        logged = {k: v for k, v in params.items() if k not in ("access_token", "sig")}
        with self._lock:
            self.request_log.append(
                RequestRecord(now, method, params.get("application_key"), logged, token_in_url)
            )
            self._total += 1
            nth = self._calls[method] = self._calls.get(method, 0) + 1
            try:
                self._authenticate(params)
                if self.rps_limit is not None and self._too_fast(now):
                    raise _ApiError(8)
                for rule in self.scenario.errors:
                    counter = self._total if rule.method == "*" else nth
                    if rule.method in ("*", method) and counter in rule.nth:
                        if rule.code is None:
                            return rule.http_status or 500, b"<html>injected error</html>"
                        return rule.http_status or 200, _error_body(_ApiError(rule.code))
                handler = _METHODS.get(method)
                if handler is None:
                    raise _ApiError(3)
                return 200, handler(self, params)
            except _ApiError as err:
                return 200, _error_body(err)

    def _authenticate(self, params: dict[str, str]) -> None:
        if params.get("application_key") != self.app_key:
            raise _ApiError(101)
        token = params.get("access_token")
        if not token:
            raise _ApiError(453)
        if token != self.token:
            raise _ApiError(102)
        expected = signature(params, session_secret(token, self.app_secret))
        if params.get("sig", "").lower() != expected:
            raise _ApiError(104)

    def _too_fast(self, now: float) -> bool:
        self._recent.append(now)
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        return len(self._recent) > (self.rps_limit or 0)

    def _group(self, ref: str) -> FakeGroup | None:
        return next((g for g in self.scenario.groups if ref in (g.uid, g.shortname.lower())), None)

    def _url_info(self, params: dict[str, str]) -> bytes:
        match = _GROUP_URL.match(params.get("url", "").strip())
        if match is None:
            raise _ApiError(100, "url is invalid")
        group = self._group(match.group(1) or match.group(2).lower())
        if group is None:
            raise _ApiError(300)
        return _dumps({"objectId": int(group.uid), "objectIdStr": group.uid, "type": "GROUP"})

    def _group_info(self, params: dict[str, str]) -> bytes:
        uids = [u for u in params.get("uids", "").split(",") if u]
        fields = {f.strip().lower() for f in params.get("fields", "").split(",") if f.strip()}
        if not uids or not fields:
            raise _ApiError(100, "uids and fields are required")
        out: list[dict[str, Any]] = []
        for uid in dict.fromkeys(uids):
            group = self._group(uid) if uid.isdigit() else None
            if group is None:
                continue  # OK leaves unknown ids out of the list
            full = {
                "uid": group.uid,
                "name": group.name,
                "shortname": group.shortname,
                "access_type": group.access_type,
                "members_count": 1000 + len(group.topics) * 7,
            }
            out.append({k: v for k, v in full.items() if k == "uid" or k in fields})
        return _dumps(out)

    def _topics(self, params: dict[str, str]) -> bytes:
        gid = params.get("gid", "")
        group = self._group(gid) if gid.isdigit() else None
        if group is None:
            raise _ApiError(300)
        if group.access_type != "OPEN":
            raise _ApiError(10)
        try:
            count = int(params.get("count", "20"))
        except ValueError:
            raise _ApiError(100, "count is not a number") from None
        if not 1 <= count <= 100:
            raise _ApiError(100, "count is out of range")
        start = 0
        if anchor := params.get("anchor"):
            after = _unanchor(anchor, gid)
            ids = [t.id for t in group.topics]
            if after not in ids:
                raise _ApiError(100, "anchor is invalid")
            start = ids.index(after) + 1
        page = group.topics[start : start + count]
        parts = []
        for topic in page:
            raw = self._rendered.get((gid, topic.id))
            if raw is None:
                raw = self._rendered[(gid, topic.id)] = _dumps(topic.to_ok())
            parts.append(raw)
        more = start + count < len(group.topics)
        tail = {"groups": [{"uid": group.uid, "name": group.name}]}
        body = b'{"media_topics":[' + b",".join(parts) + b'],"entities":' + _dumps(tail)
        if page:
            body += b',"anchor":' + _dumps(_anchor(gid, page[-1].id))
        body += b',"has_more":' + (b"true" if more else b"false") + b"}"
        calls = self._page_calls[gid] = self._page_calls.get(gid, 0) + 1
        plan = group.new_topics_after_call
        if plan is not None and calls == plan[0]:
            top = sum(1 for t in group.topics if t.is_sticky)
            group.topics[top:top] = make_new_topics(group, plan[1])
        return body


def _error_body(err: _ApiError) -> bytes:
    msg = ERROR_NAMES.get(err.code, f"UNKNOWN : error {err.code}")
    if err.detail:
        msg = f"{msg}: {err.detail}"
    return _dumps({"error_code": err.code, "error_msg": msg, "error_data": None})


_METHODS: dict[str, Callable[[FakeOK, dict[str, str]], bytes]] = {
    "url.getInfo": FakeOK._url_info,
    "group.getInfo": FakeOK._group_info,
    "mediatopic.getTopics": FakeOK._topics,
}


class _Server(FakeHTTPServer):
    fake: FakeOK


class _Handler(FormHandler):
    server: _Server

    def dispatch(self, body: bytes) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        params = dict(query)
        if body:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if url.path.startswith("/api/") and url.path.count("/") == 3:
            params.setdefault("method", ".".join(url.path.split("/")[2:4]))  # /api/group/method
        elif url.path != "/fb.do":
            self._send(404, b'{"error":"not found"}')
            return
        status, payload = self.server.fake.handle(params, "access_token" in query)
        # Faults match on the call, never on its secrets: e.g. "method=mediatopic.getTopics".
        self.route = urlencode(
            sorted((k, v) for k, v in params.items() if k not in ("access_token", "sig"))
        )
        self._send(status, payload)

    def _send(self, status: int, body: bytes) -> None:
        kind = "text/html" if body.startswith(b"<") else "application/json"
        self.send_answer(status, body, f"{kind}; charset=utf-8", "1" if status == 429 else None)


def main(argv: list[str] | None = None) -> None:
    from spiders.fakes.ok_data import synthetic_scenario

    parser = argparse.ArgumentParser(description="Serve a fake OK REST API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--topics", type=int, default=120, help="topics per group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--errors", action="store_true", help="inject retryable errors")
    parser.add_argument("--app-key", default="demo-app-key")
    parser.add_argument("--app-secret", default="demo-app-secret")
    parser.add_argument("--token", default="demo-access-token")
    args = parser.parse_args(argv)
    scenario = synthetic_scenario(args.groups, args.topics, args.seed, with_errors=args.errors)
    fake = FakeOK(scenario, app_key=args.app_key, app_secret=args.app_secret, token=args.token)
    fake.start(args.port)
    print(f"groups: {', '.join(g.uid for g in scenario.groups)}", file=sys.stderr, flush=True)
    serve_until_stopped(fake, fake.api_base)


FakeOK.handler = _Handler


if __name__ == "__main__":
    main()
