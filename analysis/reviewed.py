"""`stats --estimate reviewed`: prevalence per group from the labelled review sample.

A group whose keys are all design keys of the sample (its `--by`) gets the design-based
stratified estimate over the sample's strata inside the group; a finer group (e.g. by day when
the sample was drawn per platform) gets the model-based per-cell figure of methods §8,
labelled "model-based". Fewer than 5 positives behind a figure: only its upper limit is
published (prevalence and ci_low are left empty).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from analysis.cells import CellCounts, cell_estimates
from analysis.classifier_error import classifier_error
from analysis.estimate import Estimate
from analysis.stratified import StratumSample, stratified_estimate
from analysis.suppression import Layout, protect_lattice
from analysis.views import ViewStratumSample, view_weighted_estimate
from crawler.errors import InputError, VemeterError
from storage.review import ReviewedStratum, SampleInfo, reviewed_strata, sample_info

REVIEWED_COLUMNS = [
    "reviewed",
    "positives",
    "prevalence",
    "ci_low",
    "ci_high",
    "method",
    "published",
]
VIEW_COLUMNS = ["view_prevalence", "view_ci_low", "view_ci_high"]
# Review strata are flagged / borderline / low; the estimators call the unflagged ones so.
_KIND = {"flagged": "flagged", "borderline": "borderline", "low": "unflagged"}


def latest_sample(engine: Engine, sample_id: int | None = None) -> SampleInfo:
    """The review sample the estimate rests on (the newest post sample unless one is named)."""
    try:
        return sample_info(engine, sample_id, kind="prevalence")
    except InputError:
        raise VemeterError(
            "no review sample yet, so there is nothing to correct the counts with (draw one: "
            "vemeter review sample CONFIG --size 400, label it, then vemeter review import)"
        ) from None


def reviewed_rows(
    engine: Engine,
    sample: SampleInfo,
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    *,
    seed: int | None = None,
) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
    """Rows with the reviewed estimate added, the added columns, and the review's provenance.

    Monte Carlo intervals use the sample's seed unless told, so the same labels always give
    the same figures here and in `vemeter report`.
    """
    if seed is None:
        seed = sample.seed
    if "topic" in keys:
        raise VemeterError(
            "--estimate reviewed estimates the prevalence of any violent-extremist content; "
            "group by platform, source, target, language or day, not topic"
        )
    strata = reviewed_strata(engine, sample.id)
    views = _view_strata(engine, sample)
    design_keys = set(sample.by)
    out: list[dict[str, Any]] = []
    model_groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        matching = [s for s in strata if _matches(s, row, keys)]
        reviewed = sum(s.reviewed for s in matching)
        positives = sum(s.positives for s in matching)
        out.append({**row, "reviewed": reviewed, "positives": positives})
        if set(keys) <= design_keys:
            _put(out[-1], _design(matching, seed))
            if views is not None:
                _put_views(out[-1], [s for s in views if _matches(s, row, keys)], seed)
        else:
            # Finer than the design: the per-cell model of §8, pooled over matching strata.
            shared = json.dumps([row.get(k) for k in keys if k in design_keys])
            model_groups.setdefault(shared, []).append(index)
    for indexes in model_groups.values():
        first = out[indexes[0]]
        pooled = [s for s in strata if _matches(s, first, [k for k in keys if k in design_keys])]
        _put_model(out, indexes, pooled, seed)
    columns = REVIEWED_COLUMNS + (VIEW_COLUMNS if views is not None else [])
    return out, columns, _review_provenance(sample, strata, views, seed)


def _matches(stratum: ReviewedStratum, row: dict[str, Any], keys: Sequence[str]) -> bool:
    return all(str(row.get(k)) == stratum.cell[k] for k in keys if k in stratum.cell)


def _samples(strata: Sequence[ReviewedStratum]) -> list[StratumSample]:
    return [
        StratumSample(
            name=f"{json.dumps(s.cell, sort_keys=True)}|{s.stratum}",
            population=s.size,
            reviewed=s.reviewed,
            positives=s.positives,
            kind=_KIND.get(s.stratum, s.stratum),
        )
        for s in strata
    ]


def _design(strata: Sequence[ReviewedStratum], seed: int) -> Estimate | str:
    try:
        return stratified_estimate(_samples(strata), seed=seed)
    except InputError as problem:
        return str(problem)


def _put(row: dict[str, Any], estimate: Estimate | str) -> None:
    if isinstance(estimate, str):
        row.update(prevalence=None, ci_low=None, ci_high=None, method="not-estimable")
        row["published"] = _why_not(estimate)
        return
    row.update(zip(("prevalence", "ci_low", "ci_high"), estimate.publishable(), strict=True))
    row.update(method=estimate.method, published=estimate.published())


def _put_model(
    rows: list[dict[str, Any]], indexes: list[int], strata: Sequence[ReviewedStratum], seed: int
) -> None:
    cells = [
        CellCounts(name=str(i), posts=int(rows[i]["posts"]), flagged=int(rows[i]["flagged"]))
        for i in indexes
    ]
    try:
        estimates: dict[str, Estimate] | str = cell_estimates(cells, _samples(strata), seed=seed)
    except InputError as problem:
        estimates = str(problem)
    for i in indexes:
        if isinstance(estimates, str):
            _put(rows[i], estimates)
        elif str(i) in estimates:
            _put(rows[i], estimates[str(i)])
        else:
            _put(rows[i], "no posts in this cell")


def _why_not(problem: str) -> str:
    """Why a group has no estimate, without the stratum sizes the estimator's message names
    (they are counts that small-cell suppression may hide)."""
    if "none reviewed" in problem:
        return "not estimable: a stratum with posts has no reviewed item yet (label more)"
    if "no violating post" in problem:
        return "not estimable: no violating post reviewed yet (per-cell figures need recall)"
    if "no better than chance" in problem or "chance" in problem:
        return "not estimable: the classifier looks no better than chance in the review"
    if "no posts" in problem:
        return "not estimable: no posts in this group"
    return "not estimable"


def protect_review_counts(
    engine: Engine,
    sample: SampleInfo,
    keys: Sequence[str],
    rows: Sequence[dict[str, Any]],
    shown: Sequence[dict[str, Any]],
    min_cell: int,
) -> list[dict[str, Any]]:
    """`shown` with the rows' reviewed and positives, suppressed like posts and flagged.

    They add up along the sample's design keys to the sample's totals; a row finer than the
    design repeats its design cell's counts, so it takes that cell's published values.
    """
    design = [k for k in keys if k in sample.by]
    strata = reviewed_strata(engine, sample.id)

    def table(subset: tuple[str, ...]) -> list[dict[str, Any]]:
        sums: dict[tuple[str, ...], dict[str, Any]] = {}
        for s in strata:
            key = tuple(s.cell.get(k, "") for k in subset)
            total = sums.setdefault(
                key, {**dict(zip(subset, key, strict=True)), "reviewed": 0, "positives": 0}
            )
            total["reviewed"] += s.reviewed
            total["positives"] += s.positives
        return list(sums.values())

    layout = Layout(
        ("reviewed", "positives"), frozenset(design), at_most=(("positives", "reviewed"),)
    )
    published = {
        tuple(str(r[k]) for k in design): r
        for r in (
            protect_lattice(design, layout, min_cell, table)[tuple(design)]
            if min_cell > 1
            else table(tuple(design))
        )
    }
    out = []
    for row, shown_row in zip(rows, shown, strict=True):
        cell = published.get(tuple(str(row.get(k)) for k in design))
        extra = {
            c: (cell[c] if cell is not None else row.get(c)) for c in ("reviewed", "positives")
        }
        out.append({**shown_row, **extra})
    return out


def _view_strata(engine: Engine, sample: SampleInfo) -> list[ReviewedStratum] | None:
    """Strata of the newest view sample of the same period, when one was drawn."""
    try:
        views = sample_info(engine, kind="views")
    except InputError:
        return None
    if (views.since, views.until, views.by) != (sample.since, sample.until, sample.by):
        return None
    return reviewed_strata(engine, views.id)


def _put_views(row: dict[str, Any], strata: Sequence[ReviewedStratum], seed: int) -> None:
    samples = [
        ViewStratumSample(
            name=f"{json.dumps(s.cell, sort_keys=True)}|{s.stratum}",
            views=float(s.views),
            draws=s.reviewed,
            positive_draws=s.positives,
        )
        for s in strata
    ]
    try:
        estimate = view_weighted_estimate(samples, seed=seed)
    except InputError:
        row.update(dict.fromkeys(VIEW_COLUMNS))
        return
    row.update(zip(VIEW_COLUMNS, estimate.publishable(), strict=True))


def _review_provenance(
    sample: SampleInfo,
    strata: Sequence[ReviewedStratum],
    views: Sequence[ReviewedStratum] | None,
    seed: int,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "sample": sample.id,
        "window": f"{_day(sample.since)} .. {_day(sample.until)}",
        "by": ",".join(sample.by) or "(whole period)",
        "drawn": sample.size,
        "reviewed": sum(s.reviewed for s in strata),
        "unsure": sum(s.unsure for s in strata),
        "disputed": sum(s.disputed for s in strata),
        "unlabelled": sum(s.unlabelled for s in strata),
        "view_sample": views is not None,
        "interval_seed": seed,
    }
    try:
        error = classifier_error(_samples(strata), seed=seed)
    except InputError:
        return info
    for name, rate in (
        ("precision", error.precision),
        ("recall", error.recall),
        ("false_omission_rate", error.false_omission_rate),
    ):
        info[name] = (
            f"{rate.value:.3f} ({rate.ci_low:.3f}-{rate.ci_high:.3f})"
            if math.isfinite(rate.value)
            else _UNDEFINED[name]
        )
    return info


# Why a rate has no value, instead of "nan" (issue 11): each is a ratio with nothing below it.
_UNDEFINED = {
    "precision": "undefined: no flagged post in the reviewed sample",
    "recall": "undefined: no reviewed post was labelled yes (no violating post found yet)",
    "false_omission_rate": "undefined: no unflagged post in the reviewed sample",
}


def _day(value: Any) -> str:
    return "start" if value is None else str(value)[:10]
