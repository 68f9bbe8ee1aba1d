"""Data model and deterministic synthetic scenarios for the local fake VK API.

Texts come from the shared neutral templates (`spiders.fakes.texts`).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from spiders.fakes.texts import NEWS, REPOST_COMMENTS, VK_WELCOME

NOW = 1767225600  # 2026-01-01T00:00:00Z, fixed reference time of synthetic scenarios
DAY = 86400
FIRST_GROUP_ID = 5550001
USER_POOL = [100000 + 7919 * k for k in range(1, 16)]  # positive user ids (authors)
REPOST_SOURCE_OWNERS = [-5559001, -5559002, -5559003, -5559004]


@dataclass
class FakePost:
    id: int
    owner_id: int
    from_id: int
    date: int
    text: str
    views: int | None
    likes: int
    reposts: int
    comments: int
    is_pinned: bool = False
    copy_history: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    # Ground truth for tests/benchmarks; never served by the fake API.
    flagged: bool = False
    lang: str | None = None

    def to_vk(self) -> dict[str, Any]:
        """The wall.get / newsfeed.search item (v=5.199 names; ground-truth fields omitted)."""
        obj: dict[str, Any] = {
            "id": self.id,
            "from_id": self.from_id,
            "owner_id": self.owner_id,
            "date": self.date,
            "marked_as_ads": 0,
            "post_type": "post",
            "text": self.text,
        }
        if self.is_pinned:
            obj["is_pinned"] = 1
        if self.attachments is not None:
            obj["attachments"] = self.attachments
        if self.copy_history is not None:
            obj["copy_history"] = self.copy_history
        obj["comments"] = {"count": self.comments}
        obj["likes"] = {"count": self.likes}
        obj["reposts"] = {"count": self.reposts}
        if self.views is not None:
            obj["views"] = {"count": self.views}
        return obj


@dataclass
class FakeCommunity:
    id: int  # positive group id
    screen_name: str
    name: str
    posts: list[FakePost]  # newest first (id descending), pinned post first if any
    is_closed: int = 0
    deactivated: str | None = None  # "deleted" / "banned"
    wall_error: int | None = None  # error code wall.get returns for this community
    # (k, n): after the k-th wall.get call on this community, n new posts appear at the top
    new_posts_after_call: tuple[int, int] | None = None


@dataclass
class ErrorRule:
    method: str  # "wall.get", ... or "*" (then nth counts all calls to the server)
    code: int | None = None  # VK error code, answered as HTTP 200 + {"error": ...}
    http_status: int | None = None  # or a bare HTTP status (429, 500, 503)
    nth: Collection[int] = field(default_factory=frozenset)  # 1-based call numbers

    def __post_init__(self) -> None:
        if (self.code is None) == (self.http_status is None):
            raise ValueError("ErrorRule needs exactly one of code / http_status")
        self.nth = frozenset(self.nth)


@dataclass
class Scenario:
    communities: list[FakeCommunity]
    errors: list[ErrorRule] = field(default_factory=list)
    search_posts: dict[str, list[FakePost]] = field(default_factory=dict)
    now: int = NOW  # newsfeed.search without start_time returns only the 24 h before this


# fmt: off
SEARCH_TERMS = ["ИГИЛ", "ISIS", "Ислам мемлекеті", "Islom davlati", "Ислом давлати", "ИШИД",
                "ДИИШ", "ДАИШ", "Хизб ут-Тахрир", "Hizb ut-Tahrir"]
# fmt: on


def _neutral_text(rng: random.Random, lang: str) -> str:
    count = 1 if rng.random() < 0.7 else 2
    return " ".join(NEWS.sentence(rng, lang) for _ in range(count))


def _media(rng: random.Random, owner_id: int, date: int, lang: str) -> dict[str, Any]:
    media_id = rng.randint(456239000, 456299999)
    if rng.random() < 0.5:
        sizes = [{"type": "x", "width": 604, "height": 403, "url": "https://example.invalid/p.jpg"}]
        photo = {"id": media_id, "owner_id": owner_id, "date": date, "text": "", "sizes": sizes}
        return {"type": "photo", "photo": photo}
    video = {
        "id": media_id,
        "owner_id": owner_id,
        "date": date,
        "duration": rng.randint(10, 600),
        "title": NEWS.sentence(rng, lang),
    }
    return {"type": "video", "video": video}


def _counters(rng: random.Random) -> tuple[int, int, int, int]:
    likes = rng.randint(0, 300)
    return likes, rng.randint(0, 40), rng.randint(0, 60), likes * rng.randint(10, 40) + 37


def _make_wall(
    rng: random.Random, gid: int, n: int, pinned: bool, flagged_share: float, group_ids: list[int]
) -> list[FakePost]:
    owner = -gid
    k_pinned = 1 if pinned and n > 0 else 0
    m = n - k_pinned
    dates = sorted(NOW - rng.randint(60, 60 * DAY) for _ in range(m))  # oldest first
    kinds = [
        "empty" if r < 0.05 else "repost" if r < 0.15 else "text"
        for r in (rng.random() for _ in range(m))
    ]
    text_idx = [i for i, kind in enumerate(kinds) if kind == "text"]
    flagged = set(rng.sample(text_idx, min(len(text_idx), round(flagged_share * n))))
    posts: list[FakePost] = []
    post_id = 1 + k_pinned
    for i, date in enumerate(dates):
        post_id += rng.randint(1, 3)
        likes, reposts, comments, views = _counters(rng)
        from_id = rng.choice(USER_POOL) if rng.random() < 0.2 else owner
        post = FakePost(post_id, owner, from_id, date, "", views, likes, reposts, comments)
        post.lang = NEWS.language(rng, flagged=i in flagged)
        if kinds[i] == "empty":
            post.attachments = [_media(rng, owner, date, post.lang)]
        elif kinds[i] == "repost":
            src_owner = rng.choice(REPOST_SOURCE_OWNERS + [-g for g in group_ids if g != gid])
            src_date = date - rng.randint(600, 5 * DAY)
            src = {
                "id": rng.randint(1, 50000),
                "owner_id": src_owner,
                "from_id": src_owner,
                "date": src_date,
                "post_type": "post",
                "text": _neutral_text(rng, post.lang),
            }
            post.copy_history = [src]
            post.text = rng.choice(REPOST_COMMENTS[post.lang]) if rng.random() < 0.5 else ""
        elif i in flagged:
            post.text = rng.choice(NEWS.flagged[post.lang])
            post.flagged = True
        else:
            post.text = _neutral_text(rng, post.lang)
            if rng.random() < 0.1:
                post.attachments = [_media(rng, owner, date, post.lang)]
        if rng.random() < 0.02:
            post.views = None
        posts.append(post)
    posts.reverse()  # newest first
    if k_pinned:
        pin = FakePost(
            1, owner, owner, NOW - 400 * DAY, VK_WELCOME, 5120, 41, 9, 0, True, lang="ru"
        )
        posts.insert(0, pin)
    return posts


def synthetic_scenario(
    communities: int = 6,
    posts_per_community: int = 450,
    seed: int = 0,
    closed: int = 1,
    deleted: int = 1,
    flagged_share: float = 0.05,
    with_errors: bool = True,
    new_posts: tuple[int, int] | None = None,
) -> Scenario:
    """Deterministic scenario. Order: open communities, then `deleted`, then `closed` (last).

    Every community (also closed/deleted ones, whose walls are unreachable) gets
    `posts_per_community` posts; the first one has an old pinned post at the top.
    `new_posts=(k, n)` sets `new_posts_after_call` on the first community.
    """
    rng = random.Random(seed)
    closed = max(0, min(closed, communities))
    deleted = max(0, min(deleted, communities - closed))
    n_open = communities - closed - deleted
    group_ids = [FIRST_GROUP_ID + i for i in range(communities)]
    result: list[FakeCommunity] = []
    for i, gid in enumerate(group_ids):
        posts = _make_wall(rng, gid, posts_per_community, i == 0, flagged_share, group_ids)
        comm = FakeCommunity(gid, f"demo_news_{i + 1}", f"Demo News {i + 1}", posts)
        if i >= communities - closed:
            comm.is_closed, comm.wall_error = 1, 15
        elif i >= n_open:
            comm.deactivated, comm.wall_error = "deleted", 18
        result.append(comm)
    if new_posts is not None and result:
        result[0].new_posts_after_call = new_posts
    errors: list[ErrorRule] = []
    if with_errors:
        errors = [
            ErrorRule("wall.get", code=6, nth={3, 7}),
            ErrorRule("wall.get", http_status=503, nth={5}),
        ]
    search: dict[str, list[FakePost]] = {}
    visible = [p for c in result[:n_open] for p in c.posts]
    for term in SEARCH_TERMS:
        low = term.lower()
        hits = [p for p in visible if low in p.text.lower()]
        search[term] = sorted(hits, key=lambda p: (p.date, p.owner_id, p.id), reverse=True)
    return Scenario(result, errors, search)


def make_new_posts(owner_id: int, after_id: int, after_date: int, n: int) -> list[FakePost]:
    """Posts published mid-crawl: ids above `after_id`, dates after `after_date`, newest first."""
    rng = random.Random(owner_id * 7919 + after_id)
    posts = []
    for j in range(1, n + 1):
        likes, reposts, comments, views = _counters(rng)
        text = NEWS.sentence(rng, "ru")
        posts.append(
            FakePost(
                after_id + j,
                owner_id,
                owner_id,
                after_date + 60 * j,
                text,
                views,
                likes,
                reposts,
                comments,
                lang="ru",
            )
        )
    posts.reverse()
    return posts
