"""Review app fixtures: a small sample with XSS payloads, accounts of each role, a movable clock."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from review import auth
from review.app import AppSettings, create_app
from review.auth import Role, User, add_user
from storage.models import Post, ReviewItem, ReviewSample
from storage.records import PostRecord, TagRecord
from storage.runs import finish_run, start_run
from storage.writer import PostWriter

PASSWORD = "correct horse battery"
T0 = datetime(2025, 3, 1, tzinfo=UTC)

# Post texts and source names that would run script if they reached the page as markup.
XSS_TEXTS = (
    "<script>alert(1)</script> synthetic recruitment call",
    "<img src=x onerror=alert(1)> synthetic post",
    '<a href="javascript:alert(1)">click</a> synthetic post',
    "</textarea><script>alert(1)</script> synthetic post",
)
XSS_SOURCE = "<img src=x onerror=alert(1)>"
XSS_URL = "javascript:alert(1)"


@dataclass
class Clock:
    """A clock the test moves by hand (naive UTC, as stored)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class Sample:
    sample_id: int
    items: list[int]  # item ids in review order
    double: set[int]  # the items that need two reviewers


def make_sample(engine: Engine, texts: list[str], *, double: frozenset[int] = frozenset(),
                source: str = "s", sources: list[str] | None = None,
                urls: list[str | None] | None = None) -> Sample:  # fmt: skip
    """Posts with these texts, one review item each in this order; `double` are indexes."""
    run = start_run(engine, project="p", config_hash="h", version="0", classifiers={})
    records = []
    for i, text in enumerate(texts):
        term = "recruitment"
        start = text.find(term)
        tags = (
            [TagRecord("topic", "recruitment", 1.0, "lexicon", "1",
                       [{"term": term, "start": start, "end": start + len(term)}])]
            if start >= 0 else []
        )  # fmt: skip
        records.append(
            PostRecord(
                platform="vk",
                source=sources[i] if sources else source,
                target="t",
                post_id=f"p{i}",
                published_at=T0 + timedelta(hours=i),
                language="ru",
                script="Cyrl",
                language_probability=0.9,
                flagged=bool(tags),
                has_text=True,
                text=text,
                url=(urls[i] if urls else f"https://example.org/p{i}"),
                views=100 + i,
                tags=tags,
            )
        )
    PostWriter(engine, run).write(records)
    finish_run(engine, run, status="ok", new=len(records), seen=0, flagged=0, requests=0)
    with engine.begin() as conn:
        sample_id = conn.execute(
            insert(ReviewSample).values(
                kind="prevalence", project="p", config_hash="h", created_at=T0, since=None,
                until=T0 + timedelta(days=30), by_keys="", seed=1, size=len(texts),
                design={"strata": [{"cell": {}, "stratum": "flagged", "size": len(texts),
                                    "views": 0}]},
            ).returning(ReviewSample.id)
        ).scalar_one()  # fmt: skip
        posts = conn.execute(select(Post.id, Post.post_id)).all()
        by_post = {post_id: pk for pk, post_id in posts}
        ids = []
        for i in range(len(texts)):
            item = conn.execute(
                    insert(ReviewItem).values(
                        sample_id=sample_id, post_pk=by_post[f"p{i}"], position=i, cell="{}",
                        stratum="flagged", stratum_size=len(texts), stratum_views=None,
                        inclusion_probability=1.0, draws=1, views=None,
                        double_label=i in double, settled=False,
                ).returning(ReviewItem.id)
            ).scalar_one()  # fmt: skip
            ids.append(item)
    return Sample(int(sample_id), [int(i) for i in ids], {int(ids[i]) for i in double})


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its smallest cost: these tests are about the app, not the hash's strength
    (the parameters of a stored hash travel with it, so verifying is unaffected)."""
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def users(engine: Engine) -> dict[str, User]:
    return {
        name: add_user(engine, name, role, PASSWORD)
        for name, role in (
            ("ann", Role.reviewer), ("bob", Role.reviewer), ("cat", Role.reviewer),
            ("lea", Role.lead), ("adm", Role.admin),
        )
    }  # fmt: skip


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class ReviewClient(TestClient):
    """A TestClient that knows its session's CSRF token."""

    csrf: str = ""


@pytest.fixture
def app_settings(engine: Engine, clock: Clock) -> AppSettings:
    return AppSettings(engine=engine, clock=clock)


@pytest.fixture
def client_for(
    app_settings: AppSettings, users: dict[str, User]
) -> Iterator[Callable[[str | None], ReviewClient]]:
    """A signed-in TestClient per user name (None: anonymous); the client's .csrf is set."""
    app = create_app(app_settings)
    made: list[ReviewClient] = []

    def make(name: str | None) -> ReviewClient:
        client = ReviewClient(app, follow_redirects=False)
        client.__enter__()
        made.append(client)
        if name is not None:
            page = client.get("/login")
            response = client.post(
                "/login", data={"csrf": csrf_of(page.text), "name": name, "password": PASSWORD}
            )
            assert response.status_code == 303, response.text
            client.csrf = csrf_of(client.get("/").text)
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)
