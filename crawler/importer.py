"""`vemeter import`: posts exported by other collection tools (JSON lines or CSV) into the same
normalise → de-duplicate → classify → store path as crawled posts.

Bad rows are reported with their line number and skipped; the good ones are kept; importing
the same file again adds nothing (posts are unique per platform and post id).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.classification import check_classifiers
from crawler.config import ImportSettings, ProjectConfig
from crawler.errors import InputError
from crawler.items import PostItem
from crawler.pseudonym import Pseudonymiser
from crawler.storing import StorePool, StoreSpec
from crawler.version import vemeter_version
from storage.engine import open_database
from storage.runs import TargetOutcome, finish_run, record_targets, start_run

_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")
FORMATS = ("jsonl", "csv")


class RowError(ValueError):
    """One row cannot be imported; the message names the field and what is wrong."""


@dataclass
class ImportResult:
    rows: int = 0
    new: int = 0
    seen: int = 0
    flagged: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    run_id: int = 0
    per_target: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    error: str | None = None


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


class CountingLines:
    """Decoded lines of a binary file, counting the bytes read (for the progress bar)."""

    def __init__(self, handle: io.BufferedReader) -> None:
        self.handle = handle
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.bytes_read += len(raw)
            yield raw.decode("utf-8", errors="replace")


def read_rows(handle: Iterable[str], fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot be read at all comes as an error string."""
    if fmt == "jsonl":
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            yield number, row if isinstance(row, dict) else "not a JSON object"
        return
    reader = csv.DictReader(handle)
    for row in reader:
        if None in row:  # more cells than header columns
            extra = row[None]
            yield reader.line_num, f"{len(extra)} more cells than the header has columns"
            continue
        yield reader.line_num, row


def parse_time(value: Any) -> datetime:
    """ISO 8601 (a date alone is midnight UTC), or Unix seconds or milliseconds."""
    if isinstance(value, bool) or value is None or value == "":
        raise RowError("published_at: missing (add a date: ISO 8601 or Unix seconds)")
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value)
    ):
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise RowError(
            f"published_at: {value!r} is not a date (ISO 8601 or Unix seconds)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _count(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowError(f"{name}: {value!r} is not a whole number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise RowError(f"{name}: {value!r} is not a whole number") from None


class RowMapper:
    """Turns one row into a PostItem using the config's field mapping and the defaults."""

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

    def __call__(self, row: dict[str, Any]) -> PostItem:
        f = self.f
        post_id = row.get(f.id)
        if post_id is None or str(post_id).strip() == "":
            raise RowError(f"{f.id}: missing (every post needs its id on the platform)")
        platform = str(row.get(f.platform) or self.platform or "").strip().lower()
        if not platform:
            raise RowError(f"{f.platform}: missing (add the column, or pass --platform)")
        if not _SLUG.match(platform):
            raise RowError(
                f"{f.platform}: {platform!r} is not a platform key (like vk, telegram, ok)"
            )
        text = row.get(f.text)
        if text is None:
            text = ""
        elif not isinstance(text, str):
            raise RowError(f"{f.text}: expected text, got {type(text).__name__}")
        source = str(row.get(f.source) or self.source)
        author = row.get(f.author)
        return PostItem(
            platform=platform,
            source=source,
            target=str(row.get(f.target) or source),
            post_id=str(post_id).strip(),
            published_at=parse_time(row.get(f.published_at)),
            text=text,
            url=str(row[f.url]) if row.get(f.url) else None,
            author=self.pseudonymise(platform, author) if author not in (None, "") else None,
            views=_count(row.get(f.views), f.views),
        )


def import_file(
    config: ProjectConfig,
    path: Path,
    *,
    fmt: str | None = None,
    platform: str | None = None,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 2,
    check: bool = False,
) -> ImportResult:
    """Import `path` into the project's database; returns counts and the bad rows.

    With `check`, rows are read and validated only: nothing is classified or stored.
    """
    fmt = detect_format(path, fmt)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    pseudonymiser = Pseudonymiser.from_env(config.privacy.pseudonym_key_env)
    mapper = RowMapper(config.imports, platform, source, f"import:{path.stem}"[:64], pseudonymiser)
    result = ImportResult()
    if check:
        return _check_only(path, fmt, mapper, result, progress)
    check_classifiers(config)
    engine = open_database(config.database_url)
    result.run_id = start_run(
        engine, project=config.project, config_hash=config.config_hash,
        version=vemeter_version(), classifiers={},
    )  # fmt: skip
    store = StorePool(
        StoreSpec.for_config(
            config, result.run_id, path.with_name(f"{path.name}.unsaved-run{result.run_id}.jsonl")
        ),
        batch_size=config.storage.batch_size,
        workers=workers,
    )  # fmt: skip
    seen: set[bytes] = set()
    duplicates = 0
    for item in mapped_items(path, fmt, mapper, result, progress):
        key = hashlib.blake2b(f"{item.platform}:{item.post_id}".encode(), digest_size=8).digest()
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        result.per_target[(item.platform, item.source, item.target)] += 1
        store.submit(item)
    totals = store.close()
    result.new, result.seen, result.flagged = totals.new, totals.seen + duplicates, totals.flagged
    result.error = store.error
    record_targets(engine, result.run_id, [
        TargetOutcome(
            platform=p, source=s, target=t, status="ok" if store.error is None else "error",
            reason=f"imported from {path.name}", posts_new=totals.per_target_new[(s, t)],
            posts_seen=totals.per_target_seen[(s, t)], complete=False,  # never a crawl resume point
            newest_post_id=None, newest_published_at=None,
        )
        for (p, s, t) in sorted(result.per_target)
    ])  # fmt: skip
    finish_run(
        engine, result.run_id, status="failed" if store.error else ("partial" if result.bad else "ok"),
        new=result.new, seen=result.seen, flagged=result.flagged, requests=0,
        message=f"import {path} ({fmt}): {result.rows} rows, {len(result.bad)} bad",
        classifiers=store.versions,
    )  # fmt: skip
    engine.dispose()
    return result


def _check_only(
    path: Path,
    fmt: str,
    mapper: RowMapper,
    result: ImportResult,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    for item in mapped_items(path, fmt, mapper, result, progress):
        result.per_target[(item.platform, item.source, item.target)] += 1
    return result


def mapped_items(
    path: Path,
    fmt: str,
    mapper: RowMapper,
    result: ImportResult,
    progress: Callable[[int], None] | None,
) -> Iterator[PostItem]:
    """The file's good rows as PostItems; counts every row and records the bad ones in `result`."""
    with path.open("rb") as binary:
        lines = CountingLines(binary)
        for number, row in read_rows(lines, fmt):
            result.rows += 1
            if progress is not None and result.rows % 2000 == 0:
                progress(lines.bytes_read)
            if isinstance(row, str):
                result.bad.append((number, row))
                continue
            try:
                yield mapper(row)
            except RowError as exc:
                result.bad.append((number, str(exc)))
