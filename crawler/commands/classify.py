"""`vemeter classify`: tag posts given as JSON lines, or re-tag the posts a project has stored.

Each output line carries `classifier` (component -> name@version), so a file of results says
which versions produced it. A line's `lang` is a hint, not an override: it becomes the
reported language only when the identifier is unsure (no answer, or probability below
HINT_BELOW), and `language_from` then says "hint". Text is classified as given (the crawl
also tidies whitespace first), so match spans index the input text in code points.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from crawler.commands.options import SinceOpt, UntilOpt, parse_date
from crawler.commands.output import Format, render
from crawler.errors import ConfigError, InputError

if TYPE_CHECKING:
    from rich.progress import Progress

    from classifiers.post import PostClassifier
    from crawler.config import ProjectConfig
    from storage.records import Designated

# Below this probability the identifier counts as unsure and a line's `lang` hint is used.
HINT_BELOW = 0.5
BATCH = 256
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_PROGRESS_EVERY = 5.0  # seconds between plain progress lines when stderr is not a terminal

err = Console(stderr=True, soft_wrap=True)


@dataclass(frozen=True, slots=True)
class _Post:
    id: Any
    text: str
    hint: str | None
    # Which designations applied is decided on this day; posts without a date use today.
    published_at: datetime | None = None


def classify(
    config: Annotated[
        Path | None,
        typer.Option(help="Use this project's classifier settings (default: shipped lexicons)."),
    ] = None,
    input_: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="JSON lines with id, text, optional lang and published_at (default: stdin).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the JSON lines here (default: stdout).")
    ] = None,
    progress: Annotated[
        bool,
        typer.Option("--progress", help="Show progress on stderr even when it is not a terminal."),
    ] = False,
    reclassify: Annotated[
        Path | None,
        typer.Option(
            "--reclassify",
            help="Re-tag the posts stored by this project with its current classifiers.",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="With --reclassify: only posts of this source.")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="With --reclassify: format of the comparison.")
    ] = Format.table,
) -> None:
    """Tag posts given as JSON lines, or re-tag stored posts. Example: vemeter classify --input posts.jsonl"""
    if reclassify is not None:
        if config or input_ or output:
            raise typer.BadParameter(
                "--reclassify CONFIG works on stored posts; leave out --config, --input and --output",
                param_hint="--reclassify",
            )
        _reclassify(reclassify, source, parse_date(since), parse_date(until), fmt)
        return
    if source or since or until:
        raise typer.BadParameter(
            "--source, --since and --until select stored posts (use them with --reclassify CONFIG)"
        )
    classifier = _classifier(_load(config) if config else None)
    stream = _open_input(input_)
    interactive = input_ is None and sys.stdin.isatty()
    try:
        sink: IO[bytes] = output.open("wb") if output else sys.stdout.buffer
    except OSError as exc:
        stream.close()
        raise InputError(f"{output}: cannot write it ({exc.strerror}; check the folder)") from None
    size = input_.stat().st_size if input_ else None
    report = Reporter(
        str(input_) if input_ else "stdin", show=err.is_terminal or progress, size=size
    )
    try:
        good = classify_lines(
            stream, sink, classifier, report, batch_size=1 if interactive else BATCH
        )
    except BrokenPipeError:
        # `… | head`: the reader has what it wanted; point stdout at /dev/null so that the
        # interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    finally:
        report.close()
        if output:
            sink.close()
        if input_:
            stream.close()
    report.done(good)
    if report.bad:
        raise typer.Exit(1)


class Reporter:
    """Bad lines and progress, on stderr only: a Rich bar on a terminal, else a line every 5 s."""

    def __init__(self, name: str, *, show: bool, size: int | None = None) -> None:
        self.name = name
        self.show = show
        self.bad = 0
        self._started = self._last = time.monotonic()
        self._bar: Progress | None = None
        if show and err.is_terminal:
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            self._bar = Progress(
                "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                TimeRemainingColumn(), console=err, transient=True,
            )  # fmt: skip
            self._task = self._bar.add_task("classifying", total=size)
            self._bar.start()

    def bad_line(self, number: int, problem: str) -> None:
        self.bad += 1
        err.print(f"{self.name}: line {number}: {problem}", highlight=False, markup=False)

    def tick(self, good: int, read: int) -> None:
        """After each batch: `good` posts written, `read` bytes of input read."""
        if self._bar is not None:
            self._bar.update(self._task, completed=read, description=f"classified {good:,} posts")
            return
        now = time.monotonic()
        if self.show and now - self._last >= _PROGRESS_EVERY:
            self._last = now
            err.print(f"classified {good:,} posts · {self._rate(good, now)}", highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def done(self, good: int) -> None:
        if self.show or self.bad:
            rate = self._rate(good, time.monotonic())
            err.print(
                f"classified {good:,} posts ({rate}), {self.bad:,} bad lines skipped",
                highlight=False,
            )

    def _rate(self, good: int, now: float) -> str:
        return f"{good / max(now - self._started, 1e-9):,.0f} posts/s"


def classify_lines(
    lines: Iterable[bytes],
    sink: IO[bytes],
    classifier: PostClassifier,
    report: Reporter,
    *,
    batch_size: int = BATCH,
) -> int:
    """Classify each good JSON line and write one result line for it; returns how many."""
    versions = classifier.versions
    good = read = 0
    batch: list[_Post] = []
    for number, raw in enumerate(lines, start=1):
        read += len(raw)
        if not raw.strip():
            continue
        post = parse_line(raw)
        if isinstance(post, str):
            report.bad_line(number, post)
            continue
        batch.append(post)
        if len(batch) >= batch_size:
            good += _write(batch, sink, classifier, versions)
            batch = []
            report.tick(good, read)
    if batch:
        good += _write(batch, sink, classifier, versions)
    return good


def parse_line(raw: bytes) -> _Post | str:
    """The post on one input line, or what is wrong with it as `problem (fix)`."""
    try:
        row = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text (save the file as UTF-8)"
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} at column {exc.colno} (write one JSON object per line)"
    if not isinstance(row, dict):
        return 'not a JSON object (write {"id": …, "text": …} on each line)'
    post_id = row.get("id")
    if post_id is None or post_id == "":
        return "id: missing (every line needs the post's id)"
    if isinstance(post_id, bool) or not isinstance(post_id, str | int):
        return f"id: expected a string or a number, got {type(post_id).__name__} (quote the id)"
    text = row.get("text")
    if text is None:
        return 'text: missing (add the post\'s text; "" for a post without text)'
    if not isinstance(text, str):
        return f"text: expected a string, got {type(text).__name__} (quote the text)"
    hint = row.get("lang")
    if hint is not None and (not isinstance(hint, str) or not _LANG_RE.match(hint)):
        return f"lang: {hint!r} is not a language code (use ISO 639-1 such as ru or kk, or leave it out)"
    published = row.get("published_at")
    when = None
    if published is not None:
        try:
            when = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
        except ValueError:
            return f"published_at: {published!r} is not a date (write 2025-01-31 or 2025-01-31T12:00:00Z)"
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return _Post(post_id, text, hint, when)


def _write(
    batch: list[_Post], sink: IO[bytes], classifier: PostClassifier, versions: dict[str, str]
) -> int:
    results = classifier.classify_many([post.text for post in batch])
    out = "".join(
        json.dumps(
            result_row(post.id, result, versions, post.hint,
                       model_topics=classifier.model_topics(result),
                       lexicon_flags=classifier.lexicon_flags, published_at=post.published_at,
                       designated=classifier.designations.lists),
            ensure_ascii=False,
        ) + "\n"
        for post, result in zip(batch, results, strict=True)
    )  # fmt: skip
    sink.write(out.encode("utf-8"))
    sink.flush()
    return len(batch)


def result_row(
    post_id: Any,
    result: Any,
    versions: dict[str, str],
    hint: str | None = None,
    *,
    model_topics: tuple[str, ...] = (),
    lexicon_flags: bool = True,
    published_at: datetime | None = None,
    designated: Designated | None = None,
) -> dict[str, Any]:
    """The output line of one post (result: a classifiers.Classification), as a crawl stores it."""
    from storage.records import split_designated

    language, source = result.language, "model"
    if hint and (language == "und" or result.language_probability < HINT_BELOW):
        language, source = hint, "hint"
    # The rule a crawl stores by: a name on no chosen list that day is a signal, not a topic.
    found, uncounted = split_designated(
        result.matches, published_at or datetime.now(UTC), designated
    )
    counted = [m for m, _ in found]
    signals = {s.name for s in result.signals}
    if uncounted:
        signals.add("national_only_org")
    return {
        "id": post_id,
        "language": language,
        "language_probability": round(result.language_probability, 4),
        "language_from": source,
        "script": result.script,
        "languages": {code: round(share, 4) for code, share in result.languages},
        "flagged": (lexicon_flags and bool(counted)) or bool(model_topics),
        "topics": sorted({m.topic for m in counted} | set(model_topics)),
        "matches": [
            {"topic": m.topic, "term": m.term, "span": [m.start, m.end], "layer": m.layer}
            for m in result.matches
        ],
        "signals": sorted(signals),
        "scores": {topic: round(score, 4) for topic, score in result.scores},
        "classifier": versions,
    }


def _open_input(path: Path | None) -> IO[bytes]:
    if path is None:
        return sys.stdin.buffer
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(
            f"{path}: file not found (give a JSON-lines file, or leave out --input to read stdin)"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None


def _load(path: Path) -> ProjectConfig:
    from crawler.config import load_config

    return load_config(path)


def _classifier(config: ProjectConfig | None) -> PostClassifier:
    """The project's classifier, or the shipped lexicons with the default languages."""
    from classifiers import LexiconError, PostClassifier

    if config is not None:
        from crawler.classification import check_topic_model

        check_topic_model(config)  # a missing or foreign model folder is a ConfigError
    try:
        if config is None:
            return PostClassifier()
        return PostClassifier(
            lexicon_paths=config.lexicon_paths() or None,
            languages=config.classifier.languages,
            engine=config.classifier.engine,
            topics=config.classifier.topics,
            model=config.classifier.model_dir(config.path.parent),
            designations=config.classifier.designations,
        )
    except LexiconError as exc:
        raise ConfigError(str(exc).splitlines()) from None


def _reclassify(
    path: Path, source: str | None, since: datetime | None, until: datetime | None, fmt: Format
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from storage.engine import open_database
    from storage.reclassify import describe, reclassify
    from storage.retention import erase_unkept_text

    cfg = _load(path)
    classifier = _classifier(cfg)
    engine = open_database(cfg.database_url)
    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("re-classifying stored posts", total=None)
            result = reclassify(
                engine, classifier, project=cfg.project, config_hash=cfg.config_hash,
                since=since, until=until, source=source,
                # Posts are selected by id lists; SQLite allows 32,766 parameters per statement.
                batch_size=min(cfg.storage.batch_size, 5000),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )  # fmt: skip
        # Posts that are no longer flagged lose their text as privacy.keep_text says (review
        # items keep theirs until settled); re-tagging them again needs keep_text: all.
        erased = erase_unkept_text(engine, cfg.privacy.keep_text)
    finally:
        engine.dispose()
    if not result.run_id:
        raise InputError(
            f"{cfg.database_url}: no stored posts match (source {source or 'any'}, since "
            f"{since or 'the start'}, until {until or 'now'}); check --source, --since and --until"
        )
    render(_comparison(result.before, result.after), ["kind", "label", "before", "after"], fmt,
           title=f"{cfg.project}: {result.checked:,} posts classified again")  # fmt: skip
    err.print(describe(result, since=since, until=until, source=source), highlight=False)
    if erased:
        err.print(
            f"erased the text of {erased:,} posts that privacy.keep_text "
            f"({cfg.privacy.keep_text}) no longer allows",
            highlight=False,
        )
    err.print(
        f"recorded as run {result.run_id} with classifiers "
        + ", ".join(f"{k}={v}" for k, v in classifier.versions.items()),
        highlight=False,
    )


def _comparison(before: Any, after: Any) -> list[dict[str, Any]]:
    order = {"flagged": 0, "topic": 1, "language": 2}
    keys = sorted(set(before) | set(after), key=lambda k: (order.get(k[0], 3), k[1]))
    return [
        {
            "kind": kind,
            "label": label,
            "before": before[(kind, label)],
            "after": after[(kind, label)],
        }
        for kind, label in keys
    ]
