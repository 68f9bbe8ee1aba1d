"""`vemeter forget`: remove one author's posts (an erasure request), with their tags, review
items and share of the daily counts; the action is recorded by what and how much, never whose."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg
from crawler.config import load_config

err = Console(stderr=True, soft_wrap=True, highlight=False)
PSEUDONYM = re.compile(r"^[0-9a-f]{32}$")


def forget(
    config: ConfigArg,
    author: Annotated[
        str | None,
        typer.Option("--author", help="The author's pseudonym (32 hex digits, as stored)."),
    ] = None,
    author_id: Annotated[
        str | None,
        typer.Option(
            "--author-id",
            help="PLATFORM:ID, the author's platform id, pseudonymised here with the key now "
            "set (authors of earlier key periods need --author).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking.")] = False,
) -> None:
    """Remove every post of one author, with its tags and review items, and take them out of the daily counts; says first what it will remove. Example: vemeter forget configs/example.yaml --author 3f2a…"""
    from crawler.pseudonym import Pseudonymiser
    from storage.engine import open_database, utc_now
    from storage.forget import forget_author

    if (author is None) == (author_id is None):
        raise typer.BadParameter("give one of --author PSEUDONYM or --author-id PLATFORM:ID")
    cfg = load_config(config)
    if author_id is not None:
        platform, _, raw = author_id.partition(":")
        if not platform or not raw:
            raise typer.BadParameter(
                f"{author_id!r} is not PLATFORM:ID (e.g. vk:12345)", param_hint="--author-id"
            )
        found = Pseudonymiser.from_env(cfg.privacy.pseudonym_key_env)(platform, raw)
        assert found is not None  # a non-empty id always has a pseudonym
        author = found
    assert author is not None
    author = author.strip().lower()
    if not PSEUDONYM.match(author):
        raise typer.BadParameter(
            "a pseudonym is 32 hex digits, as in the posts table's author column",
            param_hint="--author",
        )
    engine = open_database(cfg.database_url)
    try:
        plan = forget_author(engine, author, now=utc_now(), dry_run=True)
        if plan.posts == 0:
            err.print("No post of this author is stored: nothing to remove.")
            return
        what = (
            f"{plan.posts} post(s) ({plan.flagged} flagged) from "
            f"{plan.days[0] if plan.days else '?'} to {plan.days[1] if plan.days else '?'}, "
            f"{plan.tags} tag(s), {plan.review_items} review item(s) "
            f"({plan.labelled_items} labelled, {plan.labels} label(s))"
        )
        if not yes:
            if not sys.stdin.isatty():
                raise typer.BadParameter(f"this removes {what}: add --yes to do it")
            typer.confirm(f"Remove {what}?", abort=True, err=True)
        done = forget_author(engine, author, now=utc_now())
    finally:
        engine.dispose()
    err.print(
        f"Removed {done.posts} post(s) ({done.flagged} flagged), {done.tags} tag(s), "
        f"{done.review_items} review item(s) ({done.labelled_items} labelled); "
        f"{done.count_rows} daily count row(s) lowered."
    )
    for sample, n in sorted(done.samples.items()):
        if n["labelled"]:
            err.print(
                f"Review sample {sample}: {n['labelled']} labelled item(s) removed; its "
                "estimates read those strata as that many draws short (see docs/operations.md)."
            )
