"""`vemeter demo`: crawl the project's own fake VK API on 127.0.0.1 and show what vemeter counts."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from rich.console import Console

from crawler.commands.output import Format, render
from crawler.commands.summary import print_summary
from crawler.config import load_config
from crawler.runner import run_crawl
from spiders.fakes.vk import FakeVK
from spiders.fakes.vk_data import synthetic_scenario
from storage.engine import open_database
from storage.stats import count_posts

DEMO_TOKEN = "demo-token-for-the-local-fake-api"
DEMO_KEY = "demo-pseudonym-key-not-for-real-projects"

CONFIG = """\
# Written by `vemeter demo`: a project that crawls the local fake VK API at {api_base}.
project: demo
storage:
  url: sqlite:///demo.db
privacy:
  keep_text: flagged
sources:
  - name: vk-demo
    platform: vk
    api_base: {api_base}
    token_env: VK_TOKEN
    since: 2025-09-01
    targets:
{targets}
"""


def run_demo(directory: Path, *, communities: int, posts: int, console: Console) -> None:
    """Start the fake API, crawl it into a fresh SQLite file, print the summary and counts."""
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (directory / f"demo.db{suffix}").unlink(missing_ok=True)
    # Demo-only secrets, so the demo runs on a fresh machine; real projects set their own.
    os.environ["VK_TOKEN"] = DEMO_TOKEN
    os.environ.setdefault("VEMETER_PSEUDONYM_KEY", DEMO_KEY)
    scenario = synthetic_scenario(communities=communities, posts_per_community=posts, seed=0)
    # Targets written the ways people write them: a screen name, club123, -123, a URL.
    forms = ["{name}", "club{id}", "-{id}", "https://vk.com/{name}"]
    targets = "\n".join(
        f"      - {forms[i % len(forms)].format(name=c.screen_name, id=c.id)}"
        for i, c in enumerate(scenario.communities)
    )
    with FakeVK(scenario, token=DEMO_TOKEN) as server:
        path = directory / "demo.yaml"
        path.write_text(CONFIG.format(api_base=server.api_base, targets=targets), encoding="utf-8")
        console.print(
            f"Fake VK API on {server.api_base}: {communities} communities × {posts} posts "
            "(one closed, one deleted, a pinned post, rate-limit errors). Crawling at 3 requests/s…",
            highlight=False,
        )
        cfg = load_config(path)
        summary = run_crawl(cfg, console=console)
    print_summary(summary, console)
    engine = open_database(cfg.database_url)
    render(
        count_posts(engine, ["target"]),
        ["target", "posts", "flagged"],
        Format.table,
        title="Posts per target",
    )
    render(
        count_posts(engine, ["language"]),
        ["language", "posts", "flagged"],
        Format.table,
        title="Posts per language",
    )
    render(
        count_posts(engine, ["topic"]),
        ["topic", "posts", "flagged"],
        Format.table,
        title="Posts per topic",
    )
    engine.dispose()
    # After `make demo` the command lives in .venv/bin, which need not be on PATH.
    command = "vemeter" if shutil.which("vemeter") else os.path.relpath(sys.argv[0])
    console.print(
        f"Config: {path}\nTry:    {command} stats {path} --by language,topic --format csv\n"
        f"        {command} report {path} -o {path.parent / 'report'}",
        highlight=False,
    )
