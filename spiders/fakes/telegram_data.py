"""Deterministic synthetic channels of short, neutral news texts for the fake Telegram web preview.

Texts come from the shared neutral templates (`spiders.fakes.texts`), as the fake VK walls' do.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from spiders.fakes.texts import NEWS

NOW = 1767225600  # 2026-01-01T00:00:00Z, fixed reference time of synthetic scenarios
DAY = 86400
EMOJI = ("📰", "☀️", "⚽", "📚", "🚧")
FORWARD_SOURCES = (("Городские новости", "city_news_demo"), ("Regional Digest", "regional_digest"))
HIDDEN_SENDERS = ("Айдар К.", "Nodira S.", "Reader")
SIGNATURES = ("Айгерим Н.", "Editor", "Бахтиёр")


@dataclass
class FakeMessage:
    """One channel message; `text` is plain text (\\n for line breaks), rendered as HTML."""

    id: int
    date: int  # Unix seconds
    text: str = ""
    views: int | None = None
    edited: bool = False
    service: bool = False
    forward: tuple[str, str | None] | None = None  # (name, url); url None: origin hidden
    reply_to: tuple[int, str] | None = None  # (message id, quoted text)
    photos: int = 0  # more than one: an album
    videos: int = 0
    sticker: bool = False
    link_preview: tuple[str, str] | None = None  # (title, description)
    signature: str | None = None
    # Ground truth for tests and benchmarks; never served.
    flagged: bool = False
    lang: str | None = None

    @property
    def ids_used(self) -> int:
        """Telegram gives every album item its own id; the album shows the first one."""
        return max(1, self.photos + self.videos)


@dataclass
class FakeChannel:
    username: str
    title: str
    messages: list[FakeMessage]  # oldest first, ids ascending
    restricted: bool = False  # /s/<name> redirects to the landing page /<name>
    no_history: bool = False  # the preview shows the header but no message history
    changed_layout: bool = False  # pages use markup the parser does not know

    @property
    def posts(self) -> list[FakeMessage]:
        """What a crawl must store: every message except service messages."""
        return [m for m in self.messages if not m.service]

    @property
    def reachable(self) -> bool:
        return not (self.restricted or self.no_history or self.changed_layout)


@dataclass
class ErrorRule:
    """Answer the nth page requests (1-based; of `channel`, or of all with "*") with `status`."""

    nth: Collection[int]
    status: int = 429
    retry_after: int | None = 1
    channel: str = "*"

    def __post_init__(self) -> None:
        self.nth = frozenset(self.nth)


@dataclass
class Scenario:
    channels: list[FakeChannel]
    errors: list[ErrorRule] = field(default_factory=list)
    robots_disallow: list[str] = field(default_factory=list)  # paths for robots.txt

    def channel(self, username: str) -> FakeChannel | None:
        return next((c for c in self.channels if c.username == username.lower()), None)


def views_text(views: int) -> str:
    """Views as the preview shows them: 845, 1.2K, 12.3K, 123K, 3M (truncated, not rounded)."""
    for limit, suffix in ((1_000_000, "M"), (1_000, "K")):
        if views >= limit:
            value = Decimal(views) / limit
            digits = Decimal("1") if value >= 100 else Decimal("0.1")
            shown = value.quantize(digits, rounding=ROUND_DOWN)
            return f"{shown.normalize():f}{suffix}"
    return str(views)


def shown_views(views: int | None) -> int | None:
    """The views count a parser can recover from `views_text` (precision is lost above 1000)."""
    if views is None:
        return None
    text = views_text(views)
    if text[-1] in "KM":
        return int(Decimal(text[:-1]) * (1_000 if text[-1] == "K" else 1_000_000))
    return int(text)


def _views(rng: random.Random) -> int | None:
    r = rng.random()
    if r < 0.03:
        return None
    if r < 0.08:
        return rng.randint(1_000_000, 4_000_000)
    if r < 0.6:
        return rng.randint(1_000, 90_000)
    return rng.randint(5, 999)


def _text(rng: random.Random, lang: str, msg_id: int) -> str:
    text = NEWS.sentence(rng, lang)
    roll = rng.random()
    if roll < 0.15:
        text = f"{rng.choice(EMOJI)} {text}"
    elif roll < 0.25:
        text = f"{text}\n{NEWS.sentence(rng, lang)}"
    elif roll < 0.32:
        text = f"{text}\nhttps://example.org/news?id={msg_id}&lang={lang}"
    return text


# Message kinds and their shares; every channel of 10+ messages has each kind at least once.
KINDS = {
    "pin": 2,
    "album": 8,
    "forward": 5,
    "hidden": 3,
    "reply": 5,
    "sticker": 2,
    "link": 3,
    "text": 72,
}


def _message(
    rng: random.Random, kind: str, msg_id: int, date: int, earlier: list[FakeMessage]
) -> FakeMessage:
    lang = NEWS.language(rng)
    msg = FakeMessage(msg_id, date, views=_views(rng), lang=lang)
    if kind == "pin":
        msg.service, msg.text, msg.views, msg.lang = True, "Pinned message", None, None
    elif kind == "album":
        msg.photos, msg.videos = rng.randint(2, 3), rng.randint(0, 1)
        msg.text = NEWS.sentence(rng, lang) if rng.random() < 0.6 else ""
    elif kind == "forward":
        name, handle = rng.choice(FORWARD_SOURCES)
        msg.forward = (name, f"https://t.me/{handle}/{rng.randint(10, 900)}")
        msg.text = NEWS.sentence(rng, lang)
    elif kind == "hidden":
        msg.forward = (rng.choice(HIDDEN_SENDERS), None)
        msg.text = NEWS.sentence(rng, lang)
    elif kind == "reply":
        quoted = rng.choice([m for m in earlier if m.text and not m.service] or earlier)
        msg.reply_to = (quoted.id, quoted.text.split("\n")[0][:60])
        msg.text = NEWS.sentence(rng, lang)
    elif kind == "sticker":
        msg.sticker = True
    elif kind == "link":
        msg.link_preview = (NEWS.sentence(rng, lang), NEWS.sentence(rng, lang))
    else:
        msg.text = _text(rng, lang, msg_id)
        if rng.random() < 0.1:
            msg.photos = 1
    msg.edited = not msg.service and rng.random() < 0.05
    if not msg.service and rng.random() < 0.1:
        msg.signature = rng.choice(SIGNATURES)
    return msg


def make_channel(
    rng: random.Random, username: str, title: str, n: int, flagged_share: float = 0.05
) -> FakeChannel:
    """A channel of `n` messages: "Channel created" first, then a mix over 60 days."""
    start = NOW - 60 * DAY
    messages = [FakeMessage(1, start, "Channel created", service=True)]
    dates = sorted(start + rng.randint(60, 60 * DAY - 60) for _ in range(n - 1))
    kinds = rng.choices(list(KINDS), list(KINDS.values()), k=len(dates))
    if len(dates) >= 2 * len(KINDS):  # each kind at least once, in its own part of the channel
        for i, kind in enumerate(KINDS):
            kinds[(i * len(dates)) // len(KINDS) + 1] = kind
    msg_id = 2
    for date, kind in zip(dates, kinds, strict=True):
        msg = _message(rng, kind, msg_id, date, messages)
        messages.append(msg)
        msg_id += msg.ids_used + (1 if rng.random() < 0.1 else 0)  # now and then a deleted id
    posts = [m for m in messages if not m.service]
    if posts and not any(m.edited for m in posts):
        rng.choice(posts).edited = True
    plain = [m for m in messages if m.text and not (m.service or m.forward or m.reply_to)]
    for msg in rng.sample(plain, min(len(plain), round(flagged_share * n))):
        msg.lang = NEWS.language(rng, flagged=True)
        msg.text, msg.flagged = rng.choice(NEWS.flagged[msg.lang]), True
    return FakeChannel(username, title, messages)


def synthetic_scenario(
    channels: int = 3,
    messages_per_channel: int = 65,
    seed: int = 0,
    restricted: int = 1,
    no_history: int = 1,
    changed_layout: int = 0,
) -> Scenario:
    """Deterministic scenario: `channels` open ones (demo_tg_N), then the unreachable kinds."""
    rng = random.Random(seed)
    result = [
        make_channel(rng, f"demo_tg_{i + 1}", f"Demo Telegram {i + 1}", messages_per_channel)
        for i in range(channels)
    ]
    for kind, count in (
        ("restricted", restricted),
        ("no_history", no_history),
        ("changed_layout", changed_layout),
    ):
        for i in range(count):
            channel = make_channel(rng, f"{kind}_tg_{i + 1}", f"{kind} {i + 1}", 25)
            setattr(channel, kind, True)
            result.append(channel)
    return Scenario(result)


def make_new_messages(channel: FakeChannel, n: int) -> list[FakeMessage]:
    """`n` text messages published after the channel's newest one (ids and dates above it)."""
    rng = random.Random(len(channel.messages) * 7919 + n)
    last = channel.messages[-1] if channel.messages else FakeMessage(0, NOW - DAY)
    next_id = last.id + last.ids_used
    return [
        FakeMessage(next_id + j, last.date + 60 * (j + 1), NEWS.sentence(rng, "ru"), 7, lang="ru")
        for j in range(n)
    ]
