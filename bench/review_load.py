"""Benchmark: concurrent reviewers on the review app over a large sample, SQLite and PostgreSQL.

Each database gets a fresh sample (posts, their tags and review items bulk-inserted, 15% of
the items double-labelled), reviewer accounts made as `vemeter review user add` makes them
(Argon2id at its real cost) and the real server: `vemeter review serve` in a subprocess on
127.0.0.1. One client thread per reviewer signs in, takes an item (POST /next), then loops:

- "next item": GET /item/N, the page of the item the reviewer was sent to (lease checked and
  renewed, post and tags read, the audit's view row, the page rendered);
- "submit label": POST /item/N/label with the CSRF token, which stores the labels, the audit
  row and the item's settled state, then leases the reviewer's next item (the claim) and
  redirects to it.

The baseline, the HTTP floor, is the sign-in page (GET /login: a template, no database) asked
for by the same threads of the same server in the same run. After the run the database is
checked: no item over K reviewers, no reviewer twice on an item (no duplicate labels), no
lease orphaned (every open lease is the one item its reviewer was last sent to; every done
lease has its labels), every label acknowledged is stored, the audit chain verifies.

Each reviewer reads an item for a random time (uniform, mean --think seconds, 1 by default:
ten times faster than a person); then, with --stress-labels, all label more items with no
reading time at all, the worst case for the server.

    python bench/review_load.py [--items 100000] [--reviewers 20] [--labels 150] [--think 1]
                                [--stress-labels 50] [--quick] [--postgres URL | --no-postgres]
                                [--no-write]

The PostgreSQL server is --postgres, else $VEMETER_TEST_POSTGRES_URL; a database of its own
is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from docsection import write_section
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from review.auth import Role, add_user  # noqa: E402
from storage import audit  # noqa: E402
from storage.engine import open_database, upgrade, utc_naive, utc_now  # noqa: E402
from storage.models import (  # noqa: E402
    CrawlRun,
    Post,
    ReviewItem,
    ReviewLabel,
    ReviewLease,
    ReviewSample,
    Tag,
)

PASSWORD = "bench reviewer password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOPICS = ("recruitment", "financing", "glorification")
NEXT, SUBMIT, FLOOR, CLAIM, QUEUE = (
    "next item",
    "submit label",
    "sign-in page (floor)",
    "first item (POST /next)",
    "queue page (GET /)",
)
T0 = datetime(2025, 1, 1)


# --- the data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    sample_id: int
    reviewers: list[str]


def _post(i: int, run_id: int) -> dict[str, object]:
    at = T0 + timedelta(minutes=7 * i)
    return {
        "platform": "vk",
        "source": f"source{i % 40}",
        "target": f"-{1000 + i % 400}",
        "post_id": f"-{1000 + i % 400}_{i}",
        "url": f"https://vk.com/wall-{1000 + i % 400}_{i}",
        "author": None,
        "published_at": at,
        "day": at.date(),
        "language": "ru",
        "script": "Cyrl",
        "language_probability": 0.93,
        "language_classifier": "py3langid@1",
        "flagged": i % 3 == 0,
        "is_repost": False,
        "has_text": True,
        # A synthetic, neutral text of a typical post's length, with one lexicon match.
        "text": f"Synthetic post {i} for the review benchmark. " * 6
        + "It mentions recruitment once, then goes on about the weather and prices. " * 2,
        "views": 100 + i % 5000,
        "likes": i % 50,
        "reposts": i % 7,
        "comments": i % 11,
        "edited": None,
        "forwarded_from": None,
        "is_promo": None,
        "run_id": run_id,
        "collected_at": T0,
    }


def seed(engine: Engine, items: int, reviewers: int, *, double_share: float = 0.15) -> Seeded:
    """`items` posts with text and a tag, one review item each in a random order, and
    `reviewers` accounts; bulk inserts through SQLAlchemy core, one transaction."""
    rng = random.Random(13)
    step = 5000
    with engine.begin() as conn:
        run_id = conn.execute(
            insert(CrawlRun)
            .values(project="bench", config_hash="h", vemeter_version="0", classifiers={},
                    started_at=T0, finished_at=T0, status="ok", posts_new=items)
            .returning(CrawlRun.id)
        ).scalar_one()  # fmt: skip
        for start in range(0, items, step):
            conn.execute(
                insert(Post), [_post(i, run_id) for i in range(start, min(items, start + step))]
            )
        pks = list(
            conn.execute(select(Post.id).where(Post.run_id == run_id).order_by(Post.id)).scalars()
        )
        where = _post(0, run_id)["text"].index("recruitment")  # type: ignore[union-attr]
        evidence = [{"term": "recruitment", "start": where, "end": where + len("recruitment")}]
        for start in range(0, items, step):
            conn.execute(
                insert(Tag),
                [{"post_pk": pk, "kind": "topic", "label": "recruitment", "score": 1.0,
                  "classifier": "lexicon", "version": "1", "evidence": evidence}
                 for pk in pks[start : start + step] if pk % 3 == 1],
            )  # fmt: skip
        sample_id = conn.execute(
            insert(ReviewSample)
            .values(kind="prevalence", project="bench", config_hash="h", created_at=T0,
                    since=None, until=T0 + timedelta(days=365), by_keys="", seed=13, size=items,
                    design={"strata": [{"cell": {}, "stratum": "flagged", "size": items,
                                        "views": 0}]})
            .returning(ReviewSample.id)
        ).scalar_one()  # fmt: skip
        order = list(range(items))
        rng.shuffle(order)
        for start in range(0, items, step):
            conn.execute(
                insert(ReviewItem),
                [{"sample_id": sample_id, "post_pk": pks[i], "position": order[i], "cell": "{}",
                  "stratum": "flagged", "stratum_size": items, "stratum_views": None,
                  "inclusion_probability": 1.0, "draws": 1, "views": None,
                  "double_label": rng.random() < double_share, "settled": False}
                 for i in range(start, min(items, start + step))],
            )  # fmt: skip
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
            conn.commit()
    names = [f"reviewer{i:02d}" for i in range(reviewers)]
    for name in names:
        add_user(engine, name, Role.reviewer, PASSWORD)
    return Seeded(int(sample_id), names)


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(url: str, workdir: Path) -> Iterator[str]:
    """`vemeter review serve` on a free port of 127.0.0.1; yields its base URL."""
    config = workdir / "review-load.yaml"
    config.write_text(f"project: review-load\nstorage:\n  url: '{url}'\n", encoding="utf-8")
    port = free_port()
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from crawler.commands.app import main; main()",
         "review", "serve", str(config), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    "the review server stopped: "
                    + (workdir / "server.log").read_text(errors="replace")[-2000:]
                )
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the review server did not answer within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --- the reviewers --------------------------------------------------------------------------


@dataclass
class Load:
    timings: dict[str, list[float]] = field(default_factory=dict)  # seconds per request
    labelled: int = 0  # labels the server acknowledged (303 to the next item or the queue)
    held: dict[str, int] = field(default_factory=dict)  # reviewer -> item last sent to
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the labelling phase
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: str, seconds: float) -> None:
        with self.lock:
            self.timings.setdefault(op, []).append(seconds)


def _csrf(page: str) -> str:
    found = CSRF.search(page)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def _timed(load: Load, op: str, call: Callable[[], httpx.Response]) -> httpx.Response:
    start = time.perf_counter()
    response = call()
    load.add(op, time.perf_counter() - start)
    return response


def _reviewer(
    base: str, name: str, labels: int, think: float, start: threading.Barrier, load: Load
) -> None:
    rng = random.Random(name)
    with (
        httpx.Client(base_url=base, follow_redirects=False, timeout=120) as client,
        httpx.Client(base_url=base, follow_redirects=False, timeout=120) as anonymous,
    ):
        page = client.get("/login")
        signed = client.post(
            "/login", data={"csrf": _csrf(page.text), "name": name, "password": PASSWORD}
        )
        if signed.status_code != 303:
            raise RuntimeError(f"{name} could not sign in: {signed.status_code}")
        start.wait()  # everyone signed in: the queue pages and the first items at once
        csrf = _csrf(_timed(load, QUEUE, lambda: client.get("/")).text)
        began = time.perf_counter()
        where = _timed(load, CLAIM, lambda: client.post("/next", data={"csrf": csrf}))
        location = where.headers.get("location", "")
        done = 0
        while done < labels and location.startswith("/item/"):
            # The floor, under the same load at the same moment: a page with no database work.
            _timed(load, FLOOR, lambda: anonymous.get("/login"))
            page = _timed(load, NEXT, lambda: client.get(location))  # noqa: B023
            if page.status_code != 200:
                load.errors.append(f"{name}: GET {location} answered {page.status_code}")
                break
            if think:  # reading the item: uniform, mean `think` seconds
                time.sleep(rng.uniform(0, 2 * think))
            form = {"csrf": csrf, "label": rng.choice(("yes", "no", "no", "no", "unsure")),
                    "note": "bench" if rng.random() < 0.1 else ""}  # fmt: skip
            for topic in TOPICS:
                if rng.random() < 0.5:
                    form[f"topic.{topic}"] = rng.choice(("yes", "no", "unsure"))
            sent = _timed(load, SUBMIT, lambda: client.post(f"{location}/label", data=form))  # noqa: B023
            location = sent.headers.get("location", "")
            if sent.status_code != 303 or not (
                location.startswith("/item/") or location == "/?m=empty"
            ):
                load.errors.append(f"{name}: label answered {sent.status_code} {location}")
                break
            done += 1
        with load.lock:
            load.labelled += done
            if location.startswith("/item/"):
                load.held[name] = int(location.removeprefix("/item/"))
            load.seconds = max(load.seconds, time.perf_counter() - began)
        _timed(load, QUEUE, lambda: client.get("/"))  # back to the queue page at the end


def run_load(base: str, reviewers: list[str], labels: int, think: float = 0.0) -> Load:
    """Every reviewer signs in, then all at once: the queue page and `labels` items each."""
    load = Load()
    start = threading.Barrier(len(reviewers))
    failed: list[BaseException] = []

    def one(name: str) -> None:
        try:
            _reviewer(base, name, labels, think, start, load)
        except BaseException as exc:  # a thread's failure is the run's
            failed.append(exc)
            start.abort()

    threads = [threading.Thread(target=one, args=(n,)) for n in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise RuntimeError(f"a reviewer failed: {failed[0]!r}") from failed[0]
    return load


# --- the checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checks:
    over_k: int  # items with more than K distinct reviewers (labels or live/done leases)
    duplicate_labels: int  # (item, reviewer, topic) given twice, or (item, user) leased twice
    orphaned_leases: int  # open leases not the item their reviewer holds; done ones unlabelled
    labels_without_lease: int  # a reviewer's label with no done lease of theirs on the item
    lost_labels: int  # acknowledged labels not stored (or stored ones not acknowledged)
    short_of_k: int  # items with fewer than K reviewers (expected while items are left)
    audit_ok: bool

    @property
    def ok(self) -> bool:
        return not (self.over_k or self.duplicate_labels or self.orphaned_leases
                    or self.labels_without_lease or self.lost_labels) and self.audit_ok  # fmt: skip


def check(engine: Engine, sample_id: int, load: Load, now: datetime | None = None) -> Checks:
    """The queue's guarantees, read back from the database after the run (`now`: naive UTC)."""
    now = now or utc_now()
    L, S = ReviewLabel, ReviewLease
    own = L.adjudication.is_(False)
    with engine.connect() as conn:
        k = {int(i): 2 if d else 1 for i, d in conn.execute(
            select(ReviewItem.id, ReviewItem.double_label).where(ReviewItem.sample_id == sample_id))}  # fmt: skip
        label_rows = conn.execute(select(L.reviewer, L.item_id, L.topic).where(own)).all()
        leases = conn.execute(select(S.reviewer, S.item_id, S.done_at, S.expires_at)).all()
    duplicates = len(label_rows) - len({tuple(r) for r in label_rows})
    pairs = [(str(r), int(i)) for r, i, _, _ in leases]
    duplicates += len(pairs) - len(set(pairs))
    labelled = {(str(r), int(i)) for r, i, t in label_rows if t == "*"}
    done = {(str(r), int(i)) for r, i, d, _ in leases if d is not None}
    live = {(str(r), int(i)) for r, i, d, e in leases if d is None and utc_naive(e) > now}
    open_ = {(str(r), int(i)) for r, i, d, _ in leases if d is None}
    holders: dict[int, set[str]] = {}
    for reviewer, item in labelled | done | live:
        holders.setdefault(item, set()).add(reviewer)
    held = set(load.held.items())
    return Checks(
        over_k=sum(len(names) > k[item] for item, names in holders.items()),
        duplicate_labels=duplicates,
        orphaned_leases=len(open_ - held) + len(open_ & labelled) + len(done - labelled),
        labels_without_lease=len(labelled - done),
        lost_labels=abs(len(labelled) - load.labelled),
        short_of_k=sum(len(holders.get(item, ())) < want for item, want in k.items()),
        audit_ok=audit.verify(engine).ok,
    )


# --- one database, end to end ------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    database: str
    items: int
    load: Load
    checks: Checks
    seed_seconds: float
    stress: Load | None = None  # the same reviewers again, with no reading time
    busy: tuple[float, float] = (0.0, 0.0)  # 1-minute load average over the run: mean, max


class LoadAverage:
    """The machine's 1-minute load average, sampled every 2 s in a thread while in use."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadAverage:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> tuple[float, float]:
        xs = self.samples or [os.getloadavg()[0]]
        return sum(xs) / len(xs), max(xs)


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, postgres: str | None = None) -> Iterator[str]:
    """The URL of a new, migrated database: an SQLite file in `workdir`, or a database of its
    own on the PostgreSQL server of `postgres` (dropped afterwards)."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'review-load.db'}"
        open_database(url).dispose()
        yield url
        return
    assert postgres is not None
    name = f"vemeter_review_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(
    kind: str,
    workdir: Path,
    *,
    items: int,
    reviewers: int,
    labels: int,
    think: float = 0.0,
    postgres: str | None = None,
    double_share: float = 0.15,
    stress_labels: int = 0,
) -> Result:
    """Seed a fresh database, serve it, run the reviewers (then, with `stress_labels`, the same
    reviewers again with no reading time), check the database."""
    with fresh_database(kind, workdir, postgres) as url:
        engine = open_database(url)
        try:
            began = time.perf_counter()
            seeded = seed(engine, items, reviewers, double_share=double_share)
            seeded_in = time.perf_counter() - began
            print(f"  {kind}: {items:,} items seeded in {seeded_in:.1f} s", flush=True)
            stress = None
            with serve(url, workdir) as base, LoadAverage() as busy:
                load = run_load(base, seeded.reviewers, labels, think)
                if stress_labels:
                    # Signed in again, each goes on with the item they hold.
                    stress = run_load(base, seeded.reviewers, stress_labels, 0.0)
            both = Load(
                labelled=load.labelled + (stress.labelled if stress else 0),
                held=stress.held if stress else load.held,
            )
            checks = check(engine, seeded.sample_id, both)
        finally:
            engine.dispose()
    return Result(kind, items, load, checks, seeded_in, stress, busy.summary())


# --- the report --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values, in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


ROWS = (FLOOR, NEXT, SUBMIT, CLAIM, QUEUE)


def table(results: list[Result], stress: bool = False) -> str:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    head = (
        "| request | "
        + " | ".join(f"{names[r.database]} p50, ms | {names[r.database]} p95, ms" for r in results)
        + " | requests |"
    )
    lines = [head, "|---|" + "---:|---:|" * len(results) + "---:|"]
    for op in ROWS:
        cells = []
        for r in results:
            load = r.stress if stress and r.stress else r.load
            xs = load.timings.get(op, [])
            cells.append(f"{percentile(xs, 50):.1f} | {percentile(xs, 95):.1f}" if xs else "– | –")
        first = results[0].stress if stress and results[0].stress else results[0].load
        count = len(first.timings.get(op, []))
        lines.append(f"| {op} | " + " | ".join(cells) + f" | {count:,} |")
    return "\n".join(lines)


def checks_table(results: list[Result]) -> str:
    lines = ["| after the run | " + " | ".join(r.database for r in results) + " |",
             "|---|" + "---:|" * len(results)]  # fmt: skip
    rows = (
        (
            "labels stored",
            lambda r: f"{r.load.labelled + (r.stress.labelled if r.stress else 0):,}",
        ),
        ("items over K reviewers", lambda r: str(r.checks.over_k)),
        (
            "duplicate labels (a reviewer twice on an item)",
            lambda r: str(r.checks.duplicate_labels),
        ),
        ("orphaned leases", lambda r: str(r.checks.orphaned_leases)),
        ("labels without their lease", lambda r: str(r.checks.labels_without_lease)),
        ("acknowledged labels missing", lambda r: str(r.checks.lost_labels)),
        ("audit chain verifies", lambda r: "yes" if r.checks.audit_ok else "NO"),
        ("errors", lambda r: str(len(r.load.errors) + len(r.stress.errors if r.stress else []))),
        ("load average during the run (mean / max)", lambda r: "{:.1f} / {:.1f}".format(*r.busy)),
    )
    for name, cell in rows:
        lines.append(f"| {name} | " + " | ".join(cell(r) for r in results) + " |")
    return "\n".join(lines)


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--labels", type=int, default=150, help="labels per reviewer")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a reviewer reads an item before labelling (0: none)")  # fmt: skip
    parser.add_argument("--stress-labels", type=int, default=50,
                        help="then this many labels each with no reading time (0: skip)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="2,000 items, 20 labels and 10 stress labels each, no doc")  # fmt: skip
    parser.add_argument("--postgres", default=os.environ.get("VEMETER_TEST_POSTGRES_URL"),
                        help="PostgreSQL server URL (default $VEMETER_TEST_POSTGRES_URL)")  # fmt: skip
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.items, args.labels, args.stress_labels = 2000, 20, 10
    kinds = ["sqlite"] + ([] if args.no_postgres or not args.postgres else ["postgresql"])
    before = load_average()
    results = []
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure(kind, Path(tmp), items=args.items, reviewers=args.reviewers,
                                   labels=args.labels, think=args.think, postgres=args.postgres,
                                   stress_labels=args.stress_labels))  # fmt: skip
    after = load_average()
    print(table(results))
    if args.stress_labels:
        print("stress, no reading time:")
        print(table(results, stress=True))
    print(checks_table(results))
    for r in results:
        for error in (r.load.errors + (r.stress.errors if r.stress else []))[:5]:
            print(f"  {r.database}: {error}")
    print(f"load average before {before}, after {after}")
    if not args.no_write and not args.quick:
        write_doc(args, results, before, after)
    if not all(r.checks.ok and not r.load.errors and not (r.stress and r.stress.errors)
               for r in results):  # fmt: skip
        sys.exit(1)


GOAL_MS = 100.0
# Round trips to PostgreSQL of "next item" and "submit label" (tests/review/test_round_trips.py).
PG_TRIPS = (9, 19)


def verdict(results: list[Result]) -> str:
    """One line per database: the p95 of next item and submit against the 100 ms goal."""
    lines = []
    for r in results:
        p95 = [percentile(r.load.timings.get(op, [0.0]), 95) for op in (NEXT, SUBMIT)]
        met = "met" if max(p95) < GOAL_MS else "missed"
        lines.append(
            f"- {r.database}: p95 {p95[0]:.0f} ms (next item) and {p95[1]:.0f} ms (submit): "
            f"the {GOAL_MS:.0f} ms goal {met}, with the floor's p95 at "
            f"{percentile(r.load.timings.get(FLOOR, [0.0]), 95):.0f} ms."
        )
    return "\n".join(lines)


def write_doc(args: argparse.Namespace, results: list[Result], before: str, after: str) -> None:
    stress = ""
    if args.stress_labels:
        stress = f"""
Then the same reviewers, signed in again, label {args.stress_labels} more items each with no
reading time at all (every reviewer waits only for the server: a load no team of 20 makes):

{table(results, stress=True)}
"""
    body = f"""
## Review app under load (`bench/review_load.py`)

{args.reviewers} reviewers at once over {args.items:,} sampled items (15% double-labelled),
{args.labels} labels each, reading each item for a random 0–{2 * args.think:g} s (mean
{args.think:g} s, far quicker than a person reads a post). The real server (`vemeter review serve`, one
uvicorn process) on 127.0.0.1 and the clients (one thread per reviewer, httpx) share the
{os.cpu_count()} cores; measured {time.strftime("%Y-%m-%d")}, load average {before} before and
{after} after (other work ran on the machine). "Next item" is the page of the item a
reviewer was sent to (GET /item/N: lease renewed, post and tags read, audit row, page);
"submit label" stores the labels and leases the next item (POST /item/N/label: labels, lease
done, audit row, item settled and marked filled, then the claim). The baseline is the HTTP
floor: the sign-in page (a template, no database) asked for by the same threads of the same
server, once per item, in the same run.

{table(results)}

{verdict(results)}

What keeps these flat as a sample is worked through (`review/queue.py`, migration 0013): a
claim walks only the items not yet filled (a `filled` mark set with an item's K-th label, and
a partial index on the open items), finds the reviewer's own lease through their index
rather than a join over the sample, and runs one statement built once; SQLite writers of the
process queue on one lock instead of SQLite's sleeping busy handler; the item page right after
a claim only reads its lease. In one process at 100,000 items the claim's SQL took 25–35 ms
before (growing with every item done) and under 1 ms after; the queue page's count, which
checked every item, took 0.4–1.5 s.

On PostgreSQL what a request costs is its round trips: its thread waits for every answer, and
under load waits again for the GIL after each. Sampled with py-spy (before 2026-12-03), the
request threads spent 64% of their time waiting for PostgreSQL, over 19 round trips for the
item page and 29 for a label with the next claim, no statement above 6%. Now they are
{PG_TRIPS[0]} and {PG_TRIPS[1]} (`tests/review/test_round_trips.py` keeps them
there): reads run in autocommit (`review/connections.py`: no BEGIN and ROLLBACK around them,
and psycopg, which drops its prepared statements at every ROLLBACK, now keeps them, so a
statement run often is planned once per connection); the post comes with its tags in one
query, the wellbeing events with the audit's newest id in one, a labelled item's settled and
filled marks in one read and one write; the statements every page runs are built once (building
one and its cache key took 0.1–0.2 ms of CPU, held with the GIL); the session is read in the
same worker thread as the page, not one trip to the thread pool before it. The server keeps 20
connections open, as many as the team. The audit chain is as it was (its lock, its tail read and its insert, in the
transaction of what it records).
{stress}
Read back from the database after both runs:

{checks_table(results)}
"""
    write_section("bench/review_load.py", body)


if __name__ == "__main__":
    main()
