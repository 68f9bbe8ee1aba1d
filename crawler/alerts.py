"""Alerts: a JSON summary to a command (on its stdin) and/or a webhook (POST), once per event.

`alerts:` in the config names where they go:

    alerts:
      command: [/usr/local/bin/notify-team, --channel, crawls]   # JSON on stdin
      webhook: https://hooks.example.org/vemeter                 # or webhook_env: NAME
      timeout: 10                                                # seconds per delivery

Every event is claimed first by its key in `alert_events` (unique), so a persisting break,
a gap extended period after period or a second service on the same database never alerts
twice. Delivery runs in a thread of its own with a timeout: a slow or dead hook never holds
the service up for long, and a failed one is one log line (the URL's host only: webhook URLs
are often secrets).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from crawler import health
from crawler.config import AlertSettings, ProjectConfig
from storage import health as store


def webhook_url(settings: AlertSettings) -> str | None:
    if settings.webhook_env:
        return os.environ.get(settings.webhook_env) or None
    return settings.webhook


def deliver(settings: AlertSettings, payload: dict[str, Any]) -> list[str]:
    """Send one alert to every configured hook; returns one line per failed delivery."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    problems: list[str] = []
    if settings.command:
        try:
            done = subprocess.run(
                settings.command, input=body.encode(), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, timeout=settings.timeout, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                last = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
                problems.append(
                    f"alert command {settings.command[0]} exited {done.returncode}: {last[0][:200]}"
                )
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"alert command {settings.command[0]} failed: {exc}")
    url = webhook_url(settings)
    if settings.webhook_env and url is None:
        problems.append(f"alert webhook: {settings.webhook_env} is not set")
    if url:
        host = urlsplit(url).netloc or "?"
        try:
            answer = httpx.post(
                url, content=body.encode(), timeout=settings.timeout,
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            if answer.status_code >= 300:
                problems.append(f"alert webhook at {host} answered HTTP {answer.status_code}")
        except httpx.HTTPError as exc:
            problems.append(f"alert webhook at {host} failed: {type(exc).__name__}")
    return problems


class Alerter:
    """Claims each event once in the database, then delivers it in the background."""

    def __init__(
        self,
        engine: Engine,
        settings: AlertSettings,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self._threads: list[threading.Thread] = []

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.command or s.webhook or s.webhook_env)

    def notify(self, key: str, source: str | None, payload: dict[str, Any], now: datetime) -> bool:
        """Alert once for `key`; False when it was alerted before. Returns at once."""
        if not store.claim_alert(self.engine, key, str(payload.get("event")), source, payload, now):
            return False
        self.say(f"alert: {payload.get('event')}: {payload.get('detail') or key}")
        if not self.configured:
            store.mark_delivered(self.engine, key, "no alerts configured")
            return True
        thread = threading.Thread(
            target=self._send, args=(key, payload), name=f"alert-{key}", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        return True

    def _send(self, key: str, payload: dict[str, Any]) -> None:
        problems = deliver(self.settings, payload)
        for line in problems:
            self.say(f"alert not delivered: {line}")
        try:
            store.mark_delivered(self.engine, key, "; ".join(problems) or "delivered")
        except Exception as exc:  # a failed record must not end the thread with a traceback
            self.say(f"alert {key}: could not record its delivery ({type(exc).__name__})")

    def wait(self, timeout: float | None = None) -> None:
        """Wait for deliveries under way (at most `timeout`, default the hook timeout + 5 s)."""
        limit = timeout if timeout is not None else self.settings.timeout * 2 + 5
        for t in self._threads:
            t.join(limit)
        self._threads = [t for t in self._threads if t.is_alive()]


class Watch:
    """What a scheduler (the service, or the worker pool) reports as runs end and periods pass:
    each event alerted once, each finished crawl judged (crawler.health), a source whose
    token was refused switched off, and on again once its token changed."""

    def __init__(
        self, engine: Engine, config: ProjectConfig, say: Callable[[str], None] | None = None
    ) -> None:
        self.engine = engine
        self.config = config
        self.alerter = Alerter(engine, config.alerts, say)
        self.say = self.alerter.say

    def gap_opened(
        self, source: str, gap_id: int, reason: str, detail: str | None, first: datetime,
        periods: int, now: datetime,
    ) -> None:  # fmt: skip
        """A gap written to the ledger (extending an open one keeps its id: no second alert)."""
        self.alerter.notify(f"gap:{gap_id}", source, health.event(
            "gap-opened", self.config, now, source=source, gap=gap_id, reason=reason,
            detail=detail, first=first.isoformat(), periods=periods,
        ), now)  # fmt: skip

    def run_failed(
        self, source: str, scheduled_run: int, status: str, run_id: int | None,
        message: str | None, gap_id: int | None, now: datetime,
    ) -> None:  # fmt: skip
        """A scheduled run that failed or was killed (not one stopped with its service)."""
        self.alerter.notify(f"run-failed:{scheduled_run}", source, health.event(
            "run-failed", self.config, now, source=source, scheduled_run=scheduled_run,
            run=run_id, status=status, detail=message, gap=gap_id,
        ), now)  # fmt: skip

    def crawl_ended(self, run_id: int, now: datetime) -> None:
        """Judge the targets a finished crawl run reached; alert what is new."""
        for found in health.review_run(self.engine, self.config, run_id, now):
            self.alerter.notify(found.key, found.source, found.payload, now)

    def switch_on_if_fixed(self, source: str, now: datetime) -> bool:
        """Before planning a paused source: on again if its token changed or it was resumed."""
        why = health.reenable_if_fixed(self.engine, self.config, source, now)
        if why:
            self.say(f"{source}: switched on again ({why})")
        return why is not None

    def wait(self) -> None:
        self.alerter.wait()
