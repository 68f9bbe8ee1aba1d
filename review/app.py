"""The review app: server-rendered pages (Starlette + Jinja2), no front-end build, no inline script.

Routes (every one but /login and /static needs a signed-in account):

    GET  /login, POST /login, POST /logout
    GET  /                     the queue: what is waiting for me, what I labelled
    POST /next                 lease the next item and open it
    GET  /item/{id}            an item I hold a lease on
    POST /item/{id}/label      store my labels, then the next item
    POST /item/{id}/skip       give it back (not offered to me again), then the next item
    POST /item/{id}/reveal     record that the text was revealed (the audit trail)
    GET  /item/{id}/change     back to an item I labelled in this session: my labels, to change
    POST /item/{id}/change     store the changed labels (audited with old and new value)
    GET  /break                a calm page for a break (ends the open text's exposure)
    GET  /settings, POST /settings   my blur preference; the wellbeing limits
    GET  /lead                 leads and admins: progress per stratum, exposure per reviewer
    GET  /lead/disputes        leads: items whose two reviewers disagree, to adjudicate
    GET  /lead/adjudicate/{id} leads: an item's labels side by side
    POST /lead/adjudicate/{id} leads: store the decision (it wins), then the next dispute
    GET  /lead/agreement       leads: agreement per topic and per reviewer
    POST /lead/export          leads: the adjudicated labels as a CSV sheet
    GET  /admin/users          admins: the accounts

Every POST carries the session's CSRF token (the login form a token of its own, paired with a
cookie) and is refused without it. Handlers run in a worker thread: the database calls block.

The next item is not prefetched: knowing it means claiming it (a second lease, holding a slot
of a K-reviewer item another reviewer could take), its GET is audited as a view, and its page is
never cached (no-store). Static files carry a content hash in their address and are cached for
good instead, so the next item costs one request for its HTML and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from classifiers.base import TOPICS
from review import auth, items, leads, queue
from review.auth import Role, SessionInfo
from review.items import TOPIC_NAMES, load_item
from review.security import SecurityHeaders
from review.wellbeing import (
    EventCache,
    Exposure,
    Limits,
    exposure,
    exposure_by_user,
    minutes,
    window,
)
from storage import audit
from storage.engine import utc_now
from storage.models import ReviewLease, ReviewUser
from storage.topics import ANY_TOPIC

__all__ = ["COOKIE", "LOGIN_COOKIE", "AppSettings", "create_app"]

HERE = Path(__file__).resolve().parent
COOKIE = "vemeter_review_session"
LOGIN_COOKIE = "vemeter_review_login"
# A reviewer's own choice to see texts unblurred ("off") or blurred ("on"); unset: Limits.blur.
BLUR_COOKIE = "vemeter_review_blur"
MAX_FORM_BYTES = 64 * 1024
MAX_NOTE = 2000
# Fixed notices the queue page may show (?m=KEY): the page never echoes text from the URL.
NOTICES = {
    "empty": "Nothing is waiting for you in this sample: every item has its reviewers.",
    "lost": "Your lease on that item ran out and it went back to the queue; nothing was stored.",
    "again": "You labelled that item already; your first labels stand.",
    "changed": "Your changed labels are stored.",
    "unchanged": "Nothing was changed.",
    "settings": "Your settings are stored.",
}
OWN_ITEM = (
    "You labelled this item as one of its reviewers: another lead adjudicates it. (A team with "
    "a single lead sets review.app.adjudicate_own_items: true in the project config.)"
)
LEAD_NOTICES = {
    "done": "No disputed item is left to adjudicate in this sample.",
    "saved": "Decision stored.",
}


@dataclass
class AppSettings:
    """What the app runs on; tests swap the clock and the lease time."""

    engine: Engine
    sample_id: int | None = None  # None: the newest sample at each request
    lease_time: timedelta = queue.LEASE_TIME
    clock: Callable[[], datetime] = utc_now
    secure_cookies: bool = False  # set when served over HTTPS (behind a TLS proxy)
    allowed_hosts: list[str] | None = None  # Host headers accepted; None: any (tests)
    # Adjudication shows "Reviewer A / B" unless this is set (a lead who sees names may lean
    # towards the more senior reviewer).
    show_reviewer_names: bool = False
    # A lead may adjudicate an item they labelled as a reviewer only when this is set (a team
    # with a single lead); otherwise another lead decides it.
    adjudicate_own_items: bool = False
    limits: Limits = field(default_factory=Limits)  # break reminder, daily cap, blur default
    events: EventCache = field(default_factory=EventCache, init=False)  # for exposure
    templates: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
        )
        # /static/NAME?v=HASH: the address changes with the file, so browsers may keep it.
        versions = {
            f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:12]
            for f in (HERE / "static").iterdir()
            if f.is_file()
        }
        self.templates.globals["static"] = lambda name: f"/static/{name}?v={versions[name]}"
        self.templates.globals["minutes"] = minutes


@dataclass
class Ctx:
    """One request as handlers see it: the signed-in session and the posted form."""

    request: Request
    settings: AppSettings
    session: SessionInfo
    form: dict[str, str]

    @property
    def engine(self) -> Engine:
        return self.settings.engine


def _settings(request: Request) -> AppSettings:
    settings: AppSettings = request.app.state.settings
    return settings


def render(
    settings: AppSettings,
    template: str,
    status_code: int = 200,
    session: SessionInfo | None = None,
    **context: Any,
) -> HTMLResponse:
    page = settings.templates.get_template(template).render(
        user=session.user if session else None,
        csrf=session.csrf if session else "",
        Role=Role,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def _error(
    settings: AppSettings, status: int, message: str, session: SessionInfo | None
) -> Response:
    return render(settings, "error.html", status, session, code=status, message=message)


async def _read_form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST (at most MAX_FORM_BYTES); {} for any other body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "The form is too large.")
    if kind != "application/x-www-form-urlencoded":
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "The form could not be read.") from None
    return dict(pairs)


def _same_origin(request: Request) -> bool:
    """A browser's POST names its origin: it must be this app's (defence beside the token)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


Handler = Callable[[Ctx], Response]


def requires(role: Role) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """An endpoint for signed-in users of `role` or above; POSTs must carry the CSRF token.

    Anonymous: a page redirects to /login, a POST is refused (403). A lesser role: 403.
    """

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        def guarded(request: Request, form: dict[str, str]) -> Response:
            settings = _settings(request)
            token = request.cookies.get(COOKIE)
            session = auth.session_for(settings.engine, token, settings.clock())
            if request.method == "POST":
                if session is None:
                    return _error(settings, 403, "Sign in first.", None)
                if not _same_origin(request) or not auth.csrf_matches(
                    session.csrf, form.get("csrf")
                ):
                    return _error(
                        settings, 403, "The form's security token is missing or wrong.", session
                    )
            elif session is None:
                return RedirectResponse("/login", status_code=303)
            if session.user.role < role:
                return _error(settings, 403, "Your role may not open this page.", session)
            return handler(Ctx(request, settings, session, form))

        async def endpoint(request: Request) -> Response:
            form = await _read_form(request) if request.method == "POST" else {}
            # The session and the handler in one trip to a worker thread, not two.
            return await run_in_threadpool(guarded, request, form)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


# --- sign-in -------------------------------------------------------------------------------


def _login_page(settings: AppSettings, status: int = 200, message: str | None = None) -> Response:
    token = auth.new_token()
    response = render(settings, "login.html", status, None, login_csrf=token, message=message)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/login",
    )
    return response


async def login_page(request: Request) -> Response:
    settings = _settings(request)
    session = await run_in_threadpool(
        auth.session_for, settings.engine, request.cookies.get(COOKIE), settings.clock()
    )
    if session is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(settings)


async def login(request: Request) -> Response:
    settings = _settings(request)
    form = await _read_form(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not _same_origin(request) or not auth.csrf_matches(expected, form.get("csrf")):
        return _error(settings, 403, "The form's security token is missing or wrong.", None)
    name = form.get("name", "").strip()
    password = form.get("password", "")
    address = request.client.host if request.client else "unknown"
    return await run_in_threadpool(_login, settings, name, password, address)


def _login(settings: AppSettings, name: str, password: str, address: str) -> Response:
    engine = settings.engine
    if not auth.login_allowed(engine, name, address, settings.clock()):
        return _login_page(
            settings, 429, "Too many failed sign-ins: wait 15 minutes, then try again."
        )
    user = auth.verify_login(engine, name, password) if name and password else None
    auth.record_attempt(engine, name, address, ok=user is not None)
    if user is None:
        audit.record(
            engine, "login_failed", user=None, detail={"name": name[:64], "address": address},
            at=settings.clock(),
        )  # fmt: skip
        return _login_page(settings, 401, "Wrong name or password.")
    audit.record(engine, "login", user=user.name, detail={"address": address},
                 at=settings.clock())  # fmt: skip
    token = auth.start_session(engine, user, settings.clock())
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@requires(Role.reviewer)
def logout(ctx: Ctx) -> Response:
    auth.end_session(ctx.engine, ctx.request.cookies.get(COOKIE))
    audit.record(ctx.engine, "logout", user=ctx.session.user.name, at=ctx.settings.clock())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


# --- the queue -----------------------------------------------------------------------------


def _sample(ctx: Ctx) -> int | None:
    if ctx.settings.sample_id is not None:
        return ctx.settings.sample_id
    return queue.current_sample(ctx.engine)


@dataclass(frozen=True)
class Wellbeing:
    """A reviewer's exposure now and the items they labelled in this sign-in session."""

    exposure: Exposure
    labelled: list[int]  # in the order first labelled in this session

    def before(self, item_id: int | None) -> int | None:
        """The item labelled before `item_id` in this session (None: the last one labelled)."""
        if item_id is None:
            return self.labelled[-1] if self.labelled else None
        at = self.labelled.index(item_id) if item_id in self.labelled else 0
        return self.labelled[at - 1] if at > 0 else None


def _wellbeing(ctx: Ctx) -> Wellbeing:
    now, limits, started = ctx.settings.clock(), ctx.settings.limits, ctx.session.started
    since = window(now, limits, started)
    events = ctx.settings.events.events(ctx.engine, ctx.session.user.name, since)
    labelled: list[int] = []
    for e in events:
        in_session = started is None or e.at >= started
        if e.action == "label" and e.item_id is not None and in_session:
            labelled.append(e.item_id)
    labelled = list(dict.fromkeys(labelled))  # first labelled first, each once
    return Wellbeing(exposure(events, now, limits, started), labelled)


def _blurred(ctx: Ctx) -> bool:
    """Whether this reviewer sees texts blurred until revealed."""
    choice = ctx.request.cookies.get(BLUR_COOKIE)
    return ctx.settings.limits.blur if choice not in ("on", "off") else choice == "on"


@requires(Role.reviewer)
def home(ctx: Ctx) -> Response:
    sample_id = _sample(ctx)
    status = (
        queue.queue_status(ctx.engine, ctx.session.user, sample_id, ctx.settings.clock())
        if sample_id is not None
        else None
    )
    notice = NOTICES.get(ctx.request.query_params.get("m", ""))
    well = _wellbeing(ctx)
    return render(ctx.settings, "queue.html", 200, ctx.session, status=status, notice=notice,
                  exposure=well.exposure, back=well.before(None))  # fmt: skip


def _next(ctx: Ctx) -> Response:
    well = _wellbeing(ctx)
    if well.exposure.capped:
        # No lease is taken: the item stays in the queue for others.
        return render(ctx.settings, "cap.html", 200, ctx.session, exposure=well.exposure)
    sample_id = _sample(ctx)
    item_id = (
        queue.claim_next(
            ctx.engine,
            ctx.session.user,
            sample_id,
            ctx.settings.clock(),
            lease_time=ctx.settings.lease_time,
        )
        if sample_id is not None
        else None
    )
    if item_id is None:
        return RedirectResponse("/?m=empty", status_code=303)
    return RedirectResponse(f"/item/{item_id}", status_code=303)


@requires(Role.reviewer)
def next_item(ctx: Ctx) -> Response:
    return _next(ctx)


@requires(Role.reviewer)
def item_page(ctx: Ctx) -> Response:
    item_id = int(ctx.request.path_params["item_id"])
    if not queue.held_lease(ctx.engine, ctx.session.user, item_id, ctx.settings.clock()):
        return _error(
            ctx.settings,
            409,
            "This item is not leased to you (a lease ends after "
            f"{int(ctx.settings.lease_time.total_seconds() // 60)} minutes without a label). "
            "Take the next item from the queue.",
            ctx.session,
        )
    return _item(ctx, item_id, "item")


def _item(
    ctx: Ctx, item_id: int, page: str, given: dict[str, str] | None = None, note: str = ""
) -> Response:
    """The item page; `page` "change" is an item labelled before, with `given` labels."""
    item = load_item(ctx.engine, item_id)
    if item is None:
        return _error(ctx.settings, 404, "No such item.", ctx.session)
    blurred = _blurred(ctx)
    detail: dict[str, Any] = {"page": page}
    if not blurred and item.has_text:
        detail["shown"] = True  # the text is on screen from now on (the exposure counts it)
    _view(ctx, page, item_id, detail)
    well = _wellbeing(ctx)
    return render(
        ctx.settings,
        "item.html",
        200,
        ctx.session,
        item=item,
        page=page,
        blurred=blurred,
        given=given or {},
        note=note,
        topics=[(t, TOPIC_NAMES[t]) for t in TOPICS],
        topic_names=TOPIC_NAMES,
        labels=queue.LABELS,
        max_note=MAX_NOTE,
        exposure=well.exposure,
        back=well.before(item_id if page == "change" else None),
    )


def _labels_from(form: dict[str, str]) -> dict[str, str]:
    """{topic: label} from the item form: `label` (required) and `topic.NAME` (optional)."""
    overall = form.get("label", "")
    if overall not in queue.LABELS:
        raise ValueError("Choose yes, no or unsure for the item (keys 1, 2, 3).")
    labels = {ANY_TOPIC: overall}
    for topic in TOPICS:
        value = form.get(f"topic.{topic}", "")
        if value == "":
            continue
        if value not in queue.LABELS:
            raise ValueError(f"{TOPIC_NAMES[topic]}: choose yes, no or unsure.")
        labels[topic] = value
    return labels


@requires(Role.reviewer)
def label_item(ctx: Ctx) -> Response:
    item_id = int(ctx.request.path_params["item_id"])
    try:
        labels = _labels_from(ctx.form)
    except ValueError as exc:
        return _error(ctx.settings, 400, str(exc), ctx.session)
    note = ctx.form.get("note", "").strip()[:MAX_NOTE] or None
    try:
        queue.submit(ctx.engine, ctx.session.user, item_id, labels, note, ctx.settings.clock())
    except queue.LeaseLost:
        return RedirectResponse("/?m=lost", status_code=303)
    except queue.AlreadyLabelled:
        return RedirectResponse("/?m=again", status_code=303)
    return _next(ctx)


@requires(Role.reviewer)
def reveal_item(ctx: Ctx) -> Response:
    """The page's script reports a reveal here, for the audit trail; nothing is shown."""
    item_id = int(ctx.request.path_params["item_id"])
    page = ctx.form.get("page", "item")
    audit.record(
        ctx.engine, "reveal", user=ctx.session.user.name, item_id=item_id,
        detail={"page": page if page in ("item", "adjudicate", "change") else "item"},
        at=ctx.settings.clock(),
    )  # fmt: skip
    return Response(status_code=204)


@requires(Role.reviewer)
def skip_item(ctx: Ctx) -> Response:
    item_id = int(ctx.request.path_params["item_id"])
    queue.skip(ctx.engine, ctx.session.user, item_id, ctx.settings.clock())
    return _next(ctx)


def _changeable(ctx: Ctx, item_id: int) -> Response | None:
    """None when the reviewer may change their labels of the item; else the page saying why."""
    if item_id not in _wellbeing(ctx).labelled:
        return _error(
            ctx.settings,
            403,
            "You can go back only to items you labelled since you signed in.",
            ctx.session,
        )
    return None


@requires(Role.reviewer)
def change_page(ctx: Ctx) -> Response:
    item_id = int(ctx.request.path_params["item_id"])
    refused = _changeable(ctx, item_id)
    if refused is not None:
        return refused
    given, note = items.own_labels(ctx.engine, ctx.session.user, item_id)
    return _item(ctx, item_id, "change", given, note or "")


@requires(Role.reviewer)
def change_item(ctx: Ctx) -> Response:
    item_id = int(ctx.request.path_params["item_id"])
    refused = _changeable(ctx, item_id)
    if refused is not None:
        return refused
    try:
        labels = _labels_from(ctx.form)
    except ValueError as exc:
        return _error(ctx.settings, 400, str(exc), ctx.session)
    note = ctx.form.get("note", "").strip()[:MAX_NOTE] or None
    now = ctx.settings.clock()
    try:
        changed = items.relabel(ctx.engine, ctx.session.user, item_id, labels, note, now)
    except items.Decided:
        return _error(
            ctx.settings, 409, "A lead has decided this item already: your labels stay as they "
            "were.", ctx.session,
        )  # fmt: skip
    except items.NotLabelled:
        return _error(ctx.settings, 404, "You have no labels on this item.", ctx.session)
    held = items.live_lease(ctx.engine, ctx.session.user, now)
    if held is not None:  # back to the item the reviewer was on
        return RedirectResponse(f"/item/{held}", status_code=303)
    return RedirectResponse(f"/?m={'changed' if changed else 'unchanged'}", status_code=303)


@requires(Role.reviewer)
def break_page(ctx: Ctx) -> Response:
    _view(ctx, "break")  # ends the exposure of a text left open
    well = _wellbeing(ctx)
    lease_minutes = int(ctx.settings.lease_time.total_seconds() // 60)
    return render(ctx.settings, "break.html", 200, ctx.session, exposure=well.exposure,
                  lease_minutes=lease_minutes)  # fmt: skip


@requires(Role.reviewer)
def settings_page(ctx: Ctx) -> Response:
    notice = NOTICES.get(ctx.request.query_params.get("m", ""))
    return render(ctx.settings, "settings.html", 200, ctx.session, blurred=_blurred(ctx),
                  limits=ctx.settings.limits, notice=notice,
                  exposure=_wellbeing(ctx).exposure)  # fmt: skip


@requires(Role.reviewer)
def save_settings(ctx: Ctx) -> Response:
    choice = ctx.form.get("blur", "")
    if choice not in ("on", "off"):
        return _error(
            ctx.settings, 400, "Choose whether texts are blurred: on or off.", ctx.session
        )
    old = "on" if _blurred(ctx) else "off"
    if choice != old:
        audit.record(ctx.engine, "setting", user=ctx.session.user.name,
                     detail={"blur": {"old": old, "new": choice}}, at=ctx.settings.clock())  # fmt: skip
    response = RedirectResponse("/settings?m=settings", status_code=303)
    response.set_cookie(BLUR_COOKIE, choice, max_age=400 * 24 * 3600, httponly=True,
                        samesite="strict", secure=ctx.settings.secure_cookies, path="/")  # fmt: skip
    return response


# --- leads and admins ----------------------------------------------------------------------


@requires(Role.lead)
def lead_page(ctx: Ctx) -> Response:
    from storage.review import reviewed_strata

    sample_id = _sample(ctx)
    strata = reviewed_strata(ctx.engine, sample_id) if sample_id is not None else []
    with ctx.engine.connect() as conn:
        leased = conn.execute(
            select(func.count()).where(
                ReviewLease.done_at.is_(None), ReviewLease.expires_at > ctx.settings.clock()
            )
        ).scalar_one()
    rows = [
        {
            "cell": ", ".join(f"{k}={v}" for k, v in s.cell.items()) or "all",
            "stratum": s.stratum,
            "sampled": s.sampled,
            "reviewed": s.reviewed,
            "unsure": s.unsure,
            "disputed": s.disputed,
            "unlabelled": s.unlabelled,
        }
        for s in strata
    ]
    limits = ctx.settings.limits
    return render(
        ctx.settings, "lead.html", 200, ctx.session, sample_id=sample_id, rows=rows,
        leased=leased, limits=limits,
        exposures=exposure_by_user(ctx.engine, ctx.settings.clock(), limits),
    )  # fmt: skip


def _view(
    ctx: Ctx, page: str, item_id: int | None = None, detail: dict[str, Any] | None = None
) -> None:
    audit.record(
        ctx.engine, "view", user=ctx.session.user.name, item_id=item_id,
        detail=detail or {"page": page}, at=ctx.settings.clock(),
    )  # fmt: skip


@requires(Role.lead)
def disputes_page(ctx: Ctx) -> Response:
    sample_id = _sample(ctx)
    found = leads.disputes(ctx.engine, sample_id) if sample_id is not None else []
    own = (
        set()
        if ctx.settings.adjudicate_own_items
        else leads.labelled_by(ctx.engine, [d.item_id for d in found], ctx.session.user.name)
    )
    _view(ctx, "disputes")
    return render(
        ctx.settings,
        "disputes.html",
        200,
        ctx.session,
        sample_id=sample_id,
        disputes=found,
        own=own,
        topic_name=leads.topic_name,
        notice=LEAD_NOTICES.get(ctx.request.query_params.get("m", "")),
    )


def _adjudication(ctx: Ctx) -> tuple[int, int, leads.AdjudicationView] | Response:
    item_id = int(ctx.request.path_params["item_id"])
    sample_id = _sample(ctx)
    view = (
        leads.adjudication_view(
            ctx.engine, sample_id, item_id, show_names=ctx.settings.show_reviewer_names
        )
        if sample_id is not None
        else None
    )
    if sample_id is None or view is None:
        return _error(
            ctx.settings, 404, "This item has no two reviewers' labels to adjudicate.", ctx.session
        )
    lead = ctx.session.user.name
    if not ctx.settings.adjudicate_own_items and leads.labelled_by(ctx.engine, [item_id], lead):
        return _error(ctx.settings, 403, OWN_ITEM, ctx.session)
    return sample_id, item_id, view


@requires(Role.lead)
def adjudicate_page(ctx: Ctx) -> Response:
    found = _adjudication(ctx)
    if isinstance(found, Response):
        return found
    sample_id, item_id, view = found
    item = load_item(ctx.engine, item_id)
    if item is None:
        return _error(ctx.settings, 404, "No such item.", ctx.session)
    _view(ctx, "adjudicate", item_id,
          {"page": "adjudicate", "shown": True} if not _blurred(ctx) and item.has_text else None)  # fmt: skip
    return render(
        ctx.settings,
        "adjudicate.html",
        200,
        ctx.session,
        item=item,
        blurred=_blurred(ctx),
        exposure=_wellbeing(ctx).exposure,
        view=view,
        topic_names=TOPIC_NAMES,
        labels=queue.LABELS,
        max_note=MAX_NOTE,
        remaining=len(leads.disputes(ctx.engine, sample_id)),
    )


@requires(Role.lead)
def adjudicate_item(ctx: Ctx) -> Response:
    found = _adjudication(ctx)
    if isinstance(found, Response):
        return found
    sample_id, item_id, view = found
    decisions: dict[str, str] = {}
    for row in view.rows:
        value = ctx.form.get(f"decide.{row.topic}", "")
        if value == "":
            if row.disputed:
                return _error(
                    ctx.settings,
                    400,
                    f"{row.name}: choose yes, no or unsure (every disputed topic needs a "
                    "decision).",
                    ctx.session,
                )
            continue
        if value not in queue.LABELS:
            return _error(ctx.settings, 400, f"{row.name}: choose yes, no or unsure.", ctx.session)
        decisions[row.topic] = value
    if not decisions:
        return _error(ctx.settings, 400, "Nothing was decided.", ctx.session)
    note = ctx.form.get("note", "").strip()[:MAX_NOTE] or None
    allow_own = ctx.settings.adjudicate_own_items
    try:
        leads.adjudicate(ctx.engine, ctx.session.user, item_id, decisions, note,
                         ctx.settings.clock(), allow_own=allow_own)  # fmt: skip
    except leads.OwnItem:
        return _error(ctx.settings, 403, OWN_ITEM, ctx.session)
    left = [d.item_id for d in leads.disputes(ctx.engine, sample_id) if d.item_id != item_id]
    if not allow_own:
        mine = leads.labelled_by(ctx.engine, left, ctx.session.user.name)
        left = [i for i in left if i not in mine]
    if left:
        return RedirectResponse(f"/lead/adjudicate/{left[0]}", status_code=303)
    return RedirectResponse("/lead/disputes?m=done", status_code=303)


def _estimate(value: float, low: float | None = None, high: float | None = None) -> str:
    """A figure for the agreement page: 0.62 [0.41, 0.80], or an en dash when undefined."""
    if value != value:  # NaN
        return "–"
    if low is None or high is None or low != low or high != high:
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


@requires(Role.lead)
def agreement_page(ctx: Ctx) -> Response:
    sample_id = _sample(ctx)
    topics = leads.agreement_by_topic(ctx.engine, sample_id) if sample_id is not None else []
    reviewers = leads.agreement_by_reviewer(ctx.engine, sample_id) if sample_id is not None else []
    _view(ctx, "agreement")
    return render(
        ctx.settings,
        "agreement.html",
        200,
        ctx.session,
        sample_id=sample_id,
        topics=topics,
        reviewers=reviewers,
        est=_estimate,
    )


@requires(Role.lead)
def export_labels(ctx: Ctx) -> Response:
    sample_id = _sample(ctx)
    if sample_id is None:
        return _error(ctx.settings, 404, "No review sample yet.", ctx.session)
    body, rows = leads.export_adjudications(ctx.engine, sample_id)
    audit.record(
        ctx.engine,
        "export",
        user=ctx.session.user.name,
        detail={"sample": sample_id, "what": "adjudications", "rows": rows},
        at=ctx.settings.clock(),
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="adjudications-sample-{sample_id}.csv"'
        },
    )


@requires(Role.admin)
def users_page(ctx: Ctx) -> Response:
    with ctx.engine.connect() as conn:
        users = conn.execute(
            select(
                ReviewUser.name, ReviewUser.role, ReviewUser.active, ReviewUser.created_at
            ).order_by(ReviewUser.name)
        ).all()
    return render(ctx.settings, "users.html", 200, ctx.session, users=users)


async def http_error(request: Request, exc: Exception) -> Response:
    settings = _settings(request)
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    messages = {404: "No such page.", 405: "Not allowed here."}
    detail = exc.detail if isinstance(exc, HTTPException) else ""
    message = messages.get(status, detail if isinstance(detail, str) else "Error.")
    return _error(settings, status, message, None)


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/", home, methods=["GET"]),
    Route("/next", next_item, methods=["POST"]),
    Route("/item/{item_id:int}", item_page, methods=["GET"]),
    Route("/item/{item_id:int}/label", label_item, methods=["POST"]),
    Route("/item/{item_id:int}/skip", skip_item, methods=["POST"]),
    Route("/item/{item_id:int}/reveal", reveal_item, methods=["POST"]),
    Route("/item/{item_id:int}/change", change_page, methods=["GET"]),
    Route("/item/{item_id:int}/change", change_item, methods=["POST"]),
    Route("/break", break_page, methods=["GET"]),
    Route("/settings", settings_page, methods=["GET"]),
    Route("/settings", save_settings, methods=["POST"]),
    Route("/lead", lead_page, methods=["GET"]),
    Route("/lead/disputes", disputes_page, methods=["GET"]),
    Route("/lead/adjudicate/{item_id:int}", adjudicate_page, methods=["GET"]),
    Route("/lead/adjudicate/{item_id:int}", adjudicate_item, methods=["POST"]),
    Route("/lead/agreement", agreement_page, methods=["GET"]),
    Route("/lead/export", export_labels, methods=["POST"]),
    Route("/admin/users", users_page, methods=["GET"]),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]


def create_app(settings: AppSettings) -> Starlette:
    middleware = [Middleware(SecurityHeaders)]
    if settings.allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts))
    app = Starlette(
        routes=ROUTES,
        middleware=middleware,
        exception_handlers={HTTPException: http_error},
    )
    app.state.settings = settings
    return app
