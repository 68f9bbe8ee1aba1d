"""`vemeter review`: draw review samples, export them as sheets, import labels, check agreement."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg, parse_by, parse_date
from crawler.commands.output import Format, render
from crawler.config import ProjectConfig, load_config
from storage.sheets import SheetWriter
from storage.topics import ANY_TOPIC

review_app = typer.Typer(
    help="Human review: sample posts, export sheets, import labels, measure agreement.",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True)

SampleOpt = Annotated[
    int | None, typer.Option("--sample", help="Sample id (default: the newest sample).")
]
TopicOpt = Annotated[
    str, typer.Option(help="Topic whose labels to use; * is any violent-extremist content.")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def _open(config: Path, connections: int | None = None) -> tuple[ProjectConfig, Any]:
    from storage.engine import open_database

    cfg = load_config(config)
    return cfg, open_database(cfg.database_url, connections=connections)


# PostgreSQL connections the review server keeps open: one per concurrent request it serves
# (20 reviewers at once in bench/review_load.py) instead of opening and closing them under load.
SERVER_CONNECTIONS = 20


def _audit(engine: Any, action: str, detail: dict[str, Any]) -> None:
    """Record a command that moved labels or texts in the review app's audit trail: no app
    account runs it, so the row names the command line and the system user."""
    import getpass

    from storage import audit

    try:
        who = getpass.getuser()[:64]
    except (OSError, KeyError):  # no user name in this environment (some containers)
        who = "unknown"
    audit.record(
        engine, action, user=None, detail={"via": "command line", "os_user": who, **detail}
    )


def _warn_text(cfg: ProjectConfig, missing: int, sampled: int = 0) -> None:
    """Reviewers of posts without stored text must open the post at its url: say how many and
    the fix that applies (storage.review_sampling.text_advice)."""
    from storage.review_sampling import text_advice

    advice = text_advice(missing, sampled, cfg.privacy.keep_text)
    if advice:
        err.print(f"Warning: {advice}", highlight=False)


@review_app.command("sample")
def sample(
    config: ConfigArg,
    size: Annotated[int, typer.Option("--size", min=1, help="Posts to draw in all.")],
    until: Annotated[
        str,
        typer.Option("--until", help="End of the closed period (UTC, exclusive), e.g. 2025-02-01."),
    ],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Start of the period (UTC); default: the first post."),
    ] = None,
    by: Annotated[
        str,
        typer.Option(help="Cells to sample in, comma-separated: platform,source,target,language."),
    ] = "",
    seed: Annotated[
        int | None, typer.Option(help="Random seed (recorded; default: a random one).")
    ] = None,
    views: Annotated[
        bool, typer.Option("--views", help="A view sample: posts drawn with probability ∝ views.")
    ] = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Draw a stratified random review sample from a closed period. Example: vemeter review sample configs/example.yaml --size 400 --until 2025-02-01 --by platform"""
    from analysis.sampling import CELL_KEYS, SampleRequest, draw

    keys = tuple(parse_by(by, CELL_KEYS, "sample"))
    end = parse_date(until)
    assert end is not None
    cfg, engine = _open(config)
    review = cfg.review
    planning = {k: v for k, v in review.planning.model_dump().items() if v is not None}
    request = SampleRequest(
        size=size, until=end, since=parse_date(since), by=keys,
        kind="views" if views else "prevalence", seed=seed, floor_share=review.floor_share,
        double_share=review.double_share, borderline_score=review.borderline_score,
        planning=planning, project=cfg.project, config_hash=cfg.config_hash,
    )  # fmt: skip
    drawn = draw(engine, request)
    engine.dispose()
    rows = [
        {**s.cell, "stratum": s.stratum, "posts": s.size, "views": s.views,
         "allocated": s.allocated, "drawn": s.drawn}
        for s in drawn.strata
    ]  # fmt: skip
    columns = [*keys, "stratum", "posts", *(["views"] if views else []), "allocated", "drawn"]
    render(rows, columns, fmt, title=f"review sample {drawn.sample_id}")
    err.print(
        f"Drew review sample {drawn.sample_id}: {drawn.items:,} posts (seed {drawn.seed}). "
        f"Next: vemeter review export {config} --sample {drawn.sample_id} --output sheet.csv",
        highlight=False,
    )
    if views and "platform" not in keys:
        err.print(
            "Warning: platforms count views differently; add --by platform before "
            "publishing view-weighted figures",
            highlight=False,
        )
    _warn_text(cfg, drawn.without_text, drawn.items)


@review_app.command("export")
def export(
    config: ConfigArg,
    sample_id: SampleOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    blind: Annotated[
        bool, typer.Option("--blind", help="Leave out flagged, stratum and inclusion_probability.")
    ] = False,
) -> None:
    """Write a sample's items as a sheet to label: item_id, post, text and empty label columns. Example: vemeter review export configs/example.yaml -o sheet.csv"""
    from storage.review import BLIND_HIDDEN, EXPORT_COLUMNS, export_rows, sample_info

    if fmt not in ("csv", "json"):
        raise typer.BadParameter(
            f"{fmt!r} is not a format (use csv or json)", param_hint="--format"
        )
    cfg, engine = _open(config)
    info = sample_info(engine, sample_id)
    rows = export_rows(engine, info.id, blind=blind)
    _audit(engine, "export", {"sample": info.id, "what": "sheet", "rows": len(rows),
                              "with_text": sum(1 for r in rows if r.get("text")), "blind": blind})  # fmt: skip
    engine.dispose()
    columns = [c for c in EXPORT_COLUMNS if not (blind and c in BLIND_HIDDEN)]
    handle = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        if fmt == "json":
            handle.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        else:
            writer = SheetWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if output:
            handle.close()
    err.print(
        f"Exported {len(rows):,} items of review sample {info.id}"
        + (f" to {output}" if output else ""),
        highlight=False,
    )
    _warn_text(cfg, sum(1 for r in rows if not r["text"]))


@review_app.command("import")
def import_labels(
    config: ConfigArg,
    file: Annotated[
        Path, typer.Argument(help="CSV with item_id, reviewer, label [, topic, note].")
    ],
    reviewer: Annotated[
        str | None, typer.Option(help="Reviewer of rows whose reviewer cell is empty.")
    ] = None,
    adjudicate: Annotated[
        bool, typer.Option("--adjudicate", help="These labels are adjudications: they decide.")
    ] = False,
) -> None:
    """Store labels from a filled-in sheet; bad rows are reported by line. Example: vemeter review import configs/example.yaml sheet.csv"""
    from storage.review_labels import read_labels, store_labels

    _, engine = _open(config)
    read = read_labels(engine, file, default_reviewer=reviewer)
    stored = store_labels(engine, read.rows, adjudication=adjudicate)
    _audit(
        engine, "import",
        {"file": file.name, "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
         "stored": stored, "bad": len(read.bad), "adjudication": adjudicate,
         "reviewers": sorted({r.reviewer for r in read.rows})[:50]},
    )  # fmt: skip
    engine.dispose()
    for line, problem in read.bad:
        err.print(f"{file}: line {line}: {problem}", highlight=False, markup=False)
    kind = "adjudications" if adjudicate else "labels"
    err.print(
        f"Stored {stored:,} {kind}; {len(read.bad):,} bad rows skipped, {read.blank:,} rows "
        "without a label left for later.",
        highlight=False,
    )
    if read.bad:
        raise typer.Exit(1)


def _agreement_row(name: str, units: dict[int, list[str]]) -> dict[str, Any]:
    from analysis.agreement import gwet_ac1, krippendorff_alpha_nominal, specific_agreement

    pairs = [
        pair
        for labels in units.values()
        for pair in itertools.combinations(labels, 2)
        if set(pair) <= {"yes", "no"}
    ]
    alpha = krippendorff_alpha_nominal(units) if units else math.nan
    positive, negative = specific_agreement(pairs) if pairs else (math.nan, math.nan)
    raw = sum(a == b for a, b in pairs) / len(pairs) if pairs else math.nan
    ac1 = gwet_ac1(pairs) if pairs else math.nan
    return {
        "stratum": name,
        "items": len(units),
        "pairs": len(pairs),
        "alpha": _rounded(alpha),
        "positive_agreement": _rounded(positive),
        "negative_agreement": _rounded(negative),
        "raw_agreement": _rounded(raw),
        "ac1": _rounded(ac1),
    }


def _rounded(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 4)


@review_app.command("agreement")
def agreement(
    config: ConfigArg,
    sample_id: SampleOpt = None,
    topic: TopicOpt = ANY_TOPIC,
    fmt: FormatOpt = Format.table,
) -> None:
    """Krippendorff's alpha (nominal) with positive and negative agreement on double-labelled items, per stratum. Example: vemeter review agreement configs/example.yaml"""
    from storage.review import agreement_units, sample_info

    _, engine = _open(config)
    info = sample_info(engine, sample_id)
    per_stratum = agreement_units(engine, info.id, topic)
    engine.dispose()
    rows = [_agreement_row(name, units) for name, units in sorted(per_stratum.items())]
    pooled = {item: labels for units in per_stratum.values() for item, labels in units.items()}
    # Pooled over strata without design weights: the per-stratum rows are the ones to report.
    rows.append(_agreement_row("all (unweighted)", pooled))
    columns = [
        "stratum",
        "items",
        "pairs",
        "alpha",
        "positive_agreement",
        "negative_agreement",
        "raw_agreement",
        "ac1",
    ]
    render(rows, columns, fmt, title=f"agreement, review sample {info.id}")
    if not pooled:
        err.print(
            "No item has two reviewers' labels yet (double_label items need a second reviewer)",
            highlight=False,
        )


@review_app.command("status")
def status(
    config: ConfigArg,
    sample_id: SampleOpt = None,
    topic: TopicOpt = ANY_TOPIC,
    fmt: FormatOpt = Format.table,
) -> None:
    """Per design stratum: posts, items drawn, reviewed, positives, unsure, disputed, unlabelled. Example: vemeter review status configs/example.yaml"""
    from storage.review import reviewed_strata, sample_info

    _, engine = _open(config)
    info = sample_info(engine, sample_id)
    strata = reviewed_strata(engine, info.id, topic)
    engine.dispose()
    rows = [{**s.cell, **{k: v for k, v in s.__dict__.items() if k != "cell"}} for s in strata]
    columns = [
        *info.by, "stratum", "size", "views", "sampled", "reviewed", "positives", "unsure",
        "disputed", "unlabelled",
    ]  # fmt: skip
    period = f"{info.since:%Y-%m-%d} … " if info.since else "… "
    render(
        rows,
        columns,
        fmt,
        title=f"review sample {info.id} ({info.kind}, {period}{info.until:%Y-%m-%d})",
    )
    disputed = sum(s.disputed for s in strata)
    if disputed:
        err.print(
            f"{disputed:,} items are disputed: adjudicate them "
            f"(vemeter review import {config} FILE --adjudicate)",
            highlight=False,
        )


@review_app.command("serve")
def serve(
    config: ConfigArg,
    host: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    sample_id: SampleOpt = None,
) -> None:
    """Serve the review app: sign in, take the next item, label it in the browser. Example: vemeter review serve configs/example.yaml --port 8765"""
    import uvicorn

    from review.app import AppSettings, create_app
    from review.wellbeing import Limits

    cfg, engine = _open(config, SERVER_CONNECTIONS)
    hosts = sorted({host, "127.0.0.1", "localhost", "::1"})
    app_cfg = cfg.review.app
    limits = Limits(
        break_minutes=app_cfg.break_minutes, pause_minutes=app_cfg.pause_minutes,
        daily_cap_minutes=app_cfg.daily_cap_minutes, blur=app_cfg.blur,
        timezone=app_cfg.timezone,
    )  # fmt: skip
    app = create_app(
        AppSettings(
            engine=engine, sample_id=sample_id, allowed_hosts=hosts, limits=limits,
            show_reviewer_names=app_cfg.show_reviewer_names,
            adjudicate_own_items=app_cfg.adjudicate_own_items,
        )
    )  # fmt: skip
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            f"Warning: listening on {host}: the app speaks plain HTTP; put it behind a TLS proxy "
            "before anyone signs in from another machine",
            highlight=False,
        )
    err.print(f"Review app on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
    uvicorn.run(app, host=host, port=port, server_header=False, proxy_headers=False)
    engine.dispose()


user_app = typer.Typer(help="Accounts of the review app.", no_args_is_help=True)
review_app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    config: ConfigArg,
    name: Annotated[str, typer.Argument(help="User name; also the reviewer name on labels.")],
    role: Annotated[str, typer.Option("--role", help="reviewer, lead or admin.")] = "reviewer",
) -> None:
    """Create a review app account; the password is asked for (hidden). Example: vemeter review user add configs/example.yaml ann --role reviewer"""
    from review.auth import Role, add_user, check_password_rules

    parsed = Role.parse(role)
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password_rules(password)
    _, engine = _open(config)
    user = add_user(engine, name, parsed, password)
    engine.dispose()
    err.print(f"Added {user.role.name} {user.name!r}", highlight=False, markup=False)


@review_app.command("audit")
def audit_trail(
    config: ConfigArg,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Check the hash chain; exit 1 naming each row that fails."),
    ] = False,
    last: Annotated[
        int | None, typer.Option("--last", min=1, help="Print only the newest N rows.")
    ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Print the review app's audit trail (views, reveals, labels, adjudications, exports, sign-ins), or check its hash chain. Example: vemeter review audit configs/example.yaml --verify"""
    from storage import audit

    _, engine = _open(config)
    if verify:
        checked = audit.verify(engine)
        engine.dispose()
        for row_id, problem in checked.problems:
            err.print(f"row {row_id}: {problem}", highlight=False, markup=False)
        if not checked.ok:
            err.print(
                f"Audit trail NOT intact: {len(checked.problems):,} problems in "
                f"{checked.rows:,} rows",
                highlight=False,
            )
            raise typer.Exit(1)
        err.print(
            f"Audit trail intact: {checked.rows:,} rows, head {checked.head} (note it down: "
            "rows removed from the end leave a shorter chain that still checks)",
            highlight=False,
        )
        return
    rows = audit.read(engine, last=last)
    engine.dispose()
    render(
        [
            {
                "id": r.id,
                "at": r.at.strftime("%Y-%m-%d %H:%M:%S"),
                "user": r.user_name or "",
                "action": r.action,
                "item": r.item_id if r.item_id is not None else "",
                "detail": r.detail,
                "hash": r.hash[:16],
            }
            for r in rows
        ],
        ["id", "at", "user", "action", "item", "detail", "hash"],
        fmt,
        title="review audit trail",
    )
