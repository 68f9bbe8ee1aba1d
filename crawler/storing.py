"""Classify and store posts in a separate process, in batches, so the crawl never waits on them.

The crawling process only de-duplicates and hands over lists of items; a writer process (the
machine's second core) classifies each batch and stores it in one transaction. One commit per
item was measured 12 times slower, and a writer thread shared the crawl's core (0.42× the
bare spider's speed; see docs/benchmarks.md for the process's figure).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.items import PostItem
from storage.records import build_record
from storage.writer import BatchResult

if TYPE_CHECKING:
    # Type only: the writer process (`python -m crawler.storing`) stays free of pydantic and the
    # platform registry, which it does not need, and the crawling process of the classifiers.
    from classifiers import PostClassifier
    from crawler.config import ProjectConfig
    from storage.writer import PostWriter

log = logging.getLogger(__name__)


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
        )


def append_unsaved(path: Path, items: list[PostItem]) -> None:
    """Posts that could not be stored go to a JSONL file: nothing collected is lost."""
    with path.open("a", encoding="utf-8") as fh:
        for item in items:
            row = dataclasses.asdict(item)
            row["published_at"] = item.published_at.isoformat()
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def store_batch(
    classifier: PostClassifier,
    writer: PostWriter,
    versions: dict[str, str],
    spec: StoreSpec,
    batch: list[PostItem],
) -> BatchResult:
    """Clean, classify and store one batch in one transaction: the writer process's whole job."""
    from classifiers.normalize import clean_text

    for i in batch:
        i.text = clean_text(i.text)
        i.extra_text = clean_text(i.extra_text) if i.extra_text else ""
    # One call per batch: language identification is ~3x faster batched.
    # Keyed by target: short posts lean on the language of that target's long ones.
    keys = [(i.platform, i.source, i.target) for i in batch]
    results = classifier.classify_many([i.classify_text for i in batch], sources=keys)
    records = [
        build_record(
            i, result, versions, spec.keep_text,
            model_topics=classifier.model_topics(result),
            lexicon_flags=classifier.lexicon_flags,
            designated=classifier.designations.lists,
        )
        for i, result in zip(batch, results, strict=True)
    ]  # fmt: skip
    return writer.write(records)


def serve(spec: StoreSpec, inbox: Connection, outbox: Connection) -> None:
    """The writer process: classify and store each batch until the None that ends the crawl."""
    # Imported here, in the writer process only: the crawling process never loads the models.
    from classifiers import PostClassifier
    from classifiers.language import release_shared_model
    from storage.engine import make_engine
    from storage.writer import PostWriter

    error: str | None = None
    unsaved = 0
    try:
        # The crawling process has already brought the schema up to date (and imported Alembic).
        engine = make_engine(spec.database_url)
        classifier = PostClassifier(
            lexicon_paths=list(spec.lexicon_paths) or None,
            languages=list(spec.languages),
            engine=spec.language_engine,
            topics=spec.topics,
            model=spec.model_path,
            designations=spec.designations,
        )
        release_shared_model()  # the identifier keeps what it needs
        writer = PostWriter(engine, spec.run_id)
        versions = classifier.versions
        outbox.send(("versions", versions))
    except Exception as exc:  # reported by the pipeline; every batch then goes to the file
        error = f"{type(exc).__name__}: {exc}"
    while (batch := inbox.recv()) is not None:
        if error is None:
            try:
                outbox.send(("batch", store_batch(classifier, writer, versions, spec, batch)))
                continue
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        append_unsaved(spec.unsaved_path, batch)
        unsaved += len(batch)
    outbox.send(("done", error, unsaved))


def main() -> None:
    """`python -m crawler.storing IN_FD OUT_FD`: the writer process, started by BackgroundStore."""
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    serve(inbox.recv(), inbox, outbox)


class BackgroundStore:
    """A writer process fed with batches of items; `close()` flushes and returns the totals.

    It is a plain subprocess (not multiprocessing), so it imports only classifiers and storage,
    not Scrapy or the CLI: the pair stays well within the memory budget.
    """

    def __init__(self, spec: StoreSpec, batch_size: int = 500) -> None:
        self.spec = spec
        self._batch_size = batch_size
        self._pending: list[PostItem] = []
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crawler.storing", str(to_r), str(from_w)],
            pass_fds=(to_r, from_w), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_r)
        os.close(from_w)
        self._to = Connection(to_w, readable=False)
        self._from = Connection(from_r, writable=False)
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
                self._results.put(("eof",))
                return
            self._results.put(message)
            if message[0] == "done":
                return

    def submit(self, item: PostItem) -> None:
        self._pending.append(item)
        if len(self._pending) >= self._batch_size:
            self._queue.put(self._pending)
            self._pending = []

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
            self.error = f"the writer process died (exit code {self._process.wait()})"
            return True
        _, self.error, self.unsaved = message
        return True

    def close(self) -> BatchResult:
        if self._pending:
            self._queue.put(self._pending)
            self._pending = []
        self._queue.put(None)
        while not self._take(self._results.get()):
            pass
        self._feeder.join(timeout=30)
        self._process.wait(timeout=60)
        self._to.close()
        self._from.close()
        return self.totals


if __name__ == "__main__":
    main()


class StorePool:
    """Several writer processes behind BackgroundStore's interface, fed batches in turn.

    For imports, where reading rows is cheap and classification is the bottleneck; a crawl
    keeps one writer so the crawling process has a core of its own.
    """

    def __init__(self, spec: StoreSpec, batch_size: int = 500, workers: int = 2) -> None:
        self.spec = spec
        self._stores = [BackgroundStore(spec, batch_size) for _ in range(max(1, workers))]
        self._batch_size = batch_size
        self._pending: list[PostItem] = []
        self._next = 0

    def submit(self, item: PostItem) -> None:
        self._pending.append(item)
        if len(self._pending) >= self._batch_size:
            store = self._stores[self._next % len(self._stores)]
            self._next += 1
            store._queue.put(self._pending)
            self._pending = []

    def poll(self) -> BatchResult:
        totals = BatchResult()
        for store in self._stores:
            totals.add(store.poll())
        return totals

    def close(self) -> BatchResult:
        if self._pending:
            self._stores[0]._queue.put(self._pending)
            self._pending = []
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
