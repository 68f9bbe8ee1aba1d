"""The end-of-run summary: totals, a table of every target (posts new / seen / flagged, status,
reason), the problems several targets share said once, and the same as JSON (`crawl --json`)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawler.runner import CrawlSummary

STYLE = {"ok": "green", "inaccessible": "yellow"}


def print_summary(summary: CrawlSummary, console: Console) -> None:
    """Totals, then one row per target; a reason shared by several targets is a numbered note
    under the table (a rejected token is said once, with the targets it hit)."""
    ok = sum(1 for t in summary.targets if t.status == "ok")
    console.print(
        f"[bold]Crawl finished[/bold]: {summary.new:,} new posts, {summary.seen:,} already stored, "
        f"{summary.flagged:,} flagged; {ok} of {len(summary.targets)} targets ok.",
        highlight=False,
    )
    groups = summary.groups()
    shared = {(t.source, t.target): g for g in groups if len(g.targets) > 1 for t in g.targets}
    if summary.targets:
        table = Table(header_style="bold")
        for col in ("platform", "source", "target"):
            table.add_column(col, overflow="fold")
        for col in ("new", "seen", "flagged"):
            table.add_column(col, justify="right")
        table.add_column("status", no_wrap=True)
        table.add_column("reason", overflow="fold")
        for t in summary.targets:
            style = STYLE.get(t.status, "red")
            group = shared.get((t.source, t.target))
            reason = f"[{group.number}] below" if group else escape(t.reason or "")
            table.add_row(
                escape(t.platform), escape(t.source), escape(t.target),
                f"{t.posts_new:,}", f"{t.posts_seen:,}", f"{summary.flagged_of(t):,}",
                f"[{style}]{t.status}[/{style}]", reason,
            )  # fmt: skip
        # Piped or redirected: rows whole, one line each (a terminal folds them to its width).
        if console.is_terminal:
            console.print(table)
        else:
            width, console.width = console.width, 1000
            try:
                console.print(table)
            finally:
                console.width = width
    for g in groups:
        if len(g.targets) > 1:
            names = ", ".join(f"{t.source}/{t.target}" for t in g.targets)
            console.print(
                f"[{g.number}] {g.status} on {len(g.targets)} targets ({escape(names)}): "
                f"{escape(g.reason)}",
                highlight=False,
            )
    if summary.text_filled:
        console.print(
            f"Text filled for {summary.text_filled:,} stored posts (as privacy.keep_text now allows).",
            highlight=False,
        )
    console.print(f"Database: {summary.database_shown}", highlight=False)


def write_json(summary: CrawlSummary, path: Path, console: Console) -> None:
    """The summary as one JSON object, to `path` ("-": stdout)."""
    text = json.dumps(summary.as_json(), ensure_ascii=False, indent=2) + "\n"
    if str(path) == "-":
        console.file.write(text)
        console.file.flush()
        return
    path.write_text(text, encoding="utf-8")
