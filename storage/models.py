"""The tables: minimal post records, their tags, crawl runs and per-target state.

Nothing here holds a person's identity: authors are keyed pseudonyms, text is kept only as the
privacy settings allow, and counts are what the tables exist for.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for large tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every vemeter table."""


class Post(Base):
    """One public post, stored once per platform and post id."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("platform", "post_id", name="uq_posts_platform_post_id"),
        Index("ix_posts_day", "day"),
        Index("ix_posts_source_target", "source", "target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    post_id: Mapped[str] = mapped_column(String(96))
    url: Mapped[str | None] = mapped_column(String(512))
    author: Mapped[str | None] = mapped_column(
        String(64), doc="HMAC-SHA256 pseudonym, never a raw id"
    )
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8))
    script: Mapped[str | None] = mapped_column(String(4))
    language_probability: Mapped[float] = mapped_column(Float)
    language_classifier: Mapped[str | None] = mapped_column(String(48), doc="name@version")
    flagged: Mapped[bool] = mapped_column(Boolean)
    is_repost: Mapped[bool] = mapped_column(Boolean, default=False)
    has_text: Mapped[bool] = mapped_column(Boolean)
    text: Mapped[str | None] = mapped_column(Text, doc="kept per privacy.keep_text")
    views: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reposts: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    # NULL where the platform does not tell (and on rows stored before migration 0005).
    edited: Mapped[bool | None] = mapped_column(Boolean, doc="edited after publication")
    forwarded_from: Mapped[str | None] = mapped_column(
        String(128), doc="public channel handle, or '(user)' / '(hidden)'; never a person's name"
    )
    is_promo: Mapped[bool | None] = mapped_column(Boolean, doc="marked as advertising")
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Tag(Base):
    """A label one classifier version gave a post; versions live side by side for comparison."""

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("post_pk", "kind", "label", "classifier", "version", name="uq_tags"),
        Index("ix_tags_label", "kind", "label"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    post_pk: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), doc="'topic' or 'language'")
    label: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    classifier: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[list[dict[str, object]] | None] = mapped_column(
        JSON, doc="matched terms and spans"
    )


class CrawlRun(Base):
    """One `vemeter crawl`: when, with which config and classifiers, and what it found."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(64))
    config_hash: Mapped[str] = mapped_column(String(32))
    vemeter_version: Mapped[str] = mapped_column(String(32))
    classifiers: Mapped[dict[str, str]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(
        String(16), doc="running, ok, partial, failed, or interrupted (its process died)"
    )
    posts_new: Mapped[int] = mapped_column(Integer, default=0)
    posts_seen: Mapped[int] = mapped_column(Integer, default=0)
    posts_flagged: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    # Where a running run runs (NULL on runs recorded before migration 0007): a later run or
    # `vemeter status` on the same host marks it interrupted once that process is gone.
    pid: Mapped[int | None] = mapped_column(Integer, doc="process id of the run")
    host: Mapped[str | None] = mapped_column(String(255), doc="host name of that process")
    # Updated by the running process every few seconds (migration 0008; NULL before): a run
    # whose heartbeat stopped is interrupted even where its pid cannot be checked (other hosts).
    heartbeat_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), doc="last sign of life of a running run"
    )


class RunTarget(Base):
    """How one target fared in one run: ok, inaccessible, rate-limited or error, and why."""

    __tablename__ = "run_targets"
    __table_args__ = (
        UniqueConstraint("run_id", "source", "target", name="uq_run_targets"),
        Index("ix_run_targets_source_target", "source", "target", "run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    posts_new: Mapped[int] = mapped_column(Integer, default=0)
    posts_seen: Mapped[int] = mapped_column(Integer, default=0)
    # Migration 0012 (NULL before): what the target's answers showed, for its yield baseline.
    observed: Mapped[int | None] = mapped_column(Integer, doc="posts the platform showed")
    pages: Mapped[int | None] = mapped_column(Integer, doc="answers read for the target")
    signal: Mapped[str | None] = mapped_column(String(32), doc="'token-rejected', if so")


class DailyCount(Base):
    """Posts and flagged posts per platform × source × target × language × topic × day.

    Kept as posts are stored, so counting never scans posts. Each post adds to one row with
    topic "*" (every post once) and to one row per topic it carries, or "(none)".
    """

    __tablename__ = "daily_counts"
    __table_args__ = (Index("ix_daily_counts_day", "day"),)

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(128), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    posts: Mapped[int] = mapped_column(BigInteger)
    flagged: Mapped[int] = mapped_column(BigInteger)


class TargetState(Base):
    """Where the last complete crawl of a target stopped, so the next run fetches only what is new."""

    __tablename__ = "target_state"
    __table_args__ = (UniqueConstraint("platform", "source", "target", name="uq_target_state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    newest_post_id: Mapped[str | None] = mapped_column(String(96))
    newest_published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    last_posts: Mapped[int] = mapped_column(Integer, default=0)


class ReviewSample(Base):
    """One random draw of posts for human review from a closed period, with its design recorded."""

    __tablename__ = "review_samples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), doc="'prevalence' or 'views'")
    project: Mapped[str] = mapped_column(String(64))
    config_hash: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by_keys: Mapped[str] = mapped_column(String(128), doc="comma-separated cell keys")
    seed: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)
    design: Mapped[dict[str, object]] = mapped_column(JSON, doc="strata, allocation, settings")


class ReviewItem(Base):
    """One sampled post: its design stratum, the stratum's size and its inclusion probability."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("sample_id", "post_pk", name="uq_review_items_sample_post"),
        Index("ix_review_items_post_pk", "post_pk"),
        Index("ix_review_items_sample_position", "sample_id", "position"),
        # The queue's scan: a sample's items not yet filled, in review order (migration 0013).
        Index(
            "ix_review_items_open",
            "sample_id",
            "position",
            postgresql_where=text("NOT filled"),
            sqlite_where=text("filled = 0"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("review_samples.id", ondelete="CASCADE"))
    post_pk: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, doc="random order in which reviewers see it")
    cell: Mapped[str] = mapped_column(String(512), doc="JSON object of the cell's key values")
    stratum: Mapped[str] = mapped_column(String(16), doc="'flagged', 'borderline' or 'low'")
    stratum_size: Mapped[int] = mapped_column(BigInteger, doc="N_h at draw time")
    stratum_views: Mapped[int | None] = mapped_column(BigInteger, doc="V_h (view samples)")
    inclusion_probability: Mapped[float] = mapped_column(Float)
    draws: Mapped[int] = mapped_column(Integer, doc="times drawn (view samples: with replacement)")
    views: Mapped[int | None] = mapped_column(BigInteger, doc="views at draw time")
    double_label: Mapped[bool] = mapped_column(Boolean, doc="to be labelled by two reviewers")
    settled: Mapped[bool] = mapped_column(
        Boolean, doc="its overall label is yes or no; until then its text is kept"
    )
    # Set by the queue once K reviewers have labelled it (never unset: labels are not removed),
    # so that claims pass over the items already done without looking at each.
    filled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="K reviewers have labelled it"
    )


class ReviewLabel(Base):
    """One reviewer's (or an adjudicator's) yes / no / unsure for one item and topic."""

    __tablename__ = "review_labels"
    __table_args__ = (
        UniqueConstraint("item_id", "reviewer", "topic", "adjudication", name="uq_review_labels"),
        Index("ix_review_labels_item_reviewer", "item_id", "reviewer"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(32), doc="a topic, or '*' for any VE content")
    label: Mapped[str] = mapped_column(String(8), doc="'yes', 'no' or 'unsure'")
    note: Mapped[str | None] = mapped_column(Text)
    adjudication: Mapped[bool] = mapped_column(Boolean, doc="an adjudicator's decision: it wins")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Setting(Base):
    """One project-wide setting kept with the data, e.g. the pseudonym key's fingerprint."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuarantinedRow(Base):
    """A post the database or validation refused: where it came from and why, never its text."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_run", "run_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), nullable=True
    )
    platform: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    post_id: Mapped[str | None] = mapped_column(String(96), doc="cut to the column's length")
    line: Mapped[int | None] = mapped_column(Integer, doc="line of an imported file")
    field: Mapped[str | None] = mapped_column(String(64), doc="the offending field, if one")
    reason: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SourceLease(Base):
    """Who runs a source now: one row per source, held by one process, kept by its heartbeat.

    A lease whose holder's heartbeat stopped (and, on this host, whose processes are gone) may
    be taken over; a free lease has no holder.
    """

    __tablename__ = "source_leases"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(300), doc="host#ns:pid:nonce, or NULL: free")
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, doc="the holding process (the service)")
    child_pid: Mapped[int | None] = mapped_column(Integer, doc="the crawl it started, if any")
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScheduleState(Base):
    """A scheduled source: its cron expression and the latest period accounted for (run or gap)."""

    __tablename__ = "schedule_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    cron: Mapped[str] = mapped_column(String(128))
    accounted_until: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), doc="every period up to here was run or written as a gap"
    )
    disabled_reason: Mapped[str | None] = mapped_column(
        Text, doc="set: periods are written as gaps instead of run"
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScheduledRun(Base):
    """One crawl the service started for a source: the period(s) it covers and how it ended."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (Index("ix_scheduled_runs_source", "source", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), doc="'scheduled' or 'catch-up'")
    slot_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), doc="the period it runs for")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(
        String(16), doc="running, ok, partial, failed, stopped or interrupted"
    )
    exit_code: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, doc="the service that started it")
    child_pid: Mapped[int | None] = mapped_column(Integer, doc="the crawl process")
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), nullable=True, doc="its crawl run"
    )
    message: Mapped[str | None] = mapped_column(Text)


class ScheduleGap(Base):
    """Periods of a source that should have run and did not, with the reason: gaps are data."""

    __tablename__ = "schedule_gaps"
    __table_args__ = (Index("ix_schedule_gaps_source", "source", "first_slot"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    first_slot: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_slot: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    periods: Mapped[int] = mapped_column(Integer, doc="scheduled periods missed")
    reason: Mapped[str] = mapped_column(
        String(16), doc="downtime, late, disabled, failed, interrupted or stopped"
    )
    detail: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    covered_by: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_runs.id", ondelete="SET NULL"),
        nullable=True,
        doc="the catch-up run that covered it; NULL: open",
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateBucket(Base):
    """A rate-limit key's recent requests, shared by every worker of a pool (PostgreSQL).

    `key` is a SHA-256 fingerprint of the key (a token, an application key, a host): never the
    key itself. Times are seconds of the database's clock, the one clock all machines share.
    """

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    starts: Mapped[str] = mapped_column(Text, doc="JSON list of the latest request starts")
    next_free: Mapped[float] = mapped_column(Float, doc="no request starts before this")
    blocked_reason: Mapped[str | None] = mapped_column(String(255), doc="why next_free was pushed")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PoolAttempt(Base):
    """One attempt of a pool job (procrastinate's job id) at one target of a source."""

    __tablename__ = "pool_attempts"
    __table_args__ = (
        Index("ix_pool_attempts_job", "job_id", "id"),
        Index("ix_pool_attempts_run", "scheduled_run"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigInteger)
    scheduled_run: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_runs.id", ondelete="SET NULL"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(512))
    attempt: Mapped[int] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, doc="the worker process")
    worker_id: Mapped[int | None] = mapped_column(BigInteger, doc="procrastinate's worker id")
    child_pid: Mapped[int | None] = mapped_column(Integer, doc="the crawl process")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(
        String(16), doc="running, ok, partial, failed, requeued or stalled"
    )
    exit_code: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)


class ReviewUser(Base):
    """An account of the review app: a reviewer labels, a lead also oversees, an admin also manages."""

    __tablename__ = "review_users"
    __table_args__ = (
        UniqueConstraint("name", name="uq_review_users_name"),
        CheckConstraint("role IN ('reviewer', 'lead', 'admin')", name="ck_review_users_role"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), doc="also the reviewer name on review_labels")
    role: Mapped[str] = mapped_column(String(16), doc="'reviewer', 'lead' or 'admin'")
    password_hash: Mapped[str] = mapped_column(String(256), doc="Argon2id, never the password")
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewSession(Base):
    """A signed-in browser: the cookie holds a random token, this row only its SHA-256."""

    __tablename__ = "review_sessions"
    __table_args__ = (Index("ix_review_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="sha256 hex of the token")
    user_id: Mapped[int] = mapped_column(ForeignKey("review_users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64), doc="the token every form of the session carries")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewLoginAttempt(Base):
    """One sign-in try, kept for rate limiting by name and by address."""

    __tablename__ = "review_login_attempts"
    __table_args__ = (
        Index("ix_review_login_attempts_name", "name", "at"),
        Index("ix_review_login_attempts_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewLease(Base):
    """One of an item's K reviewer slots: leased until `expires_at`, then done or free again.

    The primary key (item, slot) with slot 0 or 1 caps any item at two reviewers in the
    database itself; (item, user) is unique, so nobody holds two slots of one item.
    """

    __tablename__ = "review_leases"
    __table_args__ = (
        UniqueConstraint("item_id", "user_id", name="uq_review_leases_item_user"),
        CheckConstraint("slot >= 0 AND slot < 2", name="ck_review_leases_slot"),
        Index("ix_review_leases_user", "user_id", "done_at"),
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("review_users.id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(64), doc="the user's name, as on review_labels")
    leased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), doc="set when the label is stored; NULL while leased"
    )


class ReviewSkip(Base):
    """An item a reviewer skipped: not offered to them again (others still get it)."""

    __tablename__ = "review_skips"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("review_users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
    )
    skipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewAudit(Base):
    """One event of the review app, append-only: who did what to which item, and when.

    Each row carries the SHA-256 of the row before it (`prev_hash`) and of itself (`hash`,
    over its own fields and `prev_hash`), so a row changed, removed or inserted by hand breaks
    the chain (`vemeter review audit CONFIG --verify`). `prev_hash` is unique: the chain cannot
    fork. Database triggers refuse UPDATE and DELETE (storage.audit; migration 0010).
    """

    __tablename__ = "review_audit"
    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_review_audit_prev_hash"),
        Index("ix_review_audit_item", "item_id"),
        # A reviewer's exposure (review.wellbeing) reads their events by time (migration 0013).
        Index("ix_review_audit_user_at", "user_name", "at"),
        Index("ix_review_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_name: Mapped[str | None] = mapped_column(String(64), doc="NULL: nobody signed in")
    action: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(BigInteger, doc="the review item, if any")
    detail: Mapped[str] = mapped_column(Text, doc="JSON: what changed (old and new values)")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class TargetProblem(Base):
    """A likely break of a target: from the run it was first seen in until a run ended it."""

    __tablename__ = "target_problems"
    __table_args__ = (Index("ix_target_problems_target", "source", "target"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    problem: Mapped[str] = mapped_column(String(32), doc="'likely-break'")
    kind: Mapped[str] = mapped_column(String(32), doc="'nothing-matched', 'layout-changed', …")
    detail: Mapped[str | None] = mapped_column(Text)
    first_run: Mapped[int] = mapped_column(BigInteger)
    last_run: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SourceHealth(Base):
    """A source switched off because its credentials were rejected, until they change."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    disabled_reason: Mapped[str] = mapped_column(Text)
    disabled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    run_id: Mapped[int | None] = mapped_column(BigInteger, doc="the run that was refused")
    credentials: Mapped[str | None] = mapped_column(
        String(64), doc="SHA-256 prefix of the credentials then set, never the credentials"
    )


class AlertEvent(Base):
    """One alert, once: its unique key makes a persisting problem alert a single time."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("key", name="uq_alert_events_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    event: Mapped[str] = mapped_column(String(32), doc="run-failed, likely-break, gap-opened, …")
    source: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered: Mapped[str | None] = mapped_column(String(255), doc="how delivery ended")


class PrivacyAction(Base):
    """What a privacy operation removed, when and how much; never whose."""

    __tablename__ = "privacy_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(32), doc="'forget-author'")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posts: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, object]] = mapped_column(JSON)
