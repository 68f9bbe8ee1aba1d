"""Alerts: a command given the JSON on stdin, a webhook on 127.0.0.1, once per event however
often it is raised, failed deliveries as one line; the service alerting on a failed run and on
a gap opened (not on each period that extends it)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from crawler.alerts import Alerter, deliver
from crawler.config import AlertSettings, load_config
from crawler.service import Service
from storage.health import list_alerts
from storage.scheduling import set_disabled
from tests.crawler.test_schedule import MINUTE, T0, Crawls, FakeClock, cycle

NOW = datetime(2026, 3, 2, 10, 0)


def writer(path: Path) -> list[str]:
    script = (
        "import sys; data = sys.stdin.read(); "
        f"open({str(path)!r}, 'a', encoding='utf-8').write(data.replace(chr(10), ' ') + chr(10))"
    )
    return [sys.executable, "-c", script]


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class Hook:
    """A webhook on 127.0.0.1 that keeps what it was sent and answers `status`."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.path, json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Any]:
    made: list[Hook] = []

    def make(status: int = 204) -> Hook:
        made.append(Hook(status))
        return made[-1]

    yield make
    for h in made:
        h.close()


def test_a_command_and_a_webhook_receive_the_json_summary(tmp_path: Path, hook: Any) -> None:
    out, web = tmp_path / "alerts.jsonl", hook()
    settings = AlertSettings(command=writer(out), webhook=web.url + "/vemeter")
    payload = {"event": "likely-break", "source": "a", "target": "-1", "kind": "nothing-matched"}
    assert deliver(settings, payload) == []
    assert lines(out) == [payload]
    assert web.received == [("/vemeter", payload)]


def test_failed_deliveries_are_one_line_each_and_never_show_a_secret_url(
    tmp_path: Path, hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = hook(status=500)
    monkeypatch.setenv("ALERT_TEST_HOOK", web.url + "/T000/secret-path")
    settings = AlertSettings(
        command=[sys.executable, "-c", "import sys; print('no route', file=sys.stderr); sys.exit(3)"],
        webhook_env="ALERT_TEST_HOOK",
    )  # fmt: skip
    problems = deliver(settings, {"event": "run-failed"})
    assert len(problems) == 2
    assert "exited 3: no route" in problems[0]
    assert problems[1] == f"alert webhook at {web.url.split('//')[1]} answered HTTP 500"
    assert not any("secret-path" in p for p in problems)
    monkeypatch.delenv("ALERT_TEST_HOOK")
    assert deliver(AlertSettings(webhook_env="ALERT_TEST_HOOK"), {}) == [
        "alert webhook: ALERT_TEST_HOOK is not set"
    ]
    dead = AlertSettings(webhook="http://127.0.0.1:9/x", timeout=2)  # port 9: nobody listens
    (line,) = deliver(dead, {})
    assert line.startswith("alert webhook at 127.0.0.1:9 failed: ")


def test_an_event_alerts_once_however_often_it_is_raised(
    tmp_path: Path, hook: Any, engine: Engine
) -> None:
    out, web = tmp_path / "alerts.jsonl", hook()
    said: list[str] = []
    first = Alerter(engine, AlertSettings(command=writer(out), webhook=web.url), said.append)
    second = Alerter(engine, AlertSettings(command=writer(out), webhook=web.url), said.append)
    assert first.notify("likely-break:1", "a", {"event": "likely-break", "n": 1}, NOW)
    assert not first.notify("likely-break:1", "a", {"event": "likely-break", "n": 2}, NOW)
    assert not second.notify("likely-break:1", "a", {"event": "likely-break", "n": 3}, NOW)
    assert second.notify("gap:7", "a", {"event": "gap-opened"}, NOW)
    first.wait()
    second.wait()
    assert sorted(a["event"] for a in lines(out)) == ["gap-opened", "likely-break"]
    assert [a["n"] for a in lines(out) if a["event"] == "likely-break"] == [1]
    assert len(web.received) == 2
    assert [(a.key, a.delivered) for a in list_alerts(engine)] == [
        ("likely-break:1", "delivered"),
        ("gap:7", "delivered"),
    ]


def project(tmp_path: Path, out: Path) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\n"
        f"alerts: {{command: {json.dumps(writer(out))}}}\nsources:\n"
        "  - {name: a, platform: vk, targets: [-1], schedule: '* * * * *'}\n",
        encoding="utf-8",
    )
    return path


def test_the_service_alerts_once_per_failed_run_and_once_per_gap(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    clock, crawls = FakeClock(T0), Crawls()
    svc = Service(load_config(project(tmp_path, out)), clock=clock, spawn=crawls,
                  say=lambda _line: None)  # fmt: skip
    svc.step()
    clock.t = T0 + MINUTE
    cycle(svc, clock, crawls, code=1)  # fails: one alert, with its gap
    cycle(svc, clock, crawls, code=0)  # covers it: nothing to say
    set_disabled(svc.engine, "a", "token revoked", clock.t)
    for minute in (3, 4, 5):  # three periods paused: one gap, extended, one alert
        clock.t = T0 + minute * MINUTE + timedelta(seconds=1)
        svc.step()
    svc.watch.wait()
    alerts = sorted(lines(out), key=lambda a: a["event"], reverse=True)  # sent in parallel
    assert [a["event"] for a in alerts] == ["run-failed", "gap-opened"]
    failed, gap = alerts
    assert failed["status"] == "failed" and "exit code 1" in failed["detail"]
    assert (gap["reason"], gap["source"], gap["project"]) == ("disabled", "a", "p")
    svc.engine.dispose()
