"""A local, deterministic fake of Telegram's channel web preview (t.me/s/<channel>) on 127.0.0.1."""

from __future__ import annotations

import argparse
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import parse_qsl, urlsplit

from spiders.fakes.http import (
    FakeHTTPServer,
    FakeService,
    QuietHandler,
    most_in_window,
    serve_until_stopped,
)
from spiders.fakes.telegram_data import (
    EMOJI,
    FakeChannel,
    FakeMessage,
    Scenario,
    make_new_messages,
    views_text,
)

PAGE_SIZE = 20
_URL = re.compile(r"https?://\S+")
_EMOJI = re.compile("|".join(re.escape(e) for e in EMOJI))


@dataclass
class RequestRecord:
    time: float  # time.monotonic()
    path: str
    query: dict[str, str]
    status: int


def _inline(text: str) -> str:
    """Plain text as the preview marks it up: emoji images, links with a confirm, <br/>."""
    out: list[str] = []
    pos = 0
    for url in _URL.finditer(text):
        out.append(escape(text[pos : url.start()], quote=False))
        # t.me/s escapes `&` twice in hrefs of links that carry an onclick (platforms.md §3.5).
        href = escape(url.group()).replace("&amp;", "&amp;amp;")
        out.append(
            f'<a href="{href}" target="_blank" rel="noopener" '
            f"onclick=\"return confirm('Open this link?\\n\\n'+this.href);\">"
            f"{escape(url.group(), quote=False)}</a>"
        )
        pos = url.end()
    out.append(escape(text[pos:], quote=False))
    marked = _EMOJI.sub(lambda m: f'<i class="emoji"><b>{m.group()}</b></i>', "".join(out))
    return marked.replace("\n", "<br/>")


def _media(channel: FakeChannel, msg: FakeMessage) -> str:
    base = f"https://t.me/{channel.username}/{msg.id}"
    photo = '<a class="tgme_widget_message_photo_wrap{cls}" href="{href}" style="width:320px;background-image:url(\'https://cdn.example.invalid/file/{n}.jpg\')"></a>'
    video = '<a class="tgme_widget_message_video_player{cls}" href="{href}"><i class="tgme_widget_message_video_thumb"></i><video class="tgme_widget_message_video" src="https://cdn.example.invalid/file/{n}.mp4"></video><time class="message_video_duration">0:{n:02d}</time></a>'
    if msg.photos + msg.videos > 1:
        items = [photo] * msg.photos + [video] * msg.videos
        inner = "".join(
            tpl.format(cls=" grouped_media_wrap blured", href=f"{base}?single", n=(msg.id + k) % 60)
            for k, tpl in enumerate(items)
        )
        return f'<div class="tgme_widget_message_grouped_wrap js-message_grouped_wrap"><div class="tgme_widget_message_grouped">{inner}</div></div>'
    if msg.photos:
        return photo.format(cls="", href=base, n=msg.id % 60)
    if msg.videos:
        return video.format(cls="", href=base, n=msg.id % 60)
    if msg.sticker:
        return '<div class="tgme_widget_message_sticker_wrap media_supported_cont"><i class="tgme_widget_message_sticker js-sticker_image" style="background-image:url(\'https://cdn.example.invalid/sticker.webp\')"></i></div>'
    return ""


def render_message(channel: FakeChannel, msg: FakeMessage) -> str:
    """One `tgme_widget_message_wrap` as t.me/s renders it."""
    post = f"{channel.username}/{msg.id}"
    if msg.service:
        return (
            '<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message'
            f' service_message js-widget_message" data-post="{post}"><div class="tgme_widget_message_bubble">'
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{escape(msg.text)}</div>'
            "</div></div></div>"
        )
    parts = [
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{post}">'
        '<div class="tgme_widget_message_bubble"><div class="tgme_widget_message_author accent_color">'
        f'<a class="tgme_widget_message_owner_name" href="https://t.me/{channel.username}">'
        f'<span dir="auto">{escape(channel.title)}</span></a></div>'
    ]
    if msg.forward is not None:
        name, url = msg.forward
        origin = (
            f'<a class="tgme_widget_message_forwarded_from_name" href="{escape(url)}"><span dir="auto">{escape(name)}</span></a>'
            if url
            else f'<span class="tgme_widget_message_forwarded_from_name">{escape(name)}</span>'
        )
        parts.append(
            f'<div class="tgme_widget_message_forwarded_from accent_color">Forwarded from {origin}</div>'
        )
    if msg.reply_to is not None:
        parts.append(
            f'<a class="tgme_widget_message_reply" href="https://t.me/{channel.username}/{msg.reply_to[0]}">'
            f'<div class="tgme_widget_message_author accent_color"><span class="tgme_widget_message_author_name">{escape(channel.title)}</span></div>'
            f'<div class="tgme_widget_message_text js-message_reply_text" dir="auto">{_inline(msg.reply_to[1])}</div></a>'
        )
    parts.append(_media(channel, msg))
    if msg.text:
        parts.append(
            f'<div class="tgme_widget_message_text js-message_text" dir="auto">{_inline(msg.text)}</div>'
        )
    if msg.link_preview is not None:
        title, description = msg.link_preview
        parts.append(
            f'<a class="tgme_widget_message_link_preview" href="https://example.org/article/{msg.id}">'
            '<div class="link_preview_site_name accent_color">example.org</div>'
            f'<div class="link_preview_title" dir="auto">{escape(title)}</div>'
            f'<div class="link_preview_description" dir="auto">{escape(description)}</div></a>'
        )
    when = datetime.fromtimestamp(msg.date, UTC)
    info = '<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info">'
    if msg.views is not None:
        info += f'<span class="tgme_widget_message_views">{views_text(msg.views)}</span><span class="copyonly"> views</span>'
    if msg.signature:
        info += f'<span class="tgme_widget_message_from_author" dir="auto">{escape(msg.signature)}</span>,&nbsp;'
    info += (
        f'<span class="tgme_widget_message_meta">{"edited " if msg.edited else ""}'
        f'<a class="tgme_widget_message_date" href="https://t.me/{post}">'
        f'<time datetime="{when.isoformat()}" class="time">{when:%H:%M}</time></a></span></div></div>'
    )
    parts.append(info + "</div></div></div>")
    return "".join(parts)


def _document(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f"{escape(title)}</title></head><body>{body}</body></html>"
    ).encode()


def render_page(channel: FakeChannel, before: int | None) -> bytes:
    """The /s/ page of messages with id < `before` (newest without), oldest of them first."""
    header = (
        '<div class="tgme_channel_info"><div class="tgme_channel_info_header">'
        f'<div class="tgme_channel_info_header_title"><span dir="auto">{escape(channel.title)}</span></div>'
        f'<div class="tgme_channel_info_header_username"><a href="https://t.me/{channel.username}">@{channel.username}</a></div>'
        '</div><div class="tgme_channel_info_counters"><div class="tgme_channel_info_counter">'
        '<span class="counter_value">12.3K</span> <span class="counter_type">subscribers</span></div></div></div>'
    )
    if channel.no_history:
        history = ""
    elif channel.changed_layout:
        history = "".join(
            f'<div class="tgme_post_wrap"><div class="tgme_post" data-id="{m.id}">{escape(m.text)}</div></div>'
            for m in channel.messages[-PAGE_SIZE:]
        )
    else:
        older = [m for m in channel.messages if before is None or m.id < before]
        shown = older[-PAGE_SIZE:]
        history = "".join(render_message(channel, m) for m in shown)
        if not shown:
            history = '<div class="tme_no_messages_found">No messages found</div>'
        if len(older) > len(shown):
            first = shown[0].id
            history = (
                f'<a href="/s/{channel.username}?before={first}" class="tme_messages_more js-messages_more"'
                f' data-before="{first}"></a>{history}'
            )
        if shown and before is not None and shown[-1].id < channel.messages[-1].id:
            last = shown[-1].id
            history += (
                f'<a href="/s/{channel.username}?after={last}" class="tme_messages_more js-messages_more"'
                f' data-after="{last}"></a>'
            )
    body = (
        f'<div class="tgme_header">{header}</div><main class="tgme_main"><section class="tgme_channel_history'
        f' js-message_history">{history}</section></main>'
    )
    return _document(f"{channel.title} – Telegram", body)


def render_landing(username: str, channel: FakeChannel | None) -> bytes:
    """t.me/<name> without /s/: where channels without a public preview are sent."""
    title = channel.title if channel else f"@{username}"
    body = (
        '<div class="tgme_page_wrap"><div class="tgme_page">'
        f'<div class="tgme_page_title"><span dir="auto">{escape(title)}</span></div>'
        f'<div class="tgme_page_description">If you have Telegram, you can contact @{escape(username)} right away.</div>'
        "</div></div>"
    )
    return _document(f"Telegram: Contact @{username}", body)


class FakeTelegram(FakeService):
    """The fake host: serves a Scenario, injects errors, logs every request with its time.

        with FakeTelegram(synthetic_scenario()) as tg:
            httpx.get(f"{tg.base_url}/s/demo_tg_1", params={"before": 40})

    Pages follow platforms.md §3.2: about 20 messages each, newest last. From the command line,
    `python -m spiders.fakes.telegram --port 8766` serves until Ctrl-C.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.request_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._page_calls: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return self.origin

    def calls(self, channel: str = "*") -> int:
        """Page requests received (robots.txt not counted) for `channel`, or for all with "*"."""
        with self._lock:
            return self._page_calls.get(channel.lower(), 0)

    def publish(self, username: str, n: int) -> list[FakeMessage]:
        """Post `n` new text messages to a channel, as if published between two crawls."""
        with self._lock:
            channel = self.scenario.channel(username)
            if channel is None:
                raise KeyError(username)
            fresh = make_new_messages(channel, n)
            channel.messages.extend(fresh)
            return fresh

    def max_requests_in_window(self, window: float = 1.0) -> int:
        """Most page requests inside any half-open window [t, t + window)."""
        with self._lock:
            times = [r.time for r in self.request_log if r.path != "/robots.txt"]
        return most_in_window(times, window)

    def handle(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            status, headers, body = self._answer(path, query)
            self.request_log.append(RequestRecord(time.monotonic(), path, query, status))
            return status, headers, body

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path == "/robots.txt":
            rules = "".join(f"Disallow: {p}\n" for p in self.scenario.robots_disallow)
            text = "User-agent: *\n" + (rules or "Disallow:\n")  # empty Disallow: all allowed
            return 200, {"Content-Type": "text/plain"}, text.encode()
        parts = [p for p in path.split("/") if p]
        name = (
            parts[1] if len(parts) == 2 and parts[0] == "s" else parts[0] if len(parts) == 1 else ""
        ).lower()
        total = self._page_calls["*"] = self._page_calls.get("*", 0) + 1
        nth = self._page_calls[name] = self._page_calls.get(name, 0) + 1
        for rule in self.scenario.errors:
            if (rule.channel == "*" and total in rule.nth) or (
                rule.channel == name and nth in rule.nth
            ):
                headers = (
                    {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
                )
                return rule.status, headers, b"Too Many Requests"
        if not name:
            return 404, html, _document("Not found", "<p>Not found</p>")
        channel = self.scenario.channel(name)
        if len(parts) == 1:
            return 200, html, render_landing(name, channel)
        if channel is None or channel.restricted:
            return 302, {"Location": f"/{name}"}, b""
        before = query.get("before", "")
        return 200, html, render_page(channel, int(before) if before.isdigit() else None)


class _Server(FakeHTTPServer):
    fake: FakeTelegram


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        status, headers, body = self.server.fake.handle(url.path, dict(parse_qsl(url.query)))
        rest = dict(headers)
        content_type = rest.pop("Content-Type", "text/plain")
        self.send_answer(status, body, content_type, rest.pop("Retry-After", None), rest)


def main(argv: list[str] | None = None) -> None:
    from spiders.fakes.telegram_data import ErrorRule, synthetic_scenario

    ap = argparse.ArgumentParser(description="Serve a synthetic fake t.me web preview on 127.0.0.1")
    ap.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--messages", type=int, default=65, help="messages per channel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--rate-limit-every", type=int, default=0, help="answer every nth page with 429"
    )
    a = ap.parse_args(argv)
    scenario = synthetic_scenario(a.channels, a.messages, a.seed)
    if a.rate_limit_every > 0:
        scenario.errors.append(ErrorRule(range(a.rate_limit_every, 100_000, a.rate_limit_every)))
    fake = FakeTelegram(scenario).start(a.port)
    serve_until_stopped(fake, fake.base_url)


FakeTelegram.handler = _Handler


if __name__ == "__main__":
    main()
