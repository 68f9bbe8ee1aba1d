"""Stratified review samples (flagged, borderline, low per cell) drawn from a closed period.

The design lives here (Neyman allocation with floors, simple random or PPS draws, methods §6
and §9.2); storage.review_sampling reads the frames and stores the sample.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from analysis.allocation import PlannedStratum, default_floor, neyman_allocation, pps_sample
from analysis.allocation import default_planning_values as defaults
from crawler.errors import InputError
from storage.review_sampling import (
    CELL_KEYS,
    KIND,
    KINDS,
    STRATA,
    Frame,
    Key,
    Picked,
    SampleRequest,
    check_closed,
    classifier_versions,
    read_frames,
    store_sample,
    stratum_of,
    without_text,
)

__all__ = ["CELL_KEYS", "DrawnSample", "SampleRequest", "StratumDraw", "draw"]


@dataclass(frozen=True)
class StratumDraw:
    """One design stratum (a cell × flagged/borderline/low) and what was drawn from it."""

    cell: dict[str, str]
    stratum: str
    size: int
    views: int
    allocated: int
    drawn: int


@dataclass
class DrawnSample:
    sample_id: int
    seed: int
    strata: list[StratumDraw]
    items: int
    without_text: int


def _allocate(
    request: SampleRequest, counts: Mapping[Key, tuple[int, int]], design: dict[str, Any]
) -> dict[Key, int]:
    """Neyman allocation over every design stratum, with a floor per stratum (methods §6.3).

    The planning values and the floor used are recorded in `design`.
    """
    # Post samples allocate by posts; view samples by views (they sample views, §9.2).
    weight = 0 if request.kind == "prevalence" else 1
    keys = sorted(k for k, v in counts.items() if v[weight] > 0)
    if not keys:
        return {}
    if request.size < len(keys):
        raise InputError(
            f"--size {request.size} is smaller than the {len(keys)} design strata (cells × "
            "flagged/borderline/low) of this period (raise --size or drop a --by key)"
        )
    kinds = sorted({KIND[name] for _, name in keys})
    planning = {name: defaults(kinds)[KIND[name]] for name in STRATA if KIND[name] in kinds}
    planning.update(request.planning)
    cells = len({cell for cell, _ in keys})
    per_cell = request.size // cells
    if request.floor_share is None:
        floor = default_floor(per_cell, len(kinds))
    else:
        floor = min(math.ceil(request.floor_share * per_cell), per_cell // len(kinds))
    names = {f"s{i}": key for i, key in enumerate(keys)}
    planned = [
        PlannedStratum(name=name, size=counts[key][weight], planning_p=planning[key[1]])
        for name, key in names.items()
    ]
    allocation = neyman_allocation(
        planned, request.size, floor=floor, capped=request.kind == "prevalence"
    )
    design.update(planning=planning, floor=floor)
    return {names[name]: int(n) for name, n in allocation.items()}


def _draw_posts(
    frames: Mapping[Key, Frame], allocation: Mapping[Key, int], rng: np.random.Generator
) -> dict[Key, list[Picked]]:
    """Simple random samples without replacement, π_i = n_h/N_h (methods §6.1)."""
    picked: dict[Key, list[Picked]] = {}
    for key, n in sorted(allocation.items()):
        frame = frames[key]
        if n <= 0:
            continue
        chosen = sorted(rng.choice(len(frame.ids), size=n, replace=False).tolist())
        picked[key] = [
            (frame.ids[i], n / len(frame.ids), 1, frame.views[i] if frame.views[i] >= 0 else None)
            for i in chosen
        ]
    return picked


def _draw_views(
    frames: Mapping[Key, Frame], allocation: Mapping[Key, int], rng: np.random.Generator
) -> dict[Key, list[Picked]]:
    """Draws with probability proportional to views, with replacement, per stratum (§9.2)."""
    picked: dict[Key, list[Picked]] = {}
    for key, n in sorted(allocation.items()):
        frame = frames[key]
        if n <= 0:
            continue
        views = np.frombuffer(frame.views, dtype=np.int64).astype(np.float64)
        views[views < 0] = np.nan  # unknown views: outside the view frame, never drawn
        draws = pps_sample(range(len(frame.ids)), views.tolist(), n, rng)
        times = Counter(i for i, _ in draws)
        probability = dict(draws)
        picked[key] = [
            (frame.ids[i], probability[i], times[i], frame.views[i]) for i in sorted(times)
        ]
    return picked


def draw(engine: Engine, request: SampleRequest, *, now: datetime | None = None) -> DrawnSample:
    """Draw a review sample and store it with its design; returns what was drawn per stratum.

    Reproducible: the same seed over the same posts gives the same items, whatever order they
    were stored in (posts are streamed in (platform, post_id) order and ranks are chosen by a
    numpy Generator seeded with `seed`).
    """
    if request.kind not in KINDS:
        raise InputError(f"{request.kind!r} is not a sample kind (use prevalence or views)")
    bad = [k for k in request.by if k not in CELL_KEYS]
    if bad:
        raise InputError(f"cannot sample by {', '.join(bad)} (use any of: {','.join(CELL_KEYS)})")
    if request.size < 1:
        raise InputError(f"--size {request.size} is not a sample size (give at least 1)")
    check_closed(engine, request.until, now)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
    rng = np.random.default_rng(seed)
    frames = read_frames(engine, request, stratum_of(engine, request.borderline_score))
    counts = {key: frame.counts() for key, frame in frames.items()}
    if not counts:
        raise InputError(
            "no posts were published in this period (check --since/--until against `vemeter stats`)"
        )
    design: dict[str, Any] = {
        "kind": request.kind,
        "floor_share": request.floor_share,
        "double_share": request.double_share,
        "borderline_score": request.borderline_score,
        "classifiers": classifier_versions(engine),
    }
    allocation = _allocate(request, counts, design)
    if request.kind == "prevalence":
        picked = _draw_posts(frames, allocation, rng)
    else:
        picked = _draw_views(frames, allocation, rng)
    strata = [
        StratumDraw(
            cell=dict(zip(request.by, cell, strict=True)),
            stratum=name,
            size=counts[(cell, name)][0],
            views=counts[(cell, name)][1],
            allocated=allocation.get((cell, name), 0),
            drawn=len(picked.get((cell, name), [])),
        )
        for cell, name in sorted(counts, key=lambda k: (k[0], STRATA.index(k[1])))
    ]
    design["strata"] = [s.__dict__ for s in strata]
    sample_id, items = store_sample(engine, request, seed, design, picked, counts, rng, now)
    return DrawnSample(sample_id, seed, strata, items, without_text(engine, sample_id))
