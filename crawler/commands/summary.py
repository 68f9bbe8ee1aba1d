"""The end-of-run summary: totals, then every target that did not end ok, with its reason."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from crawler.runner import CrawlSummary


def print_summary(summary: CrawlSummary, console: Console) -> None:
    ok = sum(1 for t in summary.targets if t.status == "ok")
    console.print(
        f"[bold]Crawl finished[/bold]: {summary.new:,} new posts, {summary.seen:,} already stored, "
        f"{summary.flagged:,} flagged; {ok} of {len(summary.targets)} targets ok.",
        highlight=False,
    )
    if summary.problems:
        table = Table(title="Targets with problems", header_style="bold")
        for col in ("source", "target", "status", "reason"):
            table.add_column(col, overflow="fold")
        for t in summary.problems:
            style = "yellow" if t.status == "inaccessible" else "red"
            table.add_row(t.source, t.target, f"[{style}]{t.status}[/{style}]", t.reason or "")
        console.print(table)
    console.print(f"Database: {summary.database.removeprefix('sqlite:///')}", highlight=False)
