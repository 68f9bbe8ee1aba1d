"""The `vemeter` command: crawl, count, check configs, migrate databases and run the offline demo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from crawler.commands.classify import classify
from crawler.commands.db import db_app
from crawler.commands.forget import forget
from crawler.commands.model import model_app
from crawler.commands.options import ConfigArg, SinceOpt, UntilOpt, parse_date
from crawler.commands.output import Format, render
from crawler.commands.quarantine import quarantine
from crawler.commands.report import report
from crawler.commands.review import review_app
from crawler.commands.run import run
from crawler.commands.schedule import schedule_app
from crawler.commands.stats import stats
from crawler.commands.status import status
from crawler.config import load_config, with_window
from crawler.errors import ConfigError, VemeterError

if TYPE_CHECKING:
    from crawler.importer import ImportResult
    from crawler.writer_processes import Channel

app = typer.Typer(
    help="Measure how much violent-extremist content circulates in public online spaces.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Check project configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(model_app, name="model")
app.add_typer(review_app, name="review")
app.add_typer(schedule_app, name="schedule")

err = Console(stderr=True, soft_wrap=True)  # one problem, one line: never wrapped
out = Console(soft_wrap=True)  # results: the crawl summary

# Shared with the sub-command modules; `_date` keeps its old name for them.
_date = parse_date


@app.command()
def crawl(
    config: ConfigArg,
    source: Annotated[
        str | None, typer.Option(help="Crawl only the source with this name.")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Ignore where earlier runs stopped; page every target again (and fill the text "
            "privacy.keep_text now allows into stored posts that have none).",
        ),
    ] = False,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Also write the summary as JSON to FILE (- for stdout; the table then goes to stderr).",
        ),
    ] = None,
) -> None:
    """Collect public posts for every source of CONFIG; progress on stderr, then a table of every
    target (posts new / seen / flagged, status, reason) on stdout.

    Example: vemeter crawl configs/example.yaml --json crawl-summary.json
    """
    from crawler.commands.summary import print_summary, write_json
    from crawler.runner import run_crawl

    cfg = with_window(load_config(config), _date(since), _date(until))
    summary = run_crawl(cfg, source=source, full=full, console=err)
    to_stdout = json_file is not None and str(json_file) == "-"
    print_summary(summary, err if to_stdout else out)
    if json_file is not None:
        write_json(summary, json_file, out)
    if summary.failed:
        raise typer.Exit(1)


app.command()(stats)
app.command()(classify)
app.command()(report)
app.command()(status)
app.command()(quarantine)
app.command()(run)
app.command()(forget)


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the demo config and database.")
    ] = Path("demo-output"),
    communities: Annotated[int, typer.Option(min=3, max=50)] = 6,
    posts: Annotated[int, typer.Option(min=10, max=5000, help="Posts per community.")] = 450,
) -> None:
    """Crawl a local fake VK API (no network) into a new SQLite file and print the counts."""
    from crawler.commands.demo import run_demo

    run_demo(directory, communities=communities, posts=posts, console=err)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON lines (.jsonl) or CSV (.csv) file of posts.")],
    config: Annotated[Path, typer.Option("--config", help="Project config (YAML).")],
    platform: Annotated[
        str | None, typer.Option(help="Platform of rows that name none, e.g. telegram.")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Source name for rows that name none.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the suffix).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Only validate the file: report bad rows, store nothing."),
    ] = False,
) -> None:
    """Import posts exported by other tools. Example: vemeter import dump.jsonl --config configs/example.yaml"""
    from crawler.writer_processes import IMPORT_WRITERS, close_channels, start_writers

    # The writers start first: their imports and classifier (~1.5 s) overlap this process's.
    channels = [] if check else start_writers(IMPORT_WRITERS)
    try:
        result = _import_with_progress(config, file, platform, source, fmt, check, channels)
    finally:
        close_channels([channel for channel in channels if not channel[1].closed])
    for number, problem in result.bad[:20]:
        err.print(f"{file}:{number}: {problem}", highlight=False, markup=False)
    if result.bad_count > 20:
        lines = ", ".join(str(n) for n, _ in result.bad[20:200])
        more = " …" if result.bad_count > 200 else ""
        err.print(
            f"… and {result.bad_count - 20:,} more bad rows, at lines {lines}{more}",
            highlight=False,
        )
    if check:
        err.print(f"Checked {result.rows:,} rows: {result.bad_count:,} bad.", highlight=False)
        raise typer.Exit(1 if result.bad_count else 0)
    # Exit 0 when the import ran: good rows stored, bad ones quarantined (docs/architecture.md,
    # "Bad input and failures"); 1 when storing failed or no row was usable.
    quarantined = (
        f"{result.bad_count:,} bad rows quarantined (each with its line and reason: "
        f"vemeter quarantine {config} --run {result.run_id})"
        if result.bad_count
        else "no bad rows"
    )
    replay = "Replayed an unsaved file" if result.replayed else "Imported"
    err.print(
        f"[bold]{replay}[/bold] {result.rows:,} rows: {result.new:,} new posts, {result.seen:,} "
        f"already stored, {result.flagged:,} flagged; {quarantined}.",
        highlight=False,
    )
    if result.error:
        raise VemeterError(
            f"storing failed ({result.error}); {result.unsaved:,} rows not stored are in "
            f"{result.unsaved_path or 'an unsaved file beside ' + str(file)}: when the database "
            f"is back, replay them with `vemeter import FILE --config {config}`"
        )
    if result.bad_count and not result.stored:
        err.print("Nothing was imported: every row was bad.", highlight=False)
        raise typer.Exit(1)


def _import_with_progress(
    config: Path,
    file: Path,
    platform: str | None,
    source: str | None,
    fmt: str | None,
    check: bool,
    channels: list[Channel],
) -> ImportResult:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from crawler.importer import FORMATS, import_file

    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is not a format (use jsonl or csv)", param_hint="--format"
        )
    cfg = load_config(config)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(
            f"importing {file.name}", total=file.stat().st_size if file.is_file() else None
        )
        result = import_file(
            cfg,
            file,
            fmt=fmt,
            platform=platform,
            source=source,
            progress=lambda done: bar.update(task, completed=done),
            check=check,
            channels=channels or None,
        )
    return result


@app.command()
def platforms() -> None:
    """List the platforms vemeter can crawl."""
    from crawler.platforms import PLATFORMS

    render(
        [{"platform": p.key, "what": p.title, "access": p.access} for p in PLATFORMS.values()],
        ["platform", "what", "access"],
        Format.table,
    )


@config_app.command("check")
def config_check(config: ConfigArg) -> None:
    """Validate CONFIG and report every problem at once. Example: vemeter config check configs/example.yaml"""
    import os

    cfg = load_config(config)
    table = Table(title=f"{config}: project {cfg.project!r} is valid", header_style="bold")
    for col in ("source", "platform", "targets", "searches", "window"):
        table.add_column(col)
    for s in cfg.sources:
        window = f"{s.since:%Y-%m-%d} … " if s.since else "… "
        window += f"{s.until:%Y-%m-%d}" if s.until else "now"
        table.add_row(s.name, s.platform, str(len(s.targets)), str(len(s.searches)), window)
    Console().print(table)
    envs = {cfg.privacy.pseudonym_key_env} | {e for s in cfg.sources for e in s.secret_envs()}
    for env in sorted(envs):
        if not os.environ.get(env):
            err.print(
                f"Warning: environment variable {env} is not set; `vemeter crawl` will need it",
                highlight=False,
            )


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        from crawler.version import vemeter_version

        typer.echo(f"vemeter {vemeter_version()}")
        raise typer.Exit()


def main() -> None:
    """Entry point: every VemeterError becomes `Error: …` lines and a non-zero exit, in one place.

    Typer's standalone mode already turns usage errors and typer.Exit into exit codes.
    """
    try:
        app()
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"Error: {problem}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except VemeterError as exc:
        err.print(f"Error: {exc}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)
    except BrokenPipeError:  # `vemeter stats … | head`: the reader left; nothing to say
        sys.exit(1)
    except OSError as exc:  # a file or folder that cannot be written or read, e.g. a bad -o
        err.print(f"Error: {_os_problem(exc)}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)


def _os_problem(exc: OSError) -> str:
    """One line for a file system error: the path, what is wrong with it, what to check."""
    path = exc.filename if exc.filename is not None else ""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f"{path}: " if path else ""
    return (
        f"{where}{what[:1].lower()}{what[1:]} (check the path, e.g. the one given with -o/--output)"
    )
