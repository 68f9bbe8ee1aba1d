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
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for large tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# The topic under which posts without any topic are counted.
NO_TOPIC = "(none)"


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
    status: Mapped[str] = mapped_column(String(16), doc="running, ok, partial, failed")
    posts_new: Mapped[int] = mapped_column(Integer, default=0)
    posts_seen: Mapped[int] = mapped_column(Integer, default=0)
    posts_flagged: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class RunTarget(Base):
    """How one target fared in one run: ok, inaccessible, rate-limited or error, and why."""

    __tablename__ = "run_targets"
    __table_args__ = (UniqueConstraint("run_id", "source", "target", name="uq_run_targets"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    posts_new: Mapped[int] = mapped_column(Integer, default=0)
    posts_seen: Mapped[int] = mapped_column(Integer, default=0)


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
