"""Per-target bookkeeping every spider shares: status, reason, posts collected, resume point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.items import TargetReport

OK, INACCESSIBLE, RATE_LIMITED, LAYOUT_CHANGED, ERROR = (
    "ok",
    "inaccessible",
    "rate-limited",
    "layout-changed",
    "error",
)
STATUSES = (OK, INACCESSIBLE, RATE_LIMITED, LAYOUT_CHANGED, ERROR)
# A target's signal (run_targets.signal): the platform rejected the source's token or keys.
TOKEN_REJECTED = "token-rejected"


@dataclass
class _Target:
    platform: str
    source: str
    target: str
    status: str | None = None
    reason: str | None = None
    collected: int = 0
    observed: int = 0
    pages: int = 0
    newest_id: int | None = None
    newest_key: str | None = None
    newest_at: datetime | None = None


class TargetBook:
    """The state of every target of a crawl; the first final status a target gets is kept."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self._targets: dict[tuple[str, str], _Target] = {}

    def add(self, source: str, target: str) -> None:
        self._targets.setdefault((source, target), _Target(self.platform, source, target))

    def status(self, source: str, target: str) -> str | None:
        return self._targets[(source, target)].status

    def is_open(self, source: str, target: str) -> bool:
        return self._targets[(source, target)].status is None

    def finish(self, source: str, target: str, status: str, reason: str | None = None) -> bool:
        """Give a target its final status; False when it already had one."""
        entry = self._targets[(source, target)]
        if entry.status is not None:
            return False
        entry.status, entry.reason = status, reason
        return True

    def saw(self, source: str, target: str, order: int, key: str, at: datetime) -> None:
        """Note a collected post; the newest (by `order`) becomes the next run's resume point."""
        entry = self._targets[(source, target)]
        entry.collected += 1
        if entry.newest_id is None or order > entry.newest_id:
            entry.newest_id, entry.newest_key, entry.newest_at = order, key, at

    def observe(self, source: str, target: str, posts: int) -> None:
        """Note posts the platform showed, stored or not (older than the window, already seen).

        A target that showed posts on its previous run and shows none now is a likely break.
        Each call is one answer read (`pages`): an answer with no post in it is what tells
        "the page answered but nothing matched" from "no page was read".
        """
        entry = self._targets[(source, target)]
        entry.observed += posts
        entry.pages += 1

    def collected(self, source: str, target: str) -> int:
        return self._targets[(source, target)].collected

    def open_targets(self, source: str | None = None) -> list[tuple[str, str]]:
        return [
            k
            for k, t in self._targets.items()
            if t.status is None and (source is None or k[0] == source)
        ]

    def reports(self) -> list[TargetReport]:
        """Every target's outcome; one still open when the crawl ended is an error."""
        out = []
        for t in self._targets.values():
            status = t.status or ERROR
            reason = t.reason if t.status else "the crawl ended before this target was finished"
            out.append(
                TargetReport(
                    platform=t.platform,
                    source=t.source,
                    target=t.target,
                    status=status,
                    reason=reason,
                    newest_post_id=t.newest_key,
                    newest_published_at=t.newest_at,
                    complete=t.status == OK,
                    collected=t.collected,
                    observed=max(t.observed, t.collected),
                    pages=t.pages,
                )
            )
        return out
