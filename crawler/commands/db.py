"""`vemeter db`: create or migrate the database, erase old text, start a new pseudonym key period."""

from __future__ import annotations

import typer
from rich.console import Console

from crawler.commands.options import ConfigArg
from crawler.config import load_config

db_app = typer.Typer(
    help="Manage the database: schema, text retention, pseudonym key.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(config: ConfigArg) -> None:
    """Create or migrate the database of CONFIG to the current schema (safe to run while other vemeter processes start)."""
    from storage.engine import make_engine, upgrade

    cfg = load_config(config)
    engine = make_engine(cfg.database_url)
    before, after = upgrade(engine)
    engine.dispose()
    err.print(
        f"database {engine.url.render_as_string(hide_password=True)}: schema {before or 'empty'} → {after}",
        highlight=False,
    )


@db_app.command("prune")
def db_prune(config: ConfigArg) -> None:
    """Erase post text older than privacy.text_retention_days, or that privacy.keep_text does not keep."""
    from storage.engine import open_database
    from storage.retention import erase_old_text, erase_unkept_text

    cfg = load_config(config)
    engine = open_database(cfg.database_url)
    erased = erase_old_text(engine, cfg.privacy.text_retention_days)
    unkept = erase_unkept_text(engine, cfg.privacy.keep_text)
    engine.dispose()
    err.print(
        f"erased the text of {erased:,} posts older than {cfg.privacy.text_retention_days} days "
        f"and of {unkept:,} posts privacy.keep_text ({cfg.privacy.keep_text}) does not keep",
        highlight=False,
    )


@db_app.command("rekey")
def db_rekey(config: ConfigArg) -> None:
    """Start a new pseudonym key period with the key now in the environment (when the old key is lost or retired). Example: VEMETER_PSEUDONYM_KEY=<new key> vemeter db rekey configs/example.yaml"""
    from crawler.pseudonym import Pseudonymiser
    from storage.engine import open_database
    from storage.keys import rekey

    cfg = load_config(config)
    env = cfg.privacy.pseudonym_key_env
    pseudonymiser = Pseudonymiser.from_env(env)
    engine = open_database(cfg.database_url)
    try:
        previous, new = rekey(engine, pseudonymiser.fingerprint())
    finally:
        engine.dispose()
    if previous is None:
        err.print(
            f"recorded the key in {env} as the database's pseudonym key (key period 1, "
            f"fingerprint {new.fingerprint[:8]}…)",
            highlight=False,
        )
        return
    err.print(
        f"key period {new.period} starts now with the key in {env} (fingerprint "
        f"{new.fingerprint[:8]}…): runs after run {new.after_run} use it; authors of key period "
        f"{previous.period} and earlier get new pseudonyms and do not link to theirs. Keep the "
        f"new key in {env} from now on.",
        highlight=False,
    )
