"""The report's review part: the newest review sample's status and, once labelled, its estimates."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from analysis.estimate import Estimate
from analysis.stratified import StratumSample, stratified_estimate
from crawler.errors import InputError

__all__ = [
    "ALL",
    "DESIGN",
    "MODEL",
    "NO_SAMPLE",
    "ReviewSection",
    "StratumStatus",
    "review_section",
]

NO_SAMPLE = "no review sample yet: run vemeter review sample"
ALL = "all platforms"
DESIGN = "reviewed (stratified, design-based)"
MODEL = "reviewed (model-based, §8)"
STRATA_ORDER = ("flagged", "borderline", "low")
# storage.review_sampling names the unflagged strata below the borderline band "low".
KIND = {"flagged": "flagged", "borderline": "borderline", "low": "unflagged"}


@dataclass(frozen=True, slots=True)
class StratumStatus:
    """One design stratum of the sample, summed over its cells: population and review progress."""

    stratum: str
    size: int
    sampled: int
    reviewed: int
    positives: int
    unsure: int
    disputed: int
    unlabelled: int


@dataclass
class ReviewSection:
    """What the report says about human review; `available` once estimates could be made."""

    available: bool
    message: str
    sample_id: int | None = None
    seed: int = 0
    since: datetime | None = None
    until: datetime | None = None
    window: str = ""
    by: tuple[str, ...] = ()
    # Set when the report's period is not the period the sample was drawn from.
    mismatch: str = ""
    strata: list[StratumStatus] = field(default_factory=list)
    samples: list[StratumSample] = field(default_factory=list)
    # "all platforms" and each platform -> its reviewed estimate (method says which kind).
    estimates: dict[str, Estimate] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def model_based(self, cells: Sequence[tuple[str, int, int]]) -> dict[str, Estimate]:
        """Per-cell adjusted counts (name, posts, flagged) from the pooled review; {} if undefined."""
        from analysis.cells import CellCounts, cell_estimates

        if not self.available:
            return {}
        try:
            return cell_estimates([CellCounts(*c) for c in cells], self.samples, seed=self.seed)
        except InputError:
            return {}  # e.g. no positive reviewed yet: the report shows the design-based bound


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _window(since: datetime | None, until: datetime) -> str:
    start = f"{since:%Y-%m-%d}" if since else "the first post"
    return f"{start} to {until:%Y-%m-%d} (until excluded)"


def review_section(
    engine: Engine,
    *,
    since: datetime | None,
    until: datetime | None,
    platform_counts: Callable[[datetime | None, datetime | None], dict[str, tuple[int, int]]],
) -> ReviewSection:
    """The newest prevalence sample's status, and its estimates when every stratum has reviews.

    platform_counts(since, until) gives each platform's (posts, flagged) in a period; platforms
    get design-based estimates when the sample's cells separate them, model-based otherwise.
    """
    from storage.review import reviewed_strata, sample_info

    try:
        info = sample_info(engine, kind="prevalence")
    except InputError:
        return ReviewSection(False, NO_SAMPLE)
    rows = reviewed_strata(engine, info.id)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        t = totals[r.stratum]
        for name in (
            "size",
            "sampled",
            "reviewed",
            "positives",
            "unsure",
            "disputed",
            "unlabelled",
        ):
            t[name] += int(getattr(r, name))
    order = (*STRATA_ORDER, *sorted(totals))
    strata = [StratumStatus(name, **totals[name]) for name in sorted(totals, key=order.index)]
    window = _window(info.since, info.until)
    section = ReviewSection(
        available=False,
        message="",
        sample_id=info.id,
        seed=info.seed,
        since=_aware(info.since),
        until=_aware(info.until),
        window=window,
        by=info.by,
        strata=strata,
        samples=[
            StratumSample(
                f"{json.dumps(r.cell, sort_keys=True)} {r.stratum}",
                r.size,
                r.reviewed,
                r.positives,
                KIND.get(r.stratum, r.stratum),
            )
            for r in rows
        ],
        summary={
            "sample": info.id,
            "window": window,
            "reviewed": sum(s.reviewed for s in strata),
            "positives": sum(s.positives for s in strata),
        },
    )
    if (since, until) != (section.since, section.until):
        section.mismatch = (
            f"The review sample covers posts published {window}, not this report's period; "
            "reviewed figures describe the sample's period."
        )
    if not section.summary["reviewed"]:
        section.message = (
            f"review sample {info.id} is drawn ({sum(s.sampled for s in strata):,} posts) but "
            "has no yes/no labels yet: label it, then run vemeter report again"
        )
        return section
    try:
        section.estimates[ALL] = stratified_estimate(section.samples, seed=info.seed)
    except InputError as exc:
        section.message = f"no reviewed estimate yet: {exc}"
        return section
    section.available = True
    counts = platform_counts(section.since, section.until)
    section.estimates.update(_per_platform(section, rows, counts))
    return section


def _per_platform(
    section: ReviewSection, rows: Sequence[Any], counts: dict[str, tuple[int, int]]
) -> dict[str, Estimate]:
    """Design-based where the sample was drawn per platform, else model-based (§8)."""
    out: dict[str, Estimate] = {}
    if "platform" in section.by:
        for platform in counts:
            domain = [s for s, r in zip(section.samples, rows, strict=True)
                      if r.cell.get("platform") == platform]  # fmt: skip
            try:
                out[platform] = stratified_estimate(domain, seed=section.seed)
            except InputError:
                continue  # a platform without reviews in every stratum gets no figure
        return out
    return section.model_based([(p, posts, flagged) for p, (posts, flagged) in counts.items()])
