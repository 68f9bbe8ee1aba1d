"""Small-cell suppression, the one rule every output applies (tables, CSV, JSON, Parquet, charts).

1. **Primary.** A count from 1 to min_cell - 1 is never published: it shows as "<min_cell"
   (`Hidden(below=True)`). A zero discloses nothing and is shown.
2. **Complementary.** A hidden count must not be recoverable from what is published beside it:
   the visible cells of its table and the totals of every coarser table (the same counts with
   fewer `--by` keys, which anyone can ask for). After the primary step each table is audited:
   for every hidden cell, and every hidden cell of the coarser tables, a linear programme finds
   the smallest and largest value it can take given the visible cells, the totals and what the
   markers say ("<k" is 1..k-1, "x" is k or more). Where that range holds a single whole
   number, more cells of the table are hidden ("x", `Hidden(below=False)`): the smallest
   visible non-zero cell sharing a line or a total with it that the totals do not give away
   on their own, until no range is a single number. A cheap pass (a known total over one
   hidden cell) runs before each audit.
3. **Derived figures.** A row with any hidden count publishes no figure computed from its
   counts: rates, intervals, estimates, ranks, bar lengths and chart points (`hide_derived`,
   `ranked`).

Tables with keys are built coarse to fine (`protect_lattice`), so a table and the coarser ones
it sums to are suppressed alike whichever of them is asked for first. Where the coarser tables
pin a count of a finer one whatever it hides (linked tables: e.g. a language found on one
platform only), nothing in the finer table can help; such counts are returned as `exposed` and
the output warns. Not covered: tables of different windows (`--since/--until`) subtracted from
each other. docs/outputs.md says all this for readers; tests/analysis/test_disclosure.py checks
it with an independent integer-programming attacker.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "AUDIT_MAX_ROWS",
    "UNAUDITED",
    "Exposed",
    "Hidden",
    "Layout",
    "exposed_note",
    "hide_derived",
    "is_hidden",
    "marker",
    "protect",
    "protect_lattice",
    "published",
    "ranked",
    "suppress",
]


def is_hidden(count: int, min_cell: int) -> bool:
    """The primary rule: a count from 1 to min_cell - 1 is never published exactly (0 is)."""
    return 0 < count < min_cell


@dataclass(frozen=True, slots=True)
class Hidden:
    """A count that is not published.

    ``below``: the count is from 1 to min_cell - 1 (shown "<k"); otherwise it is hidden so that
    such a count cannot be worked out from totals (shown "x"; it is min_cell or more).
    """

    min_cell: int
    below: bool = True

    def __str__(self) -> str:
        return f"<{self.min_cell}" if self.below else "x"


def marker(min_cell: int) -> str:
    """What the notes under a table say about the markers."""
    return (
        f'counts from 1 to {min_cell - 1} are shown as "<{min_cell}"; "x" hides a larger count '
        f"so that a <{min_cell} cell cannot be worked out from totals; a row with a hidden count "
        "shows no rate, interval or estimate"
    )


def exposed_note(exposed: Sequence[Exposed], min_cell: int) -> str:
    """The warning an output carries when coarser tables give back some of its hidden counts,
    or when a table was too large for the audit."""
    notes = []
    pinned = [e for e in exposed if e[2] != UNAUDITED]
    if pinned:
        first = pinned[0]
        where = ", ".join(f"{k}={v}" for k, v in zip(first[0], first[1], strict=True)) or "total"
        notes.append(
            f"warning: {len(pinned)} hidden counts (e.g. {first[2]} at {where}) follow from the "
            "tables with fewer --by keys together, whatever this one hides (a value found under "
            "only one other, e.g. a language on one platform); group by fewer keys before "
            "publishing them"
        )
    large = sorted({",".join(e[0]) or "total" for e in exposed if e[2] == UNAUDITED})
    if large:
        notes.append(
            f"warning: the table by {'; '.join(large)} is too large for the full audit (over "
            f"{AUDIT_MAX_ROWS} rows or {AUDIT_SOLVES} linear programmes), so its small counts "
            f"(<{min_cell}) were protected by the row-and-column rule only, without "
            "the full audit; group by fewer keys or a longer time unit (--by week, month) before "
            "publishing it"
        )
    return "; ".join(notes)


def published(value: Any) -> int | None:
    """A count as published: the int, or None when it is hidden."""
    return None if isinstance(value, Hidden) or value is None else int(value)


@dataclass(frozen=True, slots=True)
class Layout:
    """The count columns of a table and how they relate.

    ``additive``: the keys along which the counts add up to the coarser table's total (every
    key but topic: a post counts under each of its topics). ``sums``: per row, a column that is
    the sum of others (e.g. sampled = reviewed + open). ``at_most``: per row, (small, big)
    pairs, e.g. (flagged, posts).
    """

    counts: tuple[str, ...]
    additive: frozenset[str]
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    at_most: tuple[tuple[str, str], ...] = ()


Key = tuple[Any, ...]
# A hidden count that the published tables pin: (table keys, key values, column).
Exposed = tuple[tuple[str, ...], Key, str]
Margins = Mapping[tuple[str, ...], Sequence[Mapping[str, Any]]]


def protect(
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    layout: Layout,
    min_cell: int,
    margins: Margins | None = None,
    exposed: list[Exposed] | None = None,
) -> list[dict[str, Any]]:
    """Copies of rows with primary and complementary suppression applied to layout.counts.

    margins: the published (already protected) coarser tables, by their keys; each must be a
    sum of these rows along keys in layout.additive. min_cell 0 or 1 hides nothing.
    exposed: gets every hidden count that the coarser tables pin whatever this table hides
    (linked tables, e.g. a language found on one platform only); see the module's note.
    """
    out = [dict(r) for r in rows]
    if min_cell <= 1:
        return out
    table = _Table(out, tuple(keys), layout, min_cell, dict(margins or {}))
    table.primary()
    table.complete()
    if exposed is not None:
        exposed.extend(table.exposed())
        if table.unaudited:
            exposed.append((tuple(keys), (), UNAUDITED))
    return table.published()


def protect_lattice(
    keys: Sequence[str],
    layout: Layout,
    min_cell: int,
    table: Callable[[tuple[str, ...]], Sequence[Mapping[str, Any]]],
    exposed: list[Exposed] | None = None,
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Protect the table by keys and every coarser one it sums to, coarsest first.

    table(subset) gives the rows of the table by those keys (a subset of keys in their order).
    Each table is protected against its own cells and all coarser tables, so the same counts
    get the same hidden cells whichever --by asked for them.
    """
    keys = tuple(keys)
    fixed = [k for k in keys if k not in layout.additive]
    free = [k for k in keys if k in layout.additive]
    subsets = sorted(
        (
            tuple(k for k in keys if k in fixed or k in chosen)
            for n in range(len(free) + 1)
            for chosen in itertools.combinations(free, n)
        ),
        key=len,
    )
    done: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for subset in subsets:
        margins = {s: rows for s, rows in done.items() if set(s) < set(subset)}
        found: list[Exposed] = []
        done[subset] = protect(table(subset), subset, layout, min_cell, margins, found)
        if exposed is not None:
            exposed.extend(e for e in found if e not in exposed)
    return done


def hide_derived(
    rows: Iterable[dict[str, Any]], counts: Sequence[str], derived: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows whose counts include a Hidden lose every derived figure; each gets `suppressed`."""
    out = []
    for row in rows:
        copy = dict(row)
        hidden = any(isinstance(copy.get(c), Hidden) for c in counts)
        if hidden:
            for column in derived:
                if column in copy:
                    copy[column] = None
        copy["suppressed"] = hidden
        out.append(copy)
    return out


def ranked(
    rows: Iterable[dict[str, Any]], column: str, label: Callable[[dict[str, Any]], Any]
) -> list[dict[str, Any]]:
    """Visible rows by column, largest first; rows whose column is hidden after them by label.

    Ranking a hidden count among the others would tell where it lies.
    """
    items = list(rows)
    shown = [r for r in items if not isinstance(r.get(column), Hidden)]
    hidden = [r for r in items if isinstance(r.get(column), Hidden)]
    shown.sort(key=lambda r: (-int(r[column] or 0), str(label(r))))
    hidden.sort(key=lambda r: str(label(r)))
    return shown + hidden


def suppress(
    rows: Iterable[dict[str, Any]],
    counts: Sequence[str],
    min_cell: int,
    *,
    derived: Sequence[str] = (),
    keys: Sequence[str] = (),
    additive: Collection[str] | None = None,
    sums: Sequence[tuple[str, tuple[str, ...]]] = (),
    at_most: Sequence[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """protect + hide_derived for one table whose only published total is the grand total.

    The counts are additive along every key unless `additive` says otherwise; with no keys the
    rows are one line along an unnamed dimension (e.g. a list of strata) that sums to a total.
    """
    items = list(rows)
    line = "__row__"
    if not keys:
        items = [{**r, line: i} for i, r in enumerate(items)]
        keys, additive = (line,), {line}
    layout = Layout(
        tuple(counts),
        frozenset(keys if additive is None else additive),
        tuple(sums),
        tuple(at_most),
    )
    margins: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    if min_cell > 1:
        fixed = tuple(k for k in keys if k not in layout.additive)
        total = _sum_rows(items, fixed, layout.counts)
        margins[fixed] = protect(total, fixed, layout, min_cell)
    out = hide_derived(protect(items, keys, layout, min_cell, margins), counts, derived)
    for row in out:
        row.pop(line, None)
    return out


def _sum_rows(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], counts: Sequence[str]
) -> list[dict[str, Any]]:
    sums: dict[Key, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        total = sums.setdefault(
            key, {**dict(zip(keys, key, strict=True)), **dict.fromkeys(counts, 0)}
        )
        for c in counts:
            total[c] += int(row.get(c) or 0)
    return list(sums.values())


# --- the audit -------------------------------------------------------------------------------

_EPS = 1e-6
# Random directions whose solutions start the pool of feasible points (analysis audit).
_DIRECTIONS = 6
# Above this many rows a table gets the row-and-column rule only, not the audit by linear
# programming, whose time grows faster than the table (480 rows: ~3 s; 2,466: ~45 s), and the
# output says so. Coarser tables (fewer --by keys, a longer time unit) are audited in full.
AUDIT_MAX_ROWS = 300
# And at most this many linear programmes per table (~5-20 ms each); past it, the same.
AUDIT_SOLVES = 150


class _OverBudget(Exception):
    """A table's audit would take too long."""


# The column of the Exposed entry that marks a table as protected without the audit.
UNAUDITED = "(not audited)"


@dataclass
class _Target:
    """A hidden count whose range is audited: a cell of the table, or of a coarser table."""

    column: str
    members: list[int]  # rows of the table that add up to it
    cell: int | None = None  # the row, when it is a cell of the table itself
    label: str = ""
    where: Exposed | None = None


@dataclass
class _System:
    """min and max of a hidden count over what the attacker knows (a linear programme)."""

    index: dict[tuple[int, str], int]
    a_ub: Any  # scipy.sparse matrix, or None without constraints
    b_ub: NDArray[np.float64]
    limits: list[tuple[float, float | None]]
    true: list[dict[str, int]]
    # Linear programmes this table may still solve (shared by its systems); see AUDIT_SOLVES.
    budget: list[int] = field(default_factory=lambda: [AUDIT_SOLVES])

    def _objective(self, target: _Target) -> tuple[NDArray[np.float64], float]:
        vec = np.zeros(len(self.index))
        constant = 0.0
        for i in target.members:
            if (i, target.column) in self.index:
                vec[self.index[(i, target.column)]] += 1.0
            else:
                constant += self.true[i][target.column]
        return vec, constant

    def _solve(self, objective: NDArray[np.float64]) -> NDArray[np.float64] | float | None:
        """The minimising point; None if infeasible; -inf if unbounded below."""
        from scipy.optimize import linprog

        if self.budget[0] <= 0:
            raise _OverBudget
        self.budget[0] -= 1
        result = linprog(
            objective, A_ub=self.a_ub, b_ub=self.b_ub if self.a_ub is not None else None,
            bounds=self.limits, method="highs",
        )  # fmt: skip
        if result.status == 3:
            return -math.inf
        if result.status != 0:
            return None
        return np.asarray(result.x, dtype=np.float64)

    def screen(self, targets: list[_Target]) -> list[_Target]:
        """The targets whose range holds one whole number at most.

        Every solution of a linear programme is a point the attacker cannot rule out; a target
        that takes values at least 1 apart at two such points is free. A pool of points from
        random directions settles most targets; each remaining one gets its own minimum and
        maximum, which join the pool.
        """
        if not targets:
            return []
        if not self.index:
            return [t for t in targets if self.pinned(t)]
        rng = np.random.default_rng(len(self.index))
        pool: list[NDArray[np.float64]] = []
        for _ in range(_DIRECTIONS):
            direction = rng.standard_normal(len(self.index))
            for sign in (1.0, -1.0):
                x = self._solve(sign * direction)
                if isinstance(x, np.ndarray):
                    pool.append(x)
        pinned = []
        for t in targets:
            vec, constant = self._objective(t)
            if not vec.any():
                pinned.append(t)
                continue
            seen = [float(vec @ x) for x in pool]
            if seen and max(seen) - min(seen) >= 1.0 - _EPS:
                continue
            low = self._solve(vec)
            if low is None:
                continue  # inconsistent by rounding: treat as unknown
            if isinstance(low, float):
                continue  # unbounded below: free
            pool.append(low)
            lo = float(vec @ low)
            if seen and max(seen) - lo >= 1.0 - _EPS:
                continue
            high = self._solve(-vec)
            if high is None or isinstance(high, float):
                continue  # unbounded above: free
            pool.append(high)
            hi = float(vec @ high)
            if math.floor(hi + constant + _EPS) - math.ceil(lo + constant - _EPS) < 1:
                pinned.append(t)
        return pinned

    def range(self, target: _Target) -> tuple[float, float]:
        vec, constant = self._objective(target)
        if not vec.any():
            return constant, constant
        low = self._solve(vec)
        high = self._solve(-vec)
        if low is None or high is None:
            return -math.inf, math.inf  # inconsistent by rounding: treat as unknown
        lo = -math.inf if isinstance(low, float) else float(vec @ low)
        hi = math.inf if isinstance(high, float) else float(vec @ high)
        return lo + constant, hi + constant

    def pinned(self, target: _Target) -> bool:
        """True when the range of the target holds at most one whole number."""
        low, high = self.range(target)
        if math.isinf(high) or math.isinf(low):
            return False
        return math.floor(high + _EPS) - math.ceil(low - _EPS) < 1


@dataclass
class _Table:
    rows: list[dict[str, Any]]
    keys: tuple[str, ...]
    layout: Layout
    k: int
    margins: dict[tuple[str, ...], Sequence[Mapping[str, Any]]]
    true: list[dict[str, int]] = field(default_factory=list)
    hidden: dict[tuple[int, str], bool] = field(default_factory=dict)  # -> below
    stuck: set[str] = field(default_factory=set)
    unaudited: bool = False
    _budget: list[int] = field(default_factory=lambda: [AUDIT_SOLVES])
    _mcells: list[tuple[str, str, list[int], Any]] | None = None

    def __post_init__(self) -> None:
        self.true = [{c: int(r.get(c) or 0) for c in self.layout.counts} for r in self.rows]
        self.lines: dict[tuple[str, Key], list[int]] = defaultdict(list)
        for i, row in enumerate(self.rows):
            for d in self.keys:
                if d in self.layout.additive:
                    rest = tuple(row[k] for k in self.keys if k != d)
                    self.lines[(d, rest)].append(i)

    # -- steps --

    def primary(self) -> None:
        for i, values in enumerate(self.true):
            for c, v in values.items():
                if is_hidden(v, self.k):
                    self.hidden[(i, c)] = True

    def complete(self) -> None:
        """Hide more cells until the audit finds no hidden count with a one-number range.

        A cheap pass first (a total with one hidden cell under it), then the audit by linear
        programming; every pinned count gets a complement, and the audit runs again.
        """
        if len(self.rows) <= AUDIT_MAX_ROWS:
            try:
                self._audit()
                return
            except _OverBudget:
                pass  # too large to audit in reasonable time: the rule alone, and say so
        self._determined: set[tuple[int, str]] = set()
        self._line_rule()
        self.unaudited = True

    def _audit(self) -> None:
        self._determined = self._given_by_totals()
        while True:
            self._line_rule()
            pinned = self._pinned_targets()
            if not pinned:
                return
            touched: set[tuple[int, str]] = set()
            for target in pinned:
                if any((i, target.column) in touched for i in self._neighbours(target)):
                    continue  # a complement chosen this round may already free it
                choice = self._complement(target)
                if choice is None:
                    self.stuck.add(target.label)  # nothing left to hide beside it: see docs
                    continue
                self.hidden[choice] = False
                touched.add(choice)

    def _line_rule(self) -> None:
        """Until stable: a known total over exactly one hidden cell gets a second one hidden,
        and a hidden total over no hidden cell gets one."""
        cells = self._margin_cells()
        # Which margin cells each (row, column) is under: a newly hidden cell re-checks only
        # those (a worklist), not every margin cell of the table again.
        under_of: dict[tuple[int, str], list[int]] = defaultdict(list)
        for m, (_, c, members, _) in enumerate(cells):
            for i in members:
                under_of[(i, c)].append(m)
        changed = True
        while changed:
            changed = False
            work = list(range(len(cells)))
            queued = set(work)
            while work:
                m = work.pop()
                queued.discard(m)
                label, c, members, value = cells[m]
                if not members or label in self.stuck:
                    continue
                under = sum((i, c) in self.hidden for i in members)
                if (under == 1 and not isinstance(value, Hidden)) or (
                    under == 0 and isinstance(value, Hidden)
                ):
                    choice = self._smallest([(i, c) for i in members])
                    if choice is not None:
                        self.hidden[choice] = False
                        for again in under_of[choice]:
                            if again not in queued:
                                queued.add(again)
                                work.append(again)
            for i in range(len(self.rows) if self.layout.sums else 0):
                for total, parts in self.layout.sums:
                    group = [(i, total), *((i, p) for p in parts)]
                    if sum(cell in self.hidden for cell in group) == 1:
                        choice = self._smallest(group)
                        if choice is not None:
                            self.hidden[choice] = False
                            changed = True

    def _smallest(self, cells: Iterable[tuple[int, str]]) -> tuple[int, str] | None:
        """The smallest visible non-zero cell among cells that the totals do not give anyway."""
        options = [
            cell
            for cell in cells
            if cell not in self.hidden
            and self.true[cell[0]][cell[1]] > 0
            and cell not in self._determined
        ]
        return min(options, key=lambda cell: (self.true[cell[0]][cell[1]], cell), default=None)

    def _given_by_totals(self) -> set[tuple[int, str]]:
        """Cells that the coarser tables pin even when every other cell of this one is hidden:
        hiding one protects nothing."""
        visible = [
            (i, c)
            for i, values in enumerate(self.true)
            for c, v in values.items()
            if v > 0 and (i, c) not in self.hidden
        ]
        if not visible or not self.margins:
            return set()
        system = self._system(extra=visible)
        targets = [_Target(c, [i], i, f"cell{i}{c}") for i, c in visible]
        return {(t.members[0], t.column) for t in system.screen(targets)}

    def _neighbours(self, target: _Target) -> list[int]:
        """Rows that share a line (a total one key coarser) with the target."""
        rows: set[int] = set(target.members)
        if target.cell is not None:
            row = self.rows[target.cell]
            for d in self.keys:
                if d in self.layout.additive:
                    rest = tuple(row[k] for k in self.keys if k != d)
                    rows.update(self.lines[(d, rest)])
        return sorted(rows)

    def published(self) -> list[dict[str, Any]]:
        out = []
        for i, row in enumerate(self.rows):
            copy = dict(row)
            for c in self.layout.counts:
                if (i, c) in self.hidden:
                    copy[c] = Hidden(self.k, self.hidden[(i, c)])
            out.append(copy)
        return out

    # -- what the attacker knows --

    def _margin_cells(self) -> list[tuple[str, str, list[int], Any]]:
        """(label, column, member rows, published value) of every coarser table's cell."""
        if self._mcells is None:
            self._mcells = []
            self._subset_of: dict[str, tuple[str, ...]] = {}
            for subset, rows in self.margins.items():
                index: dict[Key, list[int]] = defaultdict(list)
                for i, row in enumerate(self.rows):
                    index[tuple(row[k] for k in subset)].append(i)
                for mrow in rows:
                    key = tuple(mrow[k] for k in subset)
                    members = index.get(key, [])
                    for c in self.layout.counts:
                        if c in mrow:
                            self._mcells.append((f"{subset}{key}{c}", c, members, mrow[c]))
                            self._subset_of[f"{subset}{key}{c}"] = subset
        return self._mcells

    def _targets(self) -> list[_Target]:
        targets = [
            _Target(c, [i], i, f"cell{i}{c}", (self.keys, self._key(i), c))
            for (i, c) in sorted(self.hidden, key=str)
        ]
        for label, c, members, value in self._margin_cells():
            if isinstance(value, Hidden) and members:
                subset = self._subset_of[label]
                key = tuple(self.rows[members[0]][k] for k in subset)
                targets.append(_Target(c, members, None, label, (subset, key, c)))
        return targets

    def _key(self, i: int) -> Key:
        return tuple(self.rows[i][k] for k in self.keys)

    def exposed(self) -> list[Exposed]:
        """The hidden counts left pinned: the coarser tables give them whatever is hidden here."""
        return [t.where for t in self._targets() if t.label in self.stuck and t.where is not None]

    def _system(self, extra: Iterable[tuple[int, str]] = ()) -> _System:
        """The attacker's linear system: hidden cells as variables, totals as constraints."""
        hidden = dict(self.hidden)
        for cell in extra:
            hidden.setdefault(cell, False)
        cells = sorted(hidden, key=str)
        index = {cell: j for j, cell in enumerate(cells)}
        limits: list[tuple[float, float | None]] = [
            (1.0, float(self.k - 1)) if hidden[c] else (float(self.k), None) for c in cells
        ]
        data: list[float] = []
        cols: list[int] = []
        starts: list[int] = [0]
        b_ub: list[float] = []

        def add(terms: Iterable[tuple[int, str, float]], lo: float, hi: float) -> None:
            coef: dict[int, float] = defaultdict(float)
            for i, c, a in terms:
                if (i, c) in index:
                    coef[index[(i, c)]] += a
                else:
                    lo -= a * self.true[i][c]
                    hi -= a * self.true[i][c]
            coef = {j: a for j, a in coef.items() if a}
            if not coef:
                return
            for sign, bound in ((1.0, hi), (-1.0, -lo)):
                if bound < math.inf:
                    cols.extend(coef)
                    data.extend(sign * a for a in coef.values())
                    starts.append(len(cols))
                    b_ub.append(bound)

        for _, c, members, value in self._margin_cells():
            terms = [(i, c, 1.0) for i in members]
            if isinstance(value, Hidden):
                lo, hi = (1.0, float(self.k - 1)) if value.below else (float(self.k), math.inf)
                add(terms, lo, hi)
            elif value is not None:
                add(terms, float(value), float(value))
        for i in range(len(self.rows)):
            for total, parts in self.layout.sums:
                add([(i, total, 1.0), *((i, p, -1.0) for p in parts)], 0.0, 0.0)
            for small, big in self.layout.at_most:
                add([(i, small, 1.0), (i, big, -1.0)], -math.inf, 0.0)
        matrix = None
        if b_ub:
            from scipy.sparse import csr_matrix

            matrix = csr_matrix((data, cols, starts), shape=(len(b_ub), len(index)))
        return _System(index, matrix, np.array(b_ub), limits, self.true, self._budget)

    def _pinned_targets(self) -> list[_Target]:
        system = self._system()
        return system.screen([t for t in self._targets() if t.label not in self.stuck])

    def _complement(self, target: _Target) -> tuple[int, str] | None:
        """The visible non-zero cell to hide beside target: the smallest that frees it."""
        candidates: set[tuple[int, str]] = set()
        c = target.column
        if target.cell is None:
            candidates.update((i, c) for i in target.members)
        else:
            i = target.cell
            row = self.rows[i]
            for d in self.keys:
                if d in self.layout.additive:
                    rest = tuple(row[k] for k in self.keys if k != d)
                    candidates.update((j, c) for j in self.lines[(d, rest)])
            for total, parts in self.layout.sums:
                if c == total or c in parts:
                    candidates.update((i, other) for other in (total, *parts))
            # A cell alone in every line is pinned only by a coarser total: hide along it.
            for _, col, members, _value in self._margin_cells():
                if col == c and i in members:
                    candidates.update((j, c) for j in members)
        return self._smallest(candidates)
