"""Data model and deterministic synthetic scenarios for the local fake OK REST API.

Texts come from the OK set of the shared neutral templates (`spiders.fakes.texts`).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from spiders.fakes.texts import OK_NEWS, OK_WELCOME

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, fixed reference time of synthetic scenarios
DAY_MS = 86_400_000
FIRST_GROUP_ID = 57_000_000_000_001
MISSING_GROUP_ID = "57999999999999"  # no group has this id in any synthetic scenario
USER_POOL = [f"{575_000_000_000 + 7919 * k}" for k in range(1, 16)]  # app-scoped user ids


@dataclass
class FakeTopic:
    id: str
    group_id: str
    created_ms: int
    text: str
    author_ref: str
    likes: int
    comments: int
    reshares: int
    views: int | None = None
    is_sticky: bool = False
    is_promo: bool = False
    extra_media: list[dict[str, Any]] = field(default_factory=list)  # photo / link blocks
    # Ground truth for tests and benchmarks; never served by the fake API.
    flagged: bool = False
    lang: str | None = None

    def to_ok(self) -> dict[str, Any]:
        """The media topic as mediatopic.getTopics returns it (platforms.md §2.4 shape)."""
        media: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        obj: dict[str, Any] = {
            "id": self.id,
            "created_ms": self.created_ms,
            "author_ref": self.author_ref,
            "owner_ref": f"group:{self.group_id}",
            "is_sticky": self.is_sticky,
            "is_promo": self.is_promo,
            "media": media + self.extra_media,
            "like_summary": {"count": self.likes},
            "reshare_summary": {"count": self.reshares},
            "discussion_summary": {"comments_count": self.comments},
        }
        if self.views is not None:
            obj["views_summary"] = {"count": self.views}
        return obj


@dataclass
class FakeGroup:
    uid: str
    shortname: str
    name: str
    topics: list[FakeTopic]  # sticky topics first, then newest first
    access_type: str = "OPEN"  # OPEN / CLOSED / SECRET
    # (k, n): after the k-th mediatopic.getTopics call on this group, n new topics appear on top
    new_topics_after_call: tuple[int, int] | None = None


@dataclass
class ErrorRule:
    """Answer the nth calls of `method` ("*": of any method) with an OK error and/or a status."""

    method: str
    code: int | None = None  # OK error code, as {"error_code": …} (HTTP 200 unless http_status)
    http_status: int | None = None  # alone: a bare HTTP error (429, 500, 503)
    nth: Collection[int] = field(default_factory=frozenset)  # 1-based call numbers

    def __post_init__(self) -> None:
        if self.code is None and self.http_status is None:
            raise ValueError("ErrorRule needs an error code, an HTTP status, or both")
        self.nth = frozenset(self.nth)


@dataclass
class Scenario:
    groups: list[FakeGroup]
    errors: list[ErrorRule] = field(default_factory=list)

    def public(self) -> list[FakeGroup]:
        return [g for g in self.groups if g.access_type == "OPEN"]


def _topic(rng: random.Random, gid: str, topic_id: int, created_ms: int) -> FakeTopic:
    author = f"user:{rng.choice(USER_POOL)}" if rng.random() < 0.2 else f"group:{gid}"
    lang = OK_NEWS.language(rng)
    return FakeTopic(
        id=str(topic_id),
        group_id=gid,
        created_ms=created_ms,
        text=OK_NEWS.sentence(rng, lang),
        author_ref=author,
        likes=rng.randint(0, 300),
        comments=rng.randint(0, 40),
        reshares=rng.randint(0, 60),
        views=rng.randint(100, 9000) if rng.random() < 0.8 else None,
        lang=lang,
    )


def _make_topics(
    rng: random.Random, gid: str, index: int, n: int, sticky: bool, flagged_share: float
) -> list[FakeTopic]:
    base_id = 155_000_000_000_000 + index * 10_000_000
    k_sticky = 1 if sticky and n > 0 else 0
    m = n - k_sticky
    times = sorted(NOW_MS - rng.randint(60_000, 60 * DAY_MS) for _ in range(m))  # oldest first
    flagged = set(rng.sample(range(m), min(m, round(flagged_share * m))))
    topics: list[FakeTopic] = []
    topic_id = base_id + 100
    for i, created in enumerate(times):
        topic_id += rng.randint(1, 5)
        topic = _topic(rng, gid, topic_id, created)
        roll = rng.random()
        if i in flagged:
            topic.lang = rng.choice(list(OK_NEWS.flagged))
            topic.text, topic.flagged = rng.choice(OK_NEWS.flagged[topic.lang]), True
        elif roll < 0.05:
            topic.text = ""  # a photo-only topic: counted, nothing to classify
            topic.extra_media = [{"type": "photo", "list": [{"id": str(topic_id * 3)}]}]
        elif roll < 0.10:
            topic.extra_media = [{"type": "link", "url": "https://example.org/news"}]
        elif roll < 0.12:
            topic.is_promo = True
        topics.append(topic)
    topics.reverse()  # newest first
    if k_sticky:
        pin = FakeTopic(str(base_id + 1), gid, NOW_MS - 400 * DAY_MS, OK_WELCOME, f"group:{gid}",
                        41, 0, 9, 5120, is_sticky=True, lang="ru")  # fmt: skip
        topics.insert(0, pin)
    return topics


def synthetic_scenario(
    groups: int = 4,
    topics_per_group: int = 120,
    seed: int = 0,
    closed: int = 1,
    flagged_share: float = 0.05,
    with_errors: bool = True,
    new_topics: tuple[int, int] | None = None,
) -> Scenario:
    """Deterministic scenario: open groups first, then `closed` CLOSED ones (last).

    The first group has an old sticky topic on top. `new_topics=(k, n)` makes n topics appear
    in the first group after its k-th page is served. MISSING_GROUP_ID is never a group.
    """
    rng = random.Random(seed)
    closed = max(0, min(closed, groups))
    result: list[FakeGroup] = []
    for i in range(groups):
        gid = str(FIRST_GROUP_ID + i)
        topics = _make_topics(rng, gid, i, topics_per_group, i == 0, flagged_share)
        group = FakeGroup(gid, f"demo.news{i + 1}", f"Demo News {i + 1}", topics)
        if i >= groups - closed:
            group.access_type = "CLOSED"
        result.append(group)
    if new_topics is not None and result:
        result[0].new_topics_after_call = new_topics
    errors: list[ErrorRule] = []
    if with_errors:
        errors = [
            ErrorRule("mediatopic.getTopics", code=2, nth={2}),  # SERVICE: retried
            ErrorRule("mediatopic.getTopics", http_status=503, nth={4}),
        ]
    return Scenario(result, errors)


def make_new_topics(group: FakeGroup, n: int) -> list[FakeTopic]:
    """Topics published mid-crawl: ids and times above every regular topic, newest first."""
    regular = [t for t in group.topics if not t.is_sticky]
    after_id = max((int(t.id) for t in group.topics), default=0)
    after_ms = max((t.created_ms for t in regular), default=NOW_MS)
    rng = random.Random(int(group.uid) * 7919 + after_id)
    fresh = [_topic(rng, group.uid, after_id + j, after_ms + 60_000 * j) for j in range(1, n + 1)]
    fresh.reverse()
    return fresh
