"""The crawl summary: every target in the table, a shared reason said once; sample text advice."""

from __future__ import annotations

import io

from rich.console import Console

from crawler.commands.summary import print_summary
from crawler.runner import CrawlSummary
from storage.models import RunTarget
from storage.review_sampling import text_advice

REJECTED = "wall.get: VK error 5 — the token in VK_TOKEN was rejected; get a valid service token and run again"


def target(name: str, status: str = "ok", reason: str | None = None, new: int = 0) -> RunTarget:
    return RunTarget(
        platform="vk", source="vk-src", target=name, status=status, reason=reason,
        posts_new=new, posts_seen=1,
    )  # fmt: skip


def test_a_rejected_token_is_said_once_with_the_targets_it_hit() -> None:
    summary = CrawlSummary(
        database="postgresql+psycopg://u:secret@db/x",
        targets=[
            target("club1", new=5),
            target("club2", "error", REJECTED),
            target("club3", "error", REJECTED),
            target("club4", "inaccessible", "closed community"),
        ],
        flagged_by_target={("vk-src", "club1"): 2},
    )
    buffer = io.StringIO()
    print_summary(summary, Console(file=buffer, width=100, soft_wrap=True))
    out = buffer.getvalue()
    assert out.count("VK error 5") == 1
    assert "[1] error on 2 targets (vk-src/club2, vk-src/club3): wall.get: VK error 5" in out
    assert "closed community" in out and "club1" in out  # ok targets are listed too
    assert "secret" not in out and "Database: postgresql+psycopg://u:***@db/x" in out
    data = summary.as_json()
    assert [t["posts_flagged"] for t in data["targets"]] == [2, 0, 0, 0]
    assert [t["problem"] for t in data["targets"]] == [None, 1, 1, 2]
    assert [len(p["targets"]) for p in data["problems"]] == [2, 1]


def test_sample_text_advice_names_the_fix_for_the_keep_text_in_force() -> None:
    assert text_advice(0, 10, "flagged") is None
    flagged = text_advice(87, 100, "flagged")
    assert flagged is not None and flagged.startswith("87 of 100 sampled posts have no stored text")
    assert (
        "set privacy.keep_text: all (now 'flagged'" in flagged and "crawl CONFIG --full" in flagged
    )
    already = text_advice(3, 0, "all")
    assert already is not None and "already 'all'" in already
    assert "set privacy.keep_text: all" not in already and "crawl CONFIG --full" in already
