"""Classify and store posts in a separate process, in batches, so the crawl never waits on them.

The crawling process only de-duplicates and hands over lists of items; a writer process (the
machine's second core) classifies each batch and stores it in one transaction. One commit per
item was measured 12 times slower, and a writer thread shared the crawl's core (0.42× the
bare spider's speed; see docs/benchmarks.md for the process's figure).

A bad post costs no other: posts are checked and their text repaired before classification
(storage.validation), a batch the database refuses is split until the refused rows are alone
(PostWriter.write_isolated), and refused posts are quarantined. Only a database that takes
nothing sends posts to the unsaved file, with no more text than privacy.keep_text keeps
(docs/architecture.md, "Bad input and failures").
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.items import PostItem
from crawler.writer_processes import Channel, ForkedWriter, start_writers
from storage.quarantine import QuarantineEntry, describe_error, record_quarantine
from storage.records import Designated, PostRecord, TagRecord, build_record, input_tags
from storage.validation import (
    DEFAULT_MAX_TEXT_CHARS,
    Problem,
    check_post,
    clean_input_text,
    latest_allowed,
)
from storage.writer import BatchResult, StoreUnavailable

if TYPE_CHECKING:
    # Type only: the writer process (`python -m crawler.storing`) stays free of pydantic and the
    # platform registry, which it does not need, and the crawling process of the classifiers.
    from classifiers import PostClassifier
    from crawler.config import ProjectConfig
    from storage.writer import PostWriter

log = logging.getLogger(__name__)

# Marks every row of an unsaved file, so `vemeter import` recognises one and replays it as is.
UNSAVED_MARK = "vemeter_unsaved"
UNSAVED_FORMAT = 1


# The run_id of a spec whose run is not started yet (BackgroundStore.begin gives it one).
PENDING_RUN = 0


@dataclass(frozen=True)
class StoreSpec:
    """Everything the writer process needs, picklable: it builds its own classifier and engine."""

    database_url: str
    run_id: int
    lexicon_paths: tuple[Path, ...]
    languages: tuple[str, ...]
    language_engine: str
    keep_text: str
    unsaved_path: Path
    topics: str = "lexicon"
    model_path: Path | None = None
    # Which designation lists count (classifier.designations); None: the classifier's default.
    designations: tuple[str, ...] | None = None
    # Characters of a post's text that are classified and stored; the rest is cut.
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS

    @classmethod
    def for_config(cls, config: ProjectConfig, run_id: int, unsaved_path: Path) -> StoreSpec:
        """The writer settings of a project: its database, classifiers and privacy rules."""
        return cls(
            database_url=config.database_url,
            run_id=run_id,
            lexicon_paths=tuple(config.lexicon_paths()),
            languages=tuple(config.classifier.languages),
            language_engine=config.classifier.engine,
            keep_text=config.privacy.keep_text,
            unsaved_path=unsaved_path,
            topics=config.classifier.topics,
            model_path=config.classifier.model_dir(config.path.parent),
            designations=tuple(config.classifier.designations),
            max_text_chars=max_text_chars(config),
        )


def max_text_chars(config: ProjectConfig) -> int:
    """The project's per-post text limit (storage.max_text_chars, default 100,000)."""
    value = getattr(config.storage, "max_text_chars", None)
    return value if isinstance(value, int) and value > 0 else DEFAULT_MAX_TEXT_CHARS


@dataclass
class Batch:
    """Posts for the writer, with the line each came from when they were imported from a file."""

    items: list[PostItem]
    lines: list[int | None] | None = None
    # Characters of text in items: a batch is sent when it reaches BATCH_TEXT_CHARS, so that a
    # batch of long posts holds no more memory than one of short posts.
    chars: int = 0

    def line(self, index: int) -> int | None:
        return self.lines[index] if self.lines is not None else None


# --- the unsaved file ---------------------------------------------------------------------
# Written only when the database cannot be written at all (down, locked out, schema missing),
# never for a row it refuses (those are quarantined). Text obeys privacy.keep_text: classified
# posts carry what build_record kept; posts that could not be classified carry text only with
# keep_text: all. Rows are self-describing JSON with a marker, so `vemeter import FILE` replays
# them: classified rows as they are (their authors are pseudonyms already), the others through
# classification.


def _json_line(row: dict[str, Any]) -> bytes:
    # backslashreplace: a lone surrogate becomes a JSON escape instead of invalid UTF-8.
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")


def _append_lines(path: Path, rows: list[bytes]) -> None:
    """Append whole lines at once under a lock: two writer processes share one file."""
    if not rows:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # it may hold post text
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = b"".join(rows)
        while data:
            written = os.write(fd, data)
            data = data[written:]
    finally:
        os.close(fd)  # releases the lock


def _mark(kind: str, run_id: int | None, line: int | None) -> dict[str, Any]:
    mark: dict[str, Any] = {UNSAVED_MARK: UNSAVED_FORMAT, "kind": kind, "run_id": run_id}
    if line is not None:
        mark["line"] = line
    return mark


def append_unsaved(
    path: Path,
    items: Sequence[PostItem],
    *,
    keep_text: str = "none",
    run_id: int | None = None,
    lines: Sequence[int | None] | None = None,
) -> None:
    """Posts that could not be classified and stored: everything but their text, which is kept
    only when `keep_text` is "all" (without classification, no post is known to be flagged)."""
    rows = []
    for n, item in enumerate(items):
        row = _mark("item", run_id, lines[n] if lines is not None else None)
        row.update(dataclasses.asdict(item))
        row["published_at"] = item.published_at.isoformat()
        if keep_text != "all":
            row["text_dropped"] = bool(item.text or item.extra_text)
            row["text"], row["extra_text"] = "", ""
        rows.append(_json_line(row))
    _append_lines(path, rows)


def append_unsaved_records(
    path: Path,
    records: Sequence[PostRecord],
    *,
    run_id: int | None = None,
    lines: Sequence[int | None] | None = None,
) -> None:
    """Classified posts the database could not take, as they would have been stored: text only
    where privacy.keep_text kept it (build_record already decided), tags and language included."""
    rows = []
    for n, record in enumerate(records):
        row = _mark("record", run_id, lines[n] if lines is not None else None)
        row.update(dataclasses.asdict(record))
        row["published_at"] = record.published_at.isoformat()
        rows.append(_json_line(row))
    _append_lines(path, rows)


# --- the writer's work --------------------------------------------------------------------


def _entry(item: Any, reason: str, line: int | None, field: str | None = None) -> QuarantineEntry:
    """A quarantine entry naming `item` by what identifies it, whatever its types."""

    def name(attr: str) -> str | None:
        value = getattr(item, attr, None)
        return None if value is None else str(value)[:200]

    return QuarantineEntry(
        reason=reason, line=line, field=field, platform=name("platform"), source=name("source"),
        target=name("target"), post_id=name("post_id"),
    )  # fmt: skip


def prepare(
    batch: Batch, max_chars: int
) -> tuple[list[int], list[list[TagRecord]], list[QuarantineEntry]]:
    """Validate and repair a batch's posts before classification, in place.

    Returns the indices of the posts to store, their `input` tags (control characters removed,
    text cut) and the quarantine entries of the refused ones.
    """
    from classifiers.normalize import clean_text

    latest = latest_allowed()
    keep: list[int] = []
    marks: list[list[TagRecord]] = []
    refused: list[QuarantineEntry] = []
    for n, item in enumerate(batch.items):
        problem = check_post(item, latest)
        if problem is None and not isinstance(item.text, str):
            problem = Problem("text", f"expected text, got {type(item.text).__name__}")
        if problem is None and not isinstance(item.extra_text, str):
            problem = Problem("extra_text", f"expected text, got {type(item.extra_text).__name__}")
        if problem is not None:
            refused.append(_entry(item, str(problem), batch.line(n), problem.field))
            continue
        text, removed, cut = clean_input_text(item.text, max_chars)
        extra, removed_extra, cut_extra = "", 0, 0
        if item.extra_text:
            extra, removed_extra, cut_extra = clean_input_text(
                item.extra_text, max(0, max_chars - len(text))
            )
        item.text = clean_text(text)
        item.extra_text = clean_text(extra) if extra else ""
        keep.append(n)
        marks.append(input_tags(removed + removed_extra, cut + cut_extra))
    return keep, marks, refused


def designated_by_day(lists: Designated) -> Designated:
    """`lists` (Designations.lists) asked once per family and day: it depends on nothing else,
    and a batch asks it for most posts that name an organisation (a fifth of the build time)."""
    answers: dict[tuple[str, date], tuple[str, ...] | None] = {}

    def designated(family: str, when: datetime) -> tuple[str, ...] | None:
        # The day Designations.lists reads off `when`.
        key = (family, when.date() if isinstance(when, datetime) else when)
        if key not in answers:
            answers[key] = lists(family, when)
        return answers[key]

    return designated


def classify_records(
    classifier: PostClassifier,
    versions: dict[str, str],
    spec: StoreSpec,
    items: list[PostItem],
) -> list[PostRecord | str]:
    """Each item's record, or why it could not be classified (a classifier bug on one post must
    not cost the batch: the batch is then classified post by post)."""

    designated = designated_by_day(classifier.designations.lists)

    def build(chunk: list[PostItem]) -> list[PostRecord]:
        # One call per batch: language identification is ~3x faster batched.
        # Keyed by target: short posts lean on the language of that target's long ones.
        keys = [(i.platform, i.source, i.target) for i in chunk]
        results = classifier.classify_many([i.classify_text for i in chunk], sources=keys)
        return [
            build_record(
                i, result, versions, spec.keep_text,
                model_topics=classifier.model_topics(result),
                lexicon_flags=classifier.lexicon_flags,
                designated=designated,
            )
            for i, result in zip(chunk, results, strict=True)
        ]  # fmt: skip

    try:
        return list(build(items))
    except Exception:
        log.exception("classifying a batch failed; classifying its posts one by one")
    records: list[PostRecord | str] = []
    for item in items:
        try:
            records.extend(build([item]))
        except Exception as exc:
            records.append(f"classification failed ({describe_error(exc)})")
    return records


def store_records(
    writer: PostWriter,
    spec: StoreSpec,
    records: list[PostRecord],
    lines: list[int | None],
    refused: list[QuarantineEntry],
) -> BatchResult:
    """Store records, isolating the rows the database refuses; quarantine those and `refused`.

    If the database cannot be written at all, the records not stored go to the unsaved file and
    the result's `unsaved` and `error` say so.
    """
    error: str | None = None
    try:
        result, refusals = writer.write_isolated(records)
    except StoreUnavailable as exc:
        result, refusals, error = exc.done, exc.refused, exc.error
        append_unsaved_records(
            spec.unsaved_path, [records[i] for i in exc.remaining], run_id=spec.run_id,
            lines=[lines[i] for i in exc.remaining],
        )  # fmt: skip
        result.unsaved += len(exc.remaining)
    refused = refused + [
        _entry(records[i], f"refused by the database: {reason}", lines[i]) for i, reason in refusals
    ]
    if refused:
        result.refused += len(refused)
        result.quarantined.extend(refused)
        for entry in refused[:20]:
            log.warning("quarantined %s", entry.describe())
        if error is None:
            try:
                record_quarantine(writer.engine, spec.run_id, refused)
            except Exception as exc:  # the result still reports them
                log.error(
                    "recording %d quarantined posts failed: %s", len(refused), describe_error(exc)
                )
    result.error = error
    return result


def store_batch(
    classifier: PostClassifier,
    writer: PostWriter,
    versions: dict[str, str],
    spec: StoreSpec,
    batch: list[PostItem] | Batch,
) -> BatchResult:
    """Check, clean, classify and store one batch: the writer process's whole job.

    Posts that fail validation, classification or the database are quarantined; the rest are
    stored (one transaction when the database takes them all).
    """
    if isinstance(batch, list):
        batch = Batch(batch)
    keep, marks, refused = prepare(batch, spec.max_text_chars)
    items = [batch.items[n] for n in keep]
    built = classify_records(classifier, versions, spec, items) if items else []
    records: list[PostRecord] = []
    lines: list[int | None] = []
    for n, item, record, tags in zip(keep, items, built, marks, strict=True):
        if isinstance(record, str):
            refused.append(_entry(item, record, batch.line(n)))
            continue
        record.tags.extend(tags)
        records.append(record)
        lines.append(batch.line(n))
    return store_records(writer, spec, records, lines, refused)


def load_classifier(spec: StoreSpec) -> PostClassifier | str:
    """The writer's classifier, or why it could not be built (every batch then goes to the
    unsaved file, and the run reports it)."""
    # Imported here, in the writer process only: the crawling process never loads the models.
    from classifiers import PostClassifier
    from classifiers.language import release_shared_model

    try:
        classifier = PostClassifier(
            lexicon_paths=list(spec.lexicon_paths) or None,
            languages=list(spec.languages),
            engine=spec.language_engine,
            topics=spec.topics,
            model=spec.model_path,
            designations=spec.designations,
        )
        release_shared_model()  # the identifier keeps what it needs
    except Exception as exc:
        return describe_error(exc)
    return classifier


def serve(
    spec: StoreSpec,
    inbox: Connection,
    outbox: Connection,
    loaded: PostClassifier | str | None = None,
) -> None:
    """The writer process: classify and store each batch until the None that ends the crawl.

    A spec without a run (run_id PENDING_RUN: an import starts its writers while it opens the
    database) is completed by a ("run", run_id, unsaved_path) message; the classifier is built
    meanwhile (or `loaded` already: see fork_writers). A batch the database cannot take at all
    goes to the unsaved file and the next batch tries again: an outage costs the batches during
    it, and the run reports the first error.
    """
    from storage.engine import make_engine
    from storage.writer import PostWriter

    error: str | None = None
    unsaved = 0
    ready = False
    loaded = load_classifier(spec) if loaded is None else loaded
    if isinstance(loaded, str):
        error = loaded
    else:
        classifier, versions = loaded, loaded.versions
        outbox.send(("versions", versions))
    if spec.run_id == PENDING_RUN:
        try:
            message = inbox.recv()
        except EOFError:  # the import ended its writers before it began (StorePool.abort)
            message = None
        if message is None:  # the import stopped before it began (a config error)
            outbox.send(("done", error, unsaved))
            return
        _, run_id, unsaved_path = message
        spec = dataclasses.replace(spec, run_id=run_id, unsaved_path=Path(unsaved_path))
    if error is None:
        try:
            # The crawling process has already brought the schema up to date (and imported Alembic).
            writer = PostWriter(make_engine(spec.database_url), spec.run_id, spec.keep_text)
            ready = True
        except Exception as exc:
            error = describe_error(exc)
    while (message := inbox.recv()) is not None:
        # A plain list from a crawl. (Not isinstance(Batch): this module runs as __main__ here,
        # and pickle brings Batch from crawler.storing.)
        batch = Batch(message) if isinstance(message, list) else message
        if ready:
            try:
                result = store_batch(classifier, writer, versions, spec, batch)
            except Exception as exc:  # a bug, not a bad post: keep the batch, try the next one
                log.exception("storing a batch failed")
                error = error or describe_error(exc)
            else:
                error = error or result.error
                unsaved += result.unsaved
                outbox.send(("batch", result))
                continue
        append_unsaved(
            spec.unsaved_path, batch.items, keep_text=spec.keep_text, run_id=spec.run_id,
            lines=batch.lines,
        )  # fmt: skip
        unsaved += len(batch.items)
    outbox.send(("done", error, unsaved))


def main() -> None:
    """`python -m crawler.storing IN_FD OUT_FD [IN_FD OUT_FD …]`: the writer process, started by
    BackgroundStore; with more pipe pairs (StorePool), one writer per pair (fork_writers)."""
    fds = [int(fd) for fd in sys.argv[1:]]
    pairs = [
        (Connection(fds[i], writable=False), Connection(fds[i + 1], readable=False))
        for i in range(0, len(fds), 2)
    ]
    inbox, outbox = pairs[0]
    try:
        spec = inbox.recv()
    except EOFError:  # started early and never used (crawler.writer_processes.close_channels)
        return
    loaded = load_classifier(spec)
    if len(pairs) > 1:
        fork_writers(loaded, pairs[1:], others=[pairs[0]])
    serve(spec, inbox, outbox, loaded)


def fork_writers(
    loaded: PostClassifier | str,
    pairs: list[tuple[Connection, Connection]],
    others: list[tuple[Connection, Connection]],
) -> None:
    """One more writer per pipe pair, forked once the classifier is built: each shares its
    pages instead of importing and building its own (~2 s of CPU each, a fifth of an import of
    100,000 posts on two cores). Forked before any database connection is opened (each opens
    its own) and before any Python thread starts (numpy's BLAS pool, a native thread, restarts
    itself in the child); each sends its pid first: it is no child of the importing process,
    which may have to kill it. An import of the same file stores the same rows either way."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # reaped as they end; none is waited for
    for n, (inbox, outbox) in enumerate(pairs):
        if os.fork() == 0:
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for pair in [*others, *pairs[:n], *pairs[n + 1 :]]:
                    for end in pair:
                        end.close()
                outbox.send(("pid", os.getpid()))
                try:
                    spec = inbox.recv()
                except EOFError:  # the import ended before this writer was given anything
                    spec = None
                if spec is not None:
                    serve(spec, inbox, outbox, loaded)
            except BaseException:
                log.exception("a forked writer failed")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
    for inbox, outbox in pairs:
        inbox.close()
        outbox.close()


# A batch's text budget: 2,000 posts of 1,000 characters. With 8 batches queued per writer,
# two writers hold at most ~64 M characters whatever the posts' length.
BATCH_TEXT_CHARS = 2_000_000


def _text_size(item: PostItem) -> int:
    text, extra = item.text, item.extra_text
    return (len(text) if isinstance(text, str) else 0) + (
        len(extra) if isinstance(extra, str) else 0
    )


def _full(batch: Batch, size: int) -> bool:
    return len(batch.items) >= size or batch.chars >= BATCH_TEXT_CHARS


def _add(batch: Batch, item: PostItem, line: int | None) -> None:
    batch.items.append(item)
    batch.chars += _text_size(item)
    if line is not None and batch.lines is None:
        batch.lines = [None] * (len(batch.items) - 1)
    if batch.lines is not None:
        batch.lines.append(line)


def _message(batch: Batch) -> list[PostItem] | Batch:
    """What goes down the pipe: a plain list when no post has a line (a crawl)."""
    return batch if batch.lines is not None else batch.items


class BackgroundStore:
    """A writer process fed with batches of items; `close()` flushes and returns the totals.

    It is a plain subprocess (not multiprocessing), so it imports only classifiers and storage,
    not Scrapy or the CLI: the pair stays well within the memory budget.
    """

    def __init__(
        self, spec: StoreSpec, batch_size: int = 500, channel: Channel | None = None
    ) -> None:
        self.spec = spec
        self._batch_size = batch_size
        self._pending = Batch([])
        self._process, self._to, self._from = channel or start_writers(1)[0]
        # Bounded, so a slow database slows the crawl down instead of filling memory; a feeder
        # thread does the pickling and the blocking writes, never the reactor.
        self._queue: queue.Queue[object] = queue.Queue(maxsize=8)
        self._results: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._feeder = threading.Thread(target=self._feed, name="vemeter-feed", daemon=True)
        self._reader = threading.Thread(target=self._read, name="vemeter-read", daemon=True)
        self._to.send(spec)
        self._feeder.start()
        self._reader.start()
        self.totals = BatchResult()
        self.versions: dict[str, str] = {}
        self.error: str | None = None
        self.unsaved = 0
        # Batches given to this writer and batches it has reported (counted by the reader
        # thread): what it still holds, for StorePool to feed the least busy writer.
        self.given = 0
        self.reported = 0
        self.ended = False  # the writer's pipe closed: it takes no more batches

    @property
    def holding(self) -> int:
        return self.given - self.reported

    def _put(self, batch: object) -> None:
        self.given += 1
        self._queue.put(batch)

    def _feed(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                self._to.send(batch)
            except OSError:
                return  # the writer died; close() reports it
            if batch is None:
                return

    def _read(self) -> None:
        while True:
            try:
                message = self._from.recv()
            except (EOFError, OSError):
                self.ended = True
                self._results.put(("eof",))
                return
            if message[0] == "pid" and isinstance(self._process, ForkedWriter):
                self._process.pid = message[1]  # known at once: abort() may need it
                continue
            if message[0] == "batch":
                self.reported += 1
            self._results.put(message)
            if message[0] == "done":
                return

    def abort(self) -> None:
        """End a writer that holds nothing: it was never given a run or a post."""
        self._process.kill()
        self._process.wait(timeout=60)
        self._queue.put(None)  # ends the feeder
        self._feeder.join(timeout=30)
        self._to.close()
        self._from.close()

    def begin(self, run_id: int, unsaved_path: Path) -> None:
        """Give a writer started with a PENDING_RUN spec its run; call before submit()."""
        self.spec = dataclasses.replace(self.spec, run_id=run_id, unsaved_path=unsaved_path)
        self._queue.put(("run", run_id, str(unsaved_path)))

    def submit(self, item: PostItem, line: int | None = None) -> None:
        """Queue `item` (from `line` of an imported file, if it came from one)."""
        _add(self._pending, item, line)
        if _full(self._pending, self._batch_size):
            self._put(_message(self._pending))
            self._pending = Batch([])

    def poll(self) -> BatchResult:
        """Take in the results the writer has reported so far (for live progress)."""
        while True:
            try:
                message = self._results.get_nowait()
            except queue.Empty:
                return self.totals
            self._take(message)

    def _take(self, message: tuple[Any, ...]) -> bool:
        kind = message[0]
        if kind == "batch":
            self.totals.add(message[1])
            return False
        if kind == "versions":
            self.versions = message[1]
            return False
        if kind == "eof":
            code = self._process.wait()
            self.error = "the writer process died" + (
                "" if code is None else f" (exit code {code})"
            )
            return True
        _, self.error, self.unsaved = message
        return True

    def close(self) -> BatchResult:
        if self._pending.items:
            self._put(_message(self._pending))
            self._pending = Batch([])
        self._queue.put(None)
        while not self._take(self._results.get()):
            pass
        self._feeder.join(timeout=30)
        self._process.wait(timeout=60)
        self._to.close()
        self._from.close()
        if self.totals.refused:
            log.warning(
                "%d posts refused and quarantined (run %d; table quarantine)",
                self.totals.refused, self.spec.run_id,
            )  # fmt: skip
        return self.totals


if __name__ == "__main__":
    main()


class StorePool:
    """Several writer processes behind BackgroundStore's interface, each batch to the writer
    that holds the fewest (ties in turn): a writer slowed down (by the database's lock, by
    another process on its core) gets less, all of them finish together, and a writer that
    died gets nothing more.

    For imports, where reading rows is cheap and classification is the bottleneck; a crawl
    keeps one writer so the crawling process has a core of its own. The writers after the
    first are forked from it once its classifier is built (start_writers, fork_writers).
    """

    def __init__(
        self,
        spec: StoreSpec,
        batch_size: int = 500,
        workers: int = 2,
        channels: list[Channel] | None = None,
    ) -> None:
        self.spec = spec
        # One classifier build for all: the writers after the first are forked from it. They
        # may have been started already (channels: crawler.writer_processes.start_writers).
        self._stores = [
            BackgroundStore(spec, batch_size, channel)
            for channel in channels or start_writers(max(1, workers))
        ]
        self._batch_size = batch_size
        self._pending = Batch([])
        self._next = 0
        self.closed = False

    def begin(self, run_id: int, unsaved_path: Path) -> None:
        """The run of writers started early (see BackgroundStore.begin)."""
        self.spec = dataclasses.replace(self.spec, run_id=run_id, unsaved_path=unsaved_path)
        for store in self._stores:
            store.begin(run_id, unsaved_path)

    def submit(self, item: PostItem, line: int | None = None) -> None:
        _add(self._pending, item, line)
        if _full(self._pending, self._batch_size):
            self._least_busy()._put(_message(self._pending))
            self._pending = Batch([])

    def _least_busy(self) -> BackgroundStore:
        """The writer holding the fewest batches (ties in turn); a writer that has ended only
        when all have (its batches are then reported lost by close())."""
        count = len(self._stores)
        turn = [self._stores[(self._next + k) % count] for k in range(count)]
        self._next += 1
        return min([s for s in turn if not s.ended] or turn, key=lambda store: store.holding)

    def poll(self) -> BatchResult:
        totals = BatchResult()
        for store in self._stores:
            totals.add(store.poll())
        return totals

    def abort(self) -> None:
        """Stop writers that were never given a run (the import stopped before it began)."""
        self.closed = True
        for store in self._stores:
            store.abort()

    def close(self) -> BatchResult:
        self.closed = True
        if self._pending.items:
            self._least_busy()._put(_message(self._pending))
            self._pending = Batch([])
        totals = BatchResult()
        for store in self._stores:
            totals.add(store.close())
        return totals

    @property
    def versions(self) -> dict[str, str]:
        return self._stores[0].versions

    @property
    def error(self) -> str | None:
        return next((s.error for s in self._stores if s.error), None)

    @property
    def unsaved(self) -> int:
        return sum(s.unsaved for s in self._stores)
