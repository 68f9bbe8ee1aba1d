"""What a report holds: the gathered counts, estimates, coverage and provenance (no I/O).

analysis.report gathers it; analysis.report_charts and analysis.report_html draw and render it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from analysis import charts
from analysis.estimate import Estimate
from analysis.provenance import Provenance
from analysis.report_review import ReviewSection
from analysis.stratified import naive_estimate
from analysis.suppression import Hidden

__all__ = [
    "DEFAULT_MIN_CELL", "MAX_PANELS", "TOP_SOURCES", "Group", "Project", "Report", "ReportFiles",
    "TargetStatus",
]  # fmt: skip


class Project(Protocol):
    """What a report needs of the project config: its name and the hash of its settings."""

    @property
    def project(self) -> str: ...
    @property
    def config_hash(self) -> str: ...


# Reports are for publication, so they suppress small counts unless the config says otherwise.
DEFAULT_MIN_CELL = 10
TOP_SOURCES = 15
MAX_PANELS = 8


Count = int | Hidden


@dataclass(frozen=True, slots=True)
class Group:
    """Published counts of one group (a platform, a language, a source...) and its naive estimate.

    A hidden count (analysis.suppression) is a Hidden; the group then has no estimate.
    """

    key: tuple[str, ...]
    posts: Count
    flagged: Count

    @property
    def hidden(self) -> bool:
        return isinstance(self.posts, Hidden) or isinstance(self.flagged, Hidden)

    @property
    def naive(self) -> Estimate | None:
        if isinstance(self.posts, Hidden) or isinstance(self.flagged, Hidden) or not self.posts:
            return None
        return naive_estimate(self.flagged, self.posts)


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """A target's status in the latest run that reached it."""

    platform: str
    source: str
    target: str
    status: str
    reason: str | None
    run_id: int


@dataclass
class Report:
    """Everything the report shows; aggregates only, never a post's text or author."""

    project: str
    first_day: date | None
    last_day: date | None
    origin: Provenance
    min_cell: int
    total: Group
    platforms: list[Group]
    languages: list[Group]
    topics: list[Group]
    sources: list[Group]
    bin_unit: str
    by_platform: list[charts.Series]
    by_language: list[charts.Series]
    targets: list[TargetStatus]
    review: ReviewSection
    # Estimates of "all platforms" and each platform whose counts are published.
    estimates: dict[str, Estimate] = field(default_factory=dict)
    # Series left out of the time charts because every bin of theirs is suppressed.
    unplotted: dict[str, list[str]] = field(default_factory=dict)
    # Hidden counts that the tables' totals give away whatever is hidden (analysis.suppression)
    warnings: list[str] = field(default_factory=list)
    # chart name -> PNG bytes, embedded in the page as data URIs
    charts: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    index: Path
    charts: list[str]
