"""Accounts, passwords, server-side sessions, CSRF tokens and login rate limiting.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile).
A session is a random token in an HttpOnly, SameSite=Strict cookie; the database keeps only
its SHA-256, so a leaked table opens no session. Each session carries its own CSRF token,
which every form posts back. Failed sign-ins are counted per name and per address over a
window; past the limit, sign-in is refused before the password is even checked.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Select, String, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from crawler.errors import InputError
from review.connections import autocommit
from storage.engine import utc_naive, utc_now
from storage.models import ReviewLoginAttempt, ReviewSession, ReviewUser

__all__ = [
    "LOGIN_WINDOW",
    "MAX_FAILURES_PER_ADDRESS",
    "MAX_FAILURES_PER_NAME",
    "SESSION_IDLE",
    "Role",
    "SessionInfo",
    "User",
    "add_user",
    "check_password_rules",
    "csrf_matches",
    "end_session",
    "login_allowed",
    "new_token",
    "record_attempt",
    "session_for",
    "start_session",
    "verify_login",
]

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_PASSWORD = 10
# A session ends after this long without a request, and in any case after SESSION_MAX.
SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)
# Sign-in is refused for a name with this many failures in LOGIN_WINDOW, and for an address
# with MAX_FAILURES_PER_ADDRESS (one machine trying many names).
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20

_hasher = PasswordHasher()
# Verified against when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class Role(IntEnum):
    """Roles in increasing power: each may do what the ones below it may."""

    reviewer = 1
    lead = 2
    admin = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value]
        except KeyError:
            raise InputError(
                f"role: {value!r} is not a role (use reviewer, lead or admin)"
            ) from None


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role


@dataclass(frozen=True)
class SessionInfo:
    user: User
    csrf: str
    started: datetime | None = None  # when the sign-in began (naive UTC)


def new_token() -> str:
    """A random URL-safe token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: shorter than {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InputError("password: longer than 1024 characters")


def add_user(engine: Engine, name: str, role: Role, password: str) -> User:
    """Create an account; InputError when the name is taken or not a valid name."""
    if not NAME_RULE.match(name):
        raise InputError(
            f"name: {name!r} is not a user name (letters, digits, '_', '.' and '-', at most 64, "
            "starting with a letter or digit)"
        )
    check_password_rules(password)
    try:
        with engine.begin() as conn:
            user_id = conn.execute(
                insert(ReviewUser)
                .values(
                    name=name,
                    role=role.name,
                    password_hash=_hasher.hash(password),
                    active=True,
                    created_at=utc_now(),
                )
                .returning(ReviewUser.id)
            ).scalar_one()
    except IntegrityError:
        raise InputError(f"user {name!r} exists already") from None
    return User(int(user_id), name, role)


def login_allowed(engine: Engine, name: str, address: str, now: datetime | None = None) -> bool:
    """False while the name or the address has too many recent failed sign-ins."""
    since = (now or utc_now()) - LOGIN_WINDOW
    failed = (ReviewLoginAttempt.ok.is_(False), ReviewLoginAttempt.at > since)
    with engine.connect() as conn:
        by_name = conn.execute(
            select(func.count()).where(ReviewLoginAttempt.name == name[:64], *failed)
        ).scalar_one()
        by_address = conn.execute(
            select(func.count()).where(ReviewLoginAttempt.address == address[:64], *failed)
        ).scalar_one()
    return by_name < MAX_FAILURES_PER_NAME and by_address < MAX_FAILURES_PER_ADDRESS


def record_attempt(engine: Engine, name: str, address: str, ok: bool) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(ReviewLoginAttempt).values(
                name=name[:64], address=address[:64], ok=ok, at=utc_now()
            )
        )


def verify_login(engine: Engine, name: str, password: str) -> User | None:
    """The active user with this name and password, else None (same work either way)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ReviewUser.id, ReviewUser.name, ReviewUser.role, ReviewUser.password_hash).where(
                ReviewUser.name == name[:64], ReviewUser.active.is_(True)
            )
        ).first()
    stored = str(row.password_hash) if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password[:1024])
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(stored):
        with engine.begin() as conn:
            conn.execute(
                update(ReviewUser)
                .where(ReviewUser.id == row.id)
                .values(password_hash=_hasher.hash(password[:1024]))
            )
    return User(int(row.id), str(row.name), Role[str(row.role)])


def start_session(engine: Engine, user: User, now: datetime | None = None) -> str:
    """A new session for `user`; returns the cookie's token (only its digest is stored)."""
    token = new_token()
    now = utc_naive(now) if now is not None else utc_now()
    with engine.begin() as conn:
        # Sessions of anyone that ended are cleared here, so the table stays small.
        conn.execute(delete(ReviewSession).where(ReviewSession.expires_at <= now))
        conn.execute(
            insert(ReviewSession).values(
                id=_digest(token),
                user_id=user.id,
                csrf=new_token(),
                created_at=now,
                seen_at=now,
                expires_at=now + SESSION_IDLE,
            )
        )
    return token


@functools.cache
def _session_query() -> Select[str, datetime, datetime, datetime, int, str, str]:
    """A session's row by its key (:s_key), with its user's. Built once: every request runs it."""
    return (
        select(
            ReviewSession.csrf,
            ReviewSession.created_at,
            ReviewSession.expires_at,
            ReviewSession.seen_at,
            ReviewUser.id,
            ReviewUser.name,
            ReviewUser.role,
        )
        .join(ReviewUser, ReviewUser.id == ReviewSession.user_id)
        .where(ReviewSession.id == bindparam("s_key", type_=String()), ReviewUser.active.is_(True))
    )


def session_for(
    engine: Engine, token: str | None, now: datetime | None = None
) -> SessionInfo | None:
    """The live session of a cookie token, its idle expiry moved on; None if there is none."""
    if not token or len(token) > 128:
        return None
    now = utc_naive(now) if now is not None else utc_now()
    key = _digest(token)
    with autocommit(engine) as conn:
        row = conn.execute(_session_query(), {"s_key": key}).first()
        if row is None or utc_naive(row.expires_at) <= now:
            return None
        if now - utc_naive(row.seen_at) > timedelta(minutes=1):
            # Move the idle expiry on at most once a minute: one write per page would be
            # wasteful. One statement, on the same connection.
            expires = min(now + SESSION_IDLE, utc_naive(row.created_at) + SESSION_MAX)
            conn.execute(
                update(ReviewSession)
                .where(ReviewSession.id == key)
                .values(seen_at=now, expires_at=expires)
            )
    return SessionInfo(
        User(int(row.id), str(row.name), Role[str(row.role)]),
        str(row.csrf),
        utc_naive(row.created_at),
    )


def end_session(engine: Engine, token: str | None) -> None:
    if not token:
        return
    with engine.begin() as conn:
        conn.execute(delete(ReviewSession).where(ReviewSession.id == _digest(token)))
