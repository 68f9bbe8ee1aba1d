"""The review app over HTTP (Starlette's TestClient): access, CSRF, roles, the queue's guarantees,
blind review and escaped content."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from httpx import Response
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.routing import Mount, Route

from review.app import COOKIE, ROUTES
from review.auth import MAX_FAILURES_PER_NAME, User
from review.queue import LEASE_TIME
from review.security import CSP
from storage.models import ReviewItem, ReviewLabel, ReviewLease
from storage.review import reviewed_strata
from tests.review.conftest import (
    PASSWORD,
    XSS_SOURCE,
    XSS_TEXTS,
    XSS_URL,
    Clock,
    ReviewClient,
    csrf_of,
    make_sample,
)

Client = Callable[[str | None], ReviewClient]
PUBLIC = {"/login"}
# The page's one script, the app's own, at its versioned address.
ONE_SCRIPT = re.compile(r'<script src="/static/review\.js\?v=[0-9a-f]{12}" defer>')


def _item_of(response: Response) -> int:
    location = response.headers["location"]
    found = re.fullmatch(r"/item/(\d+)", location)
    assert found, f"expected a redirect to an item, got {location!r}"
    return int(found.group(1))


def take(client: ReviewClient) -> int | None:
    """POST /next: the item leased, or None when the queue is empty for this user."""
    response = client.post("/next", data={"csrf": client.csrf})
    assert response.status_code == 303
    if response.headers["location"] == "/?m=empty":
        return None
    return _item_of(response)


def label(client: ReviewClient, item: int, value: str = "yes", **extra: str) -> str:
    """Label an item; returns where the app sent the browser next."""
    data = {"csrf": client.csrf, "label": value, **extra}
    response = client.post(f"/item/{item}/label", data=data)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_every_route_but_login_refuses_anonymous_requests(
    engine: Engine, client_for: Client
) -> None:
    sample = make_sample(engine, ["synthetic post"])
    anonymous = client_for(None)
    checked = 0
    for route in ROUTES:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        path = route.path.replace("{item_id:int}", str(sample.items[0]))
        for method in sorted(route.methods or ()):
            if method == "HEAD" or route.path in PUBLIC:
                continue
            response = anonymous.request(method, path, data={"csrf": "x"})
            if method == "GET":
                assert response.status_code == 303, path
                assert response.headers["location"] == "/login"
            else:
                assert response.status_code == 403, path
            assert "synthetic post" not in response.text
            checked += 1
    # logout, queue, next, item, label, reveal, skip, change (GET, POST), break, settings (GET,
    # POST), lead, disputes, adjudicate (GET, POST), agreement, export, users
    assert checked == 19
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/review.js").status_code == 200


def test_security_headers_and_cookie_flags(client_for: Client) -> None:
    anonymous = client_for(None)
    page = anonymous.get("/login")
    assert page.headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert ONE_SCRIPT.fullmatch("".join(re.findall(r"<script[^>]*>", page.text)))
    response = anonymous.post(
        "/login", data={"csrf": csrf_of(page.text), "name": "ann", "password": PASSWORD}
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    static = anonymous.get("/static/review.js")
    assert static.headers["content-security-policy"] == CSP


def test_posts_without_the_csrf_token_are_refused(engine: Engine, client_for: Client) -> None:
    make_sample(engine, ["synthetic post"])
    ann = client_for("ann")
    assert ann.post("/next").status_code == 403
    assert ann.post("/next", data={"csrf": "not-the-token"}).status_code == 403
    other_site = ann.post(
        "/next",
        data={"csrf": ann.csrf},
        headers={"origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert ann.post("/logout").status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReviewLease)).scalar_one() == 0
    assert take(ann) is not None
    # The sign-in form has its own token, paired with a cookie.
    anonymous = client_for(None)
    refused = anonymous.post("/login", data={"name": "ann", "password": PASSWORD})
    assert refused.status_code == 403 and COOKIE not in refused.headers.get("set-cookie", "")


def test_roles_reviewers_are_refused_on_lead_and_admin_pages(client_for: Client) -> None:
    ann, lea, adm = client_for("ann"), client_for("lea"), client_for("adm")
    assert ann.get("/lead").status_code == 403
    assert ann.get("/admin/users").status_code == 403
    assert lea.get("/lead").status_code == 200
    assert lea.get("/admin/users").status_code == 403
    assert adm.get("/lead").status_code == 200
    users_page = adm.get("/admin/users")
    assert users_page.status_code == 200 and "lea" in users_page.text
    assert ">Progress<" not in ann.get("/").text


def test_k_reviewers_per_item_and_never_one_reviewer_twice(
    engine: Engine, client_for: Client
) -> None:
    sample = make_sample(engine, ["synthetic one", "synthetic two"], double=frozenset({0}))
    double, single = sample.items
    ann, bob, cat = client_for("ann"), client_for("bob"), client_for("cat")
    first = take(ann)
    assert first == double
    assert take(ann) == double  # a reload gives the same leased item
    assert take(bob) == double  # K = 2: a second reviewer gets it at once
    assert take(cat) == single  # both slots of the double item are held
    assert take(cat) == single
    label(ann, double, "yes")
    label(bob, double, "no", note="synthetic note")
    label(cat, single, "no")
    assert take(ann) is None  # the single item has its one reviewer
    assert take(bob) is None
    assert take(cat) is None  # cat may not take the double item: it has its two
    # A label is given once: a second post of the same item is refused.
    assert label(ann, double, "no") == "/?m=lost"
    with engine.connect() as conn:
        per_item = dict(
            conn.execute(
                select(ReviewLabel.item_id, func.count(func.distinct(ReviewLabel.reviewer)))
                .where(ReviewLabel.topic == "*")
                .group_by(ReviewLabel.item_id)
            ).all()
        )
        ann_label = conn.execute(
            select(ReviewLabel.label).where(
                ReviewLabel.item_id == double, ReviewLabel.reviewer == "ann"
            )
        ).scalar_one()
    assert per_item == {double: 2, single: 1}
    assert ann_label == "yes"
    # The database itself refuses a third slot and a second lease of one user on one item.
    for slot, user in ((2, 3), (0, 3)):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                insert(ReviewLease).values(
                    item_id=double, slot=slot, user_id=user, reviewer="cat",
                    leased_at=func.now(), expires_at=func.now(),
                )
            )  # fmt: skip


def test_an_abandoned_lease_returns_the_item_to_the_queue(
    engine: Engine, client_for: Client, clock: Clock
) -> None:
    sample = make_sample(engine, ["synthetic post"])
    (item,) = sample.items
    ann, bob = client_for("ann"), client_for("bob")
    assert take(ann) == item
    assert take(bob) is None  # leased to ann
    assert bob.get(f"/item/{item}").status_code == 409
    clock.advance(seconds=LEASE_TIME.total_seconds() + 1)
    assert take(bob) == item  # ann's lease ran out: the item went back
    assert ann.get(f"/item/{item}").status_code == 409
    assert label(ann, item, "yes") == "/?m=lost"  # ann's late label is not stored
    assert label(bob, item, "no") == "/?m=empty"
    with engine.connect() as conn:
        labels = conn.execute(select(ReviewLabel.reviewer, ReviewLabel.label)).all()
        leases = conn.execute(select(ReviewLease.reviewer, ReviewLease.done_at)).all()
    assert [tuple(r) for r in labels] == [("bob", "no")]
    assert len(leases) == 1 and leases[0].reviewer == "bob" and leases[0].done_at is not None


def test_skip_gives_the_item_to_others_not_back_to_me(engine: Engine, client_for: Client) -> None:
    sample = make_sample(engine, ["synthetic one", "synthetic two"])
    ann, bob = client_for("ann"), client_for("bob")
    assert take(ann) == sample.items[0]
    response = ann.post(f"/item/{sample.items[0]}/skip", data={"csrf": ann.csrf})
    assert _item_of(response) == sample.items[1]
    assert take(bob) == sample.items[0]


def test_labels_are_stored_for_the_estimates_and_settle_items(
    engine: Engine, client_for: Client
) -> None:
    sample = make_sample(engine, ["synthetic one", "synthetic two"])
    ann = client_for("ann")
    first = take(ann)
    assert first == sample.items[0]
    nxt = label(ann, first, "yes", **{"topic.recruitment": "yes", "topic.financing": "no"},
                note="synthetic note")  # fmt: skip
    assert nxt == f"/item/{sample.items[1]}"
    label(ann, sample.items[1], "unsure")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ReviewLabel.item_id, ReviewLabel.topic, ReviewLabel.label, ReviewLabel.note
            ).order_by(ReviewLabel.item_id, ReviewLabel.topic)
        ).all()
        settled = dict(conn.execute(select(ReviewItem.id, ReviewItem.settled)).all())
    assert [tuple(r) for r in rows] == [
        (first, "*", "yes", "synthetic note"),
        (first, "financing", "no", None),
        (first, "recruitment", "yes", None),
        (sample.items[1], "*", "unsure", None),
    ]
    assert settled == {first: True, sample.items[1]: False}  # unsure does not settle
    (stratum,) = reviewed_strata(engine, sample.sample_id)
    assert (stratum.reviewed, stratum.positives, stratum.unsure) == (1, 1, 1)


def test_bad_labels_are_refused_and_nothing_is_stored(engine: Engine, client_for: Client) -> None:
    make_sample(engine, ["synthetic post"])
    ann = client_for("ann")
    item = take(ann)
    for data in ({}, {"label": "maybe"}, {"label": "yes", "topic.recruitment": "perhaps"}):
        response = ann.post(f"/item/{item}/label", data={"csrf": ann.csrf, **data})
        assert response.status_code == 400
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReviewLabel)).scalar_one() == 0


def test_review_is_blind(engine: Engine, client_for: Client) -> None:
    sample = make_sample(engine, ["synthetic post"], double=frozenset({0}))
    (item,) = sample.items
    ann, bob = client_for("ann"), client_for("bob")
    assert take(ann) == item
    label(ann, item, "yes", note="annsecretnote")
    assert take(bob) == item
    page = bob.get(f"/item/{item}").text
    assert "annsecretnote" not in page and "ann" not in page
    assert "checked" not in page  # nothing preselected


def test_payloads_in_text_source_and_url_render_as_text(engine: Engine, client_for: Client) -> None:
    sample = make_sample(engine, list(XSS_TEXTS), source=XSS_SOURCE, urls=[XSS_URL] * 4)
    ann = client_for("ann")
    for item in sample.items:
        assert take(ann) == item
        page = ann.get(f"/item/{item}").text
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert 'href="javascript:' not in page
        assert page.count("</textarea>") == 1  # the note's own
        assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the source name, as text
        assert 'value="javascript:alert(1)"' in page  # the url is an input's value, not a link
        assert ONE_SCRIPT.fullmatch("".join(re.findall(r"<script[^>]*>", page)))
        assert re.search(r"\son[a-z]+=", re.sub(r"&lt;.*?&gt;", "", page)) is None
        label(ann, item, "no")
    first = ann.get("/")  # the queue, for completeness
    assert first.status_code == 200
    # The lexicon match is highlighted inside escaped text.
    assert take(ann) is None


def test_highlight_pieces_are_escaped_separately(engine: Engine, client_for: Client) -> None:
    sample = make_sample(engine, ["<b>recruitment</b> synthetic"])
    ann = client_for("ann")
    assert take(ann) == sample.items[0]
    page = ann.get(f"/item/{sample.items[0]}").text
    assert '&lt;b&gt;<mark class="hit" title="Recruitment">recruitment</mark>&lt;/b&gt;' in page
    assert "Recruitment</span>" in page  # the content warning names the tagged topic


def test_login_is_rate_limited(client_for: Client) -> None:
    anonymous = client_for(None)
    for _ in range(MAX_FAILURES_PER_NAME):
        page = anonymous.get("/login")
        response = anonymous.post(
            "/login", data={"csrf": csrf_of(page.text), "name": "ann", "password": "wrong password"}
        )
        assert response.status_code == 401
    page = anonymous.get("/login")
    response = anonymous.post(
        "/login", data={"csrf": csrf_of(page.text), "name": "ann", "password": PASSWORD}
    )
    assert response.status_code == 429  # even the right password, until the window passes
    assert COOKIE not in response.headers.get("set-cookie", "")
    assert client_for("bob").get("/").status_code == 200  # another name is not locked out


def test_sign_out_ends_the_session_on_the_server(
    client_for: Client, users: dict[str, User]
) -> None:
    ann = client_for("ann")
    token = ann.cookies.get(COOKIE)
    assert ann.post("/logout", data={"csrf": ann.csrf}).status_code == 303
    stale = client_for(None)
    stale.cookies.set(COOKIE, token or "")
    assert stale.get("/").status_code == 303
