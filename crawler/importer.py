"""`vemeter import`: posts exported by other collection tools (JSON lines or CSV) into the same
normalise → de-duplicate → classify → store path as crawled posts. Each row is keyed as the
platform's spider keys the same post (crawler.post_keys: Telegram `channel/77`, VK `-123_456`,
OK topic id, web URL), from its id, target and url columns; a row whose key would be a guess
(a bare Telegram message number with no channel) is bad, with the fix in its reason.

Bad rows are reported with their line number, quarantined (table `quarantine`: line, post id,
reason, never text) and skipped; the good ones are stored; importing the same file again adds
nothing (posts are unique per platform and post id). A row is bad when it cannot be read (not
UTF-8, not JSON, a line over the size limit, which is skipped unread), when a value is missing
or of the wrong type, or when storage.validation refuses it (a string over its column, a count
outside 0…2⁶³−1, a date before 2004 or more than a day ahead); a row the database still refuses
is found by splitting its batch (storage.writer.PostWriter.write_isolated).

A writer's unsaved file (crawler.storing: posts the database could not take) is recognised by its
rows' marker and replayed as it is: its posts are classified already and their authors are
pseudonyms, so they go straight to the database.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crawler.classification import check_classifiers
from crawler.config import FieldMap, ImportSettings, ProjectConfig
from crawler.errors import InputError
from crawler.items import PostItem
from crawler.post_keys import KeyProblem, import_key
from crawler.pseudonym import Pseudonymiser
from crawler.storing import (
    PENDING_RUN,
    UNSAVED_MARK,
    StorePool,
    StoreSpec,
    max_text_chars,
    store_records,
)
from crawler.validation import CountError, parse_count
from crawler.version import vemeter_version
from crawler.writer_processes import IMPORT_WRITERS, Channel, close_channels
from storage.engine import open_database
from storage.quarantine import QuarantineEntry, describe_error, record_quarantine
from storage.records import PostRecord, TagRecord
from storage.runs import TargetOutcome, finish_run, record_targets, start_run
from storage.validation import check_post, latest_allowed, safe_text
from storage.writer import BatchResult, PostWriter

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
FORMATS = ("jsonl", "csv")
# A line may hold one post of storage.max_text_chars characters, each written as a 6-byte JSON
# escape at worst, plus its other fields; never less than 1 MiB. Longer lines are skipped unread.
MIN_LINE_BYTES = 1 << 20
# Bad rows written to the quarantine table at a time, so a file of bad rows needs no memory.
QUARANTINE_CHUNK = 1000
# Reasons kept in ImportResult.bad; every bad row is counted, and quarantined.
MAX_BAD_KEPT = 100_000


def max_line_bytes(max_chars: int) -> int:
    """The longest line read, in bytes, for a per-post text limit of `max_chars` characters."""
    return max(MIN_LINE_BYTES, 6 * max_chars + 64 * 1024)


class RowError(ValueError):
    """One row cannot be imported; the message names the field and what is wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class ImportResult:
    rows: int = 0
    new: int = 0
    seen: int = 0
    flagged: int = 0
    # (line, reason) of the bad rows, in line order (the first MAX_BAD_KEPT); bad_count counts all.
    bad: list[tuple[int, str]] = field(default_factory=list)
    bad_count: int = 0
    run_id: int = 0
    per_target: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    error: str | None = None
    unsaved: int = 0
    unsaved_path: Path | None = None
    replayed: bool = False  # the file was an unsaved file of an earlier run
    # Bad rows not yet written to the quarantine table.
    pending: list[QuarantineEntry] = field(default_factory=list, repr=False)

    def add_bad(self, line: int, reason: str, entry: QuarantineEntry | None = None) -> None:
        self.bad_count += 1
        if len(self.bad) < MAX_BAD_KEPT:
            self.bad.append((line, reason))
        self.pending.append(entry or QuarantineEntry(reason=reason, line=line))

    @property
    def stored(self) -> int:
        """Rows that are in the database now: new ones and ones stored before."""
        return self.new + self.seen


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    raise InputError(
        f"{path}: cannot tell the format from {suffix or 'no'} suffix (use --format jsonl or --format csv)"
    )


class LineReader:
    """The lines of a binary file, read at most `limit` bytes at a time, decoded strictly.

    Iterating yields (line number, text); a line that is not UTF-8 or longer than `limit` bytes
    yields (number, None), with the reason in `problems`, and a line too long is skipped without
    being kept in memory. Counts the bytes read for the progress bar.
    """

    def __init__(self, handle: io.BufferedReader, limit: int) -> None:
        self.handle = handle
        self.limit = limit
        self.bytes_read = 0
        self.problems: dict[int, str] = {}
        self.raw: bytes | None = None  # the bytes of the last line not decoded, if read whole

    def __iter__(self) -> Iterator[tuple[int, str | None]]:
        readline, limit = self.handle.readline, self.limit
        number = 0
        while raw := readline(limit + 1):
            number += 1
            self.bytes_read += len(raw)
            self.raw = None
            if len(raw) > limit and not raw.endswith(b"\n"):
                size = len(raw) + self._skip_rest()
                self.problems[number] = (
                    f"line is {size:,} bytes, over the limit of {limit:,} (skipped unread; "
                    "the limit follows storage.max_text_chars)"
                )
                yield number, None
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.raw = raw
                self.problems[number] = (
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)"
                )
                yield number, None
                continue
            if number == 1 and line.startswith("\ufeff"):  # a byte order mark
                line = line[1:]
            yield number, line

    def _skip_rest(self) -> int:
        skipped = 0
        while chunk := self.handle.readline(1 << 20):
            skipped += len(chunk)
            self.bytes_read += len(chunk)
            if chunk.endswith(b"\n"):
                break
        return skipped


def _json_rows(lines: LineReader) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in lines:
        if line is None:
            yield number, lines.problems.pop(number)
            continue
        if line.isspace():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        except (ValueError, RecursionError):  # a 5,000-digit number, [[[[…]]]]
            yield number, "not valid JSON (nested too deeply, or a number too long)"
            continue
        yield number, row if isinstance(row, dict) else "not a JSON object"


def _csv_rows(lines: LineReader) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """CSV records (which may span lines); a record touching an unreadable line is bad."""

    read = [0]  # the last line handed to the csv reader: where a record that fails ends

    def text() -> Iterator[str]:
        for number, line in lines:
            read[0] = number
            if line is None:  # keep the quotes and commas: the record is reported below
                line = "-\n" if lines.raw is None else lines.raw.decode("utf-8", "replace")
                if number == 1:
                    line = line.removeprefix("\ufeff")
            yield line

    reader = csv.DictReader(text())
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # reader.line_num is 0 while the header fails
            lines.problems.clear()
            yield max(1, read[0]), f"not valid CSV ({safe_text(exc, 120)})"
            continue
        if lines.problems:  # csv reads no further than the record: these lines are in it
            problem = lines.problems[min(lines.problems)]
            lines.problems.clear()
            yield reader.line_num, problem
            continue
        if None in row:  # more cells than header columns
            extra = row[None]
            yield reader.line_num, f"{len(extra)} more cells than the header has columns"
            continue
        yield reader.line_num, row


def read_rows(lines: LineReader, fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot be read at all comes as an error string."""
    if fmt == "jsonl":
        return _json_rows(lines)
    return _csv_rows(lines)


def _show(value: Any, limit: int = 40) -> str:
    """repr() of a value for a message, never longer than `limit`: rows are hostile input."""
    shown = repr(value[: limit + 1] if isinstance(value, str) else value)
    return safe_text(shown, limit)


def parse_time(value: Any) -> datetime:
    """ISO 8601 (a date alone is midnight UTC), or Unix seconds or milliseconds."""
    if isinstance(value, bool) or value is None or value == "":
        raise RowError(
            "published_at: missing (add a date: ISO 8601 or Unix seconds)", "published_at"
        )
    try:
        if isinstance(value, int | float) or (
            isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value)
        ):
            number = float(value)
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=UTC)
        if not isinstance(value, str) or len(value) > 64:
            raise ValueError
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        # In UTC, 0001-01-01T00:00+05:00 is before the calendar begins: OverflowError.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise RowError(
            f"published_at: {_show(value)} is not a date (ISO 8601 or Unix seconds)",
            "published_at",
        ) from None


def _count(value: Any, name: str) -> int | None:
    try:
        return parse_count(value)
    except CountError as exc:
        raise RowError(f"{name}: {exc}", name) from None


def _name(value: Any, name: str) -> str | None:
    """An id or name: text, or a whole number written as one (Telegram ids are numbers)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise RowError(f"{name}: expected text or a whole number, got {type(value).__name__}", name)


class RowMapper:
    """Turns one row into a PostItem using the config's field mapping and the defaults, and
    checks it as storage would (storage.validation.check_post): a bad row fails here, by line."""

    def __init__(
        self,
        settings: ImportSettings,
        platform: str | None,
        source: str | None,
        default_source: str,
        pseudonymise: Callable[[str, Any], str | None],
    ) -> None:
        self.f = settings.fields
        self.platform = platform or settings.platform
        self.source = source or settings.source or default_source
        self.pseudonymise = pseudonymise
        self.latest = latest_allowed()
        self.platforms: set[str] = set()  # platform keys seen valid (_new_platform)
        f = self.f
        # The file's names of PostItem's fields, for messages.
        self.names = {
            "post_id": f.id, "platform": f.platform, "source": f.source, "target": f.target,
            "url": f.url, "author": f.author, "published_at": f.published_at, "views": f.views,
        }  # fmt: skip

    def __call__(self, row: dict[str, Any]) -> PostItem:
        f = self.f
        post_id = _name(row.get(f.id), f.id)
        if not post_id:
            raise RowError(f"{f.id}: missing (every post needs its id on the platform)", f.id)
        platform = (_name(row.get(f.platform), f.platform) or self.platform or "").lower()
        if not platform:
            raise RowError(
                f"{f.platform}: missing (add the column, or pass --platform)", f.platform
            )
        if platform not in self.platforms and not self._new_platform(platform):
            raise RowError(
                f"{f.platform}: {_show(platform)} is not a platform key (like vk, telegram, ok)",
                f.platform,
            )
        text = row.get(f.text)
        if text is None:
            text = ""
        elif not isinstance(text, str):
            raise RowError(f"{f.text}: expected text, got {type(text).__name__}", f.text)
        source = _name(row.get(f.source), f.source) or self.source
        url = row.get(f.url)
        if url is not None and not isinstance(url, str):
            raise RowError(f"{f.url}: expected text, got {type(url).__name__}", f.url)
        author = row.get(f.author)
        if (author is not None and not isinstance(author, str | int)) or isinstance(author, bool):
            raise RowError(
                f"{f.author}: expected text or a number, got {type(author).__name__}", f.author
            )
        target = _name(row.get(f.target), f.target) or None
        item = PostItem(
            platform=platform,
            source=source,
            target=target or source,
            post_id=post_id,
            published_at=parse_time(row.get(f.published_at)),
            text=text,
            url=url or None,
            author=self.pseudonymise(platform, author) if author not in (None, "") else None,
            views=_count(row.get(f.views), f.views),
        )
        self.check(item)
        try:  # the key the platform's spider stores this post under (crawler.post_keys)
            key, implied = import_key(platform, post_id, target, item.url)
        except KeyProblem as exc:
            raise RowError(f"{f.id}: {exc}", f.id) from None
        if key != post_id or (implied is not None and implied != item.target):
            item.post_id, item.target = key, implied or item.target
            self.check(item)
        return item

    def _new_platform(self, platform: str) -> bool:
        """Whether platform is a key like vk or telegram; remembered (a file has a few)."""
        if not _SLUG.match(platform):
            return False
        if len(self.platforms) < 100:
            self.platforms.add(platform)
        return True

    def check(self, item: PostItem) -> None:
        problem = check_post(item, self.latest)
        if problem is not None:
            name = self.names.get(problem.field, problem.field)
            raise RowError(f"{name}: {problem.reason}", name)


def _entry(line: int, reason: str, row: Any = None, field: str | None = None,
           f: Any = None) -> QuarantineEntry:  # fmt: skip
    """A quarantine entry for a bad row: its line, and its ids when the row has them."""

    def value(name: str | None) -> str | None:
        if name is None or not isinstance(row, dict):
            return None
        found = row.get(name)
        return None if found is None or found == "" else safe_text(found, 200)

    return QuarantineEntry(
        reason=reason, line=line, field=field,
        platform=value(f.platform if f else None), source=value(f.source if f else None),
        target=value(f.target if f else None), post_id=value(f.id if f else None),
    )  # fmt: skip


class UnsavedMapper:
    """Rows of an unsaved file (crawler.storing) back into what they were: a classified
    PostRecord (stored as it is, its text trimmed to this project's privacy.keep_text) or an
    unclassified PostItem (classified again). Authors are pseudonyms already: never re-keyed."""

    def __init__(self, keep_text: str) -> None:
        self.keep_text = keep_text
        self.f = FieldMap(id="post_id")  # what names a bad row's ids in the quarantine
        self.latest = latest_allowed()
        self.record_fields = {f.name for f in dataclasses.fields(PostRecord)}
        self.item_fields = {f.name for f in dataclasses.fields(PostItem)}

    def __call__(self, row: dict[str, Any]) -> PostItem | PostRecord:
        kind = row.get("kind")
        if row.get(UNSAVED_MARK) != 1 or kind not in ("record", "item"):
            raise RowError("not a row of a vemeter unsaved file (format 1)")
        values = {k: v for k, v in row.items() if k in (
            self.record_fields if kind == "record" else self.item_fields
        )}  # fmt: skip
        published = values.get("published_at")
        try:
            values["published_at"] = datetime.fromisoformat(str(published)[:64])
            if kind == "item":
                values["attachments"] = tuple(values.get("attachments") or ())
                post: PostItem | PostRecord = PostItem(**values)
            else:
                values["tags"] = [TagRecord(**t) for t in values.get("tags") or []]
                post = PostRecord(**values)
        except (TypeError, ValueError) as exc:
            raise RowError(f"not a row of a vemeter unsaved file ({safe_text(exc, 120)})") from None
        problem = check_post(post, self.latest)
        if problem is not None:
            raise RowError(str(problem), problem.field)
        if isinstance(post, PostRecord) and not (
            self.keep_text == "all" or (self.keep_text == "flagged" and post.flagged)
        ):
            post.text = None  # this project keeps less than the run that wrote the file
        return post


def is_unsaved_file(path: Path, limit: int = MIN_LINE_BYTES) -> bool:
    """Whether `path` is an unsaved file a writer wrote (its first row carries the marker)."""
    try:
        with path.open("rb") as handle:
            for number, line in LineReader(handle, limit):
                if line is None or number > 100:
                    return False
                if line.isspace():
                    continue
                row = json.loads(line)
                return isinstance(row, dict) and row.get(UNSAVED_MARK) == 1
    except (OSError, ValueError, RecursionError):
        return False
    return False


def import_file(
    config: ProjectConfig,
    path: Path,
    *,
    fmt: str | None = None,
    platform: str | None = None,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = IMPORT_WRITERS,
    check: bool = False,
    channels: list[Channel] | None = None,
) -> ImportResult:
    """Import `path` into the project's database; returns counts and the bad rows.

    Bad rows are quarantined in the run (and listed, by line, in the result); the good ones are
    stored. With `check`, rows are read and validated only: nothing is classified or stored.
    `channels`: writers started already (crawler.writer_processes.start_writers), used in place
    of `workers` new ones, and ended here when they are not needed.
    """
    try:
        return _import_file(config, path, fmt, platform, source, progress, workers, check, channels)
    finally:
        if channels is not None:
            close_channels([c for c in channels if not c[1].closed])


def _import_file(
    config: ProjectConfig,
    path: Path,
    fmt: str | None,
    platform: str | None,
    source: str | None,
    progress: Callable[[int], None] | None,
    workers: int,
    check: bool,
    channels: list[Channel] | None,
) -> ImportResult:
    fmt = detect_format(path, fmt)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    limit = max_line_bytes(max_text_chars(config))
    result = ImportResult(replayed=fmt == "jsonl" and is_unsaved_file(path, limit))
    pseudonymiser = Pseudonymiser.from_env(config.privacy.pseudonym_key_env)
    mapper: Callable[[dict[str, Any]], PostItem | PostRecord]
    if result.replayed:
        mapper = UnsavedMapper(config.privacy.keep_text)
    else:
        mapper = RowMapper(
            config.imports, platform, source, f"import:{path.stem}"[:64], pseudonymiser
        )
    if check:
        return _check_only(path, fmt, mapper, result, progress, limit)
    # The writers start now: loading their classifiers (~1.5 s) overlaps the checks and the
    # migrations below. Rows of an unsaved file are classified already and need none.
    pool = None if result.replayed else StorePool(
        StoreSpec.for_config(config, PENDING_RUN, Path(os.devnull)), batch_size=config.imports.batch_size,
        workers=workers, channels=channels,
    )  # fmt: skip
    try:
        check_classifiers(config)
        engine = open_database(config.database_url)
        try:
            # Another key than the database's would give the same authors second pseudonyms.
            pseudonymiser.check_database(engine)
            return _import(config, engine, path, fmt, mapper, result, progress, limit, pool)
        finally:
            engine.dispose()
    finally:
        if pool is not None and not pool.closed:
            if pool.spec.run_id == PENDING_RUN:
                pool.abort()  # stopped before the run began: the writers hold nothing
            else:
                pool.close()  # stopped on the way: the writers store what they were given


def _import(
    config: ProjectConfig,
    engine: Engine,
    path: Path,
    fmt: str,
    mapper: Callable[[dict[str, Any]], PostItem | PostRecord],
    result: ImportResult,
    progress: Callable[[int], None] | None,
    limit: int,
    pool: StorePool | None,
) -> ImportResult:
    result.run_id = start_run(
        engine, project=config.project, config_hash=config.config_hash,
        version=vemeter_version(), classifiers={},
    )  # fmt: skip
    spec = StoreSpec.for_config(
        config, result.run_id, path.with_name(f"{path.name}.unsaved-run{result.run_id}.jsonl")
    )
    batch_size = config.imports.batch_size
    if pool is not None:
        pool.begin(result.run_id, spec.unsaved_path)
    # For posts classified already (a replay).
    writer = PostWriter(engine, result.run_id, config.privacy.keep_text)
    records: list[PostRecord] = []
    record_lines: list[int | None] = []
    totals = BatchResult()
    seen: set[bytes] = set()
    duplicates = 0

    def flush_records() -> None:
        totals.add(store_records(writer, spec, records, record_lines, []))
        records.clear()
        record_lines.clear()

    for number, post in mapped_items(path, fmt, mapper, result, progress, limit):
        key = hashlib.blake2b(f"{post.platform}:{post.post_id}".encode(), digest_size=8).digest()
        if len(result.pending) >= QUARANTINE_CHUNK:
            _flush_quarantine(engine, result)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        result.per_target[(post.platform, post.source, post.target)] += 1
        if isinstance(post, PostRecord):
            records.append(post)
            record_lines.append(number)
            if len(records) >= batch_size:
                flush_records()
            continue
        if pool is None:  # an unsaved file holds rows to classify too
            pool = StorePool(spec, batch_size=batch_size)
        pool.submit(post, number)
    if records:
        flush_records()
    if pool is not None:
        unsaved = totals.unsaved  # posts classified already that went to the unsaved file
        totals.add(pool.close())
        # A pool counts every post its writers put in the file (batch results count some).
        totals.error, totals.unsaved = totals.error or pool.error, unsaved + pool.unsaved
    _flush_quarantine(engine, result)
    result.new, result.seen, result.flagged = totals.new, totals.seen + duplicates, totals.flagged
    result.error, result.unsaved = totals.error, totals.unsaved
    result.unsaved_path = spec.unsaved_path if totals.unsaved else None
    # Rows the writers refused (validation there, or the database) are quarantined already.
    result.bad_count += totals.refused
    room = MAX_BAD_KEPT - len(result.bad)
    result.bad.extend((e.line or 0, e.reason) for e in totals.quarantined[: max(0, room)])
    result.bad.sort(key=lambda bad: bad[0])
    record_targets(engine, result.run_id, [
        TargetOutcome(
            platform=p, source=s, target=t, status="ok" if result.error is None else "error",
            reason=f"imported from {path.name}"[:200], posts_new=totals.per_target_new[(s, t)],
            posts_seen=totals.per_target_seen[(s, t)], complete=False,  # never a crawl resume point
            newest_post_id=None, newest_published_at=None,
        )
        for (p, s, t) in sorted(result.per_target)
    ])  # fmt: skip
    finish_run(
        engine, result.run_id,
        status="failed" if result.error else ("partial" if result.bad_count else "ok"),
        new=result.new, seen=result.seen, flagged=result.flagged, requests=0,
        message=run_message(path, fmt, result), classifiers=pool.versions if pool else {},
    )  # fmt: skip
    return result


def run_message(path: Path, fmt: str, result: ImportResult) -> str:
    """The run's one-line summary (crawl_runs.message): counts, and the first error if any."""
    what = "replay of an unsaved file" if result.replayed else fmt
    message = (
        f"import {path.name} ({what}): {result.rows} rows, {result.new + result.seen} stored, "
        f"{result.bad_count} quarantined"
    )
    if result.error:
        message += f"; storing failed ({result.error}), {result.unsaved} rows in the unsaved file"
    return safe_text(message, 500)


def _flush_quarantine(engine: Engine, result: ImportResult) -> None:
    if not result.pending:
        return
    try:
        record_quarantine(engine, result.run_id, result.pending)
    except Exception as exc:  # the result still lists them; storing will have failed too
        result.error = result.error or describe_error(exc)
    result.pending.clear()


def _check_only(
    path: Path,
    fmt: str,
    mapper: Callable[[dict[str, Any]], PostItem | PostRecord],
    result: ImportResult,
    progress: Callable[[int], None] | None,
    limit: int,
) -> ImportResult:
    for _, post in mapped_items(path, fmt, mapper, result, progress, limit):
        result.per_target[(post.platform, post.source, post.target)] += 1
        result.pending.clear()
    result.pending.clear()
    return result


def mapped_items(
    path: Path,
    fmt: str,
    mapper: Callable[[dict[str, Any]], PostItem | PostRecord],
    result: ImportResult,
    progress: Callable[[int], None] | None,
    limit: int = MIN_LINE_BYTES,
) -> Iterator[tuple[int, PostItem | PostRecord]]:
    """The file's good rows, with their line numbers; counts every row and records the bad ones
    in `result` (result.bad, and result.pending for the quarantine table)."""
    fields = getattr(mapper, "f", None)
    with path.open("rb") as binary:
        lines = LineReader(binary, limit)
        if fmt == "csv":
            previous = csv.field_size_limit()
            csv.field_size_limit(max(previous, limit))
        try:
            for number, row in read_rows(lines, fmt):
                result.rows += 1
                if progress is not None and result.rows % 2000 == 0:
                    progress(lines.bytes_read)
                if isinstance(row, str):
                    result.add_bad(number, row)
                    continue
                try:
                    yield number, mapper(row)
                except RowError as exc:
                    reason = str(exc)
                    result.add_bad(number, reason, _entry(number, reason, row, exc.field, fields))
        finally:
            if fmt == "csv":
                csv.field_size_limit(previous)
