"""Source health: a target's latest crawl against its baseline (likely break, quiet, token
refused), problems opened once and closed, a refused token switching its source off until the
credentials change, and what `vemeter status` shows of it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crawler.config import HealthSettings, ProjectConfig, load_config
from crawler.health import (
    LIKELY_BREAK,
    NEW,
    NO_ANSWER,
    NOTHING_MATCHED,
    OK,
    QUIET,
    assess,
    reenable_if_fixed,
    review_run,
)
from crawler.targets import TOKEN_REJECTED
from storage.engine import open_database
from storage.health import TargetRun, disabled_sources, open_problems
from storage.runs import TargetOutcome, finish_run, record_targets, start_run
from storage.scheduling import get_state, put_state, set_disabled
from tests.cli import vemeter

T0 = datetime(2026, 3, 2, 10, 0, 0)
SETTINGS = HealthSettings(min_share=0.2, history=10, min_runs=3)


def run(
    i: int, new: int, shown: int, pages: int = 1, status: str = "ok", **kw: object
) -> TargetRun:
    return TargetRun(
        run_id=i, started_at=T0 + timedelta(hours=i), status=status,
        reason=kw.get("reason"), posts_new=new, observed=shown, pages=pages,  # type: ignore[arg-type]
        signal=kw.get("signal"),  # type: ignore[arg-type]
    )  # fmt: skip


GOOD = [run(1, 40, 100), run(2, 30, 100), run(3, 50, 100), run(4, 35, 100)]


def test_a_target_that_answers_with_nothing_is_a_likely_break_not_a_quiet_source() -> None:
    h = assess("s", "club1", [*GOOD, run(5, 0, 0, pages=1)], SETTINGS)
    assert (h.health, h.kind) == (LIKELY_BREAK, NOTHING_MATCHED)
    assert h.baseline_shown == 100 and h.baseline_new == 37.5 and h.baseline_runs == 4
    assert "the page answered (1 read) but nothing matched: 0 posts shown" in (h.detail or "")
    quiet = assess("s", "club1", [*GOOD, run(5, 0, 100)], SETTINGS)
    assert (quiet.health, quiet.kind) == (QUIET, None)
    assert "the source was quiet: its pages showed 100 posts as usual, 0 new" in (
        quiet.detail or ""
    )
    unread = assess("s", "club1", [*GOOD, run(5, 0, 0, pages=0)], SETTINGS)
    assert (unread.health, unread.kind) == (LIKELY_BREAK, NO_ANSWER)


def test_less_than_the_share_of_the_median_is_a_break_and_above_it_is_fine() -> None:
    assert assess("s", "t", [*GOOD, run(5, 3, 15)], SETTINGS).health == LIKELY_BREAK
    assert assess("s", "t", [*GOOD, run(5, 10, 25)], SETTINGS).health == OK
    # a higher share makes 25 of a median of 100 a break too
    strict = HealthSettings(min_share=0.3, history=10, min_runs=3)
    assert assess("s", "t", [*GOOD, run(5, 10, 25)], strict).health == LIKELY_BREAK


def test_the_baseline_is_the_median_of_the_last_good_runs_only() -> None:
    failed = run(5, 0, 0, status="error", reason="HTTP 500")
    history = [*GOOD, failed, run(6, 40, 100)]
    h = assess("s", "t", history, HealthSettings(min_share=0.2, history=3, min_runs=3))
    assert h.health == OK and h.baseline_runs == 3 and h.baseline_new == 35  # runs 2, 3, 4
    assert assess("s", "t", history[:5], SETTINGS).health == "error"  # its own status shows


def test_a_zero_after_posts_is_a_break_before_any_baseline_and_a_new_target_waits() -> None:
    young = [run(1, 20, 20), run(2, 0, 0)]
    assert assess("s", "t", young, SETTINGS).health == LIKELY_BREAK
    assert assess("s", "t", young[:1], SETTINGS).health == NEW
    # the storage pipeline marks such a run an error "likely break: …": judged by its counts
    marked = run(2, 0, 0, status="error", reason="likely break: the previous run saw 20 posts")
    assert assess("s", "t", [young[0], marked], SETTINGS).kind == NOTHING_MATCHED
    empty = [run(1, 0, 0), run(2, 0, 0), run(3, 0, 0), run(4, 0, 0)]
    assert assess("s", "t", empty, SETTINGS).health == OK  # always empty: nothing broke


def test_a_refused_token_is_its_own_finding() -> None:
    h = assess("s", "t", [*GOOD, run(5, 0, 0, 0, status="error", signal=TOKEN_REJECTED)], SETTINGS)
    assert h.health == TOKEN_REJECTED and h.problem


# --- with a database -------------------------------------------------------------------------


def project(tmp_path: Path, extra: str = "") -> ProjectConfig:
    path = tmp_path / "p.yaml"
    path.write_text(
        "project: p\nstorage: {url: 'sqlite:///p.db'}\n"
        "health: {min_share: 0.2, history: 10, min_runs: 3}\n" + extra + "sources:\n"
        "  - {name: a, platform: vk, token_env: HEALTH_TEST_TOKEN, targets: [-1, -2],"
        " schedule: '* * * * *'}\n",
        encoding="utf-8",
    )
    return load_config(path)


def crawl(engine: Engine, per_target: dict[str, tuple[int, int, int]], **kw: str) -> int:
    """A finished crawl run of source `a` with (new, shown, pages) per target."""
    run_id = start_run(engine, project="p", config_hash="x", version="t", classifiers={},
                       heartbeat=False)  # fmt: skip
    record_targets(engine, run_id, [
        TargetOutcome("vk", "a", target, kw.get("status", "ok"), kw.get("reason"), new, 0,
                      True, None, None, observed=shown, pages=pages, signal=kw.get("signal"))
        for target, (new, shown, pages) in per_target.items()
    ])  # fmt: skip
    finish_run(engine, run_id, status="ok", new=0, seen=0, flagged=0, requests=1)
    return run_id


def test_a_break_is_one_finding_while_it_lasts_and_closes_when_posts_come_back(
    tmp_path: Path, engine: Engine
) -> None:
    cfg = project(tmp_path)  # its database is not used: `engine` (SQLite, and PostgreSQL in CI)
    findings = []
    for _ in range(3):
        findings += review_run(
            engine, cfg, crawl(engine, {"-1": (10, 100, 1), "-2": (5, 50, 1)}), T0
        )
    assert findings == []
    for _ in range(3):  # -1 answers empty pages three times: one finding
        findings += review_run(engine, cfg, crawl(engine, {"-1": (0, 0, 2), "-2": (5, 50, 1)}), T0)
    (found,) = findings
    assert found.key.startswith("likely-break:") and found.payload["target"] == "-1"
    assert found.payload["kind"] == NOTHING_MATCHED and found.payload["event"] == LIKELY_BREAK
    (problem,) = open_problems(engine).values()
    assert problem.last_run > problem.first_run
    # an HTTP error says nothing about the page: the break stays open, no new finding
    failing = crawl(engine, {"-1": (0, 0, 0)}, status="error", reason="HTTP 500")
    assert review_run(engine, cfg, failing, T0) == []
    assert review_run(engine, cfg, crawl(engine, {"-1": (0, 0, 1)}), T0) == []
    assert [p.id for p in open_problems(engine).values()] == [problem.id]
    review_run(engine, cfg, crawl(engine, {"-1": (10, 100, 1), "-2": (5, 50, 1)}), T0)
    assert open_problems(engine) == {}


def test_a_refused_token_switches_the_source_off_until_the_token_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTH_TEST_TOKEN", "old-token")
    cfg = project(tmp_path)
    engine = open_database(cfg.database_url)
    put_state(engine, "a", "* * * * *", T0, T0)
    refused = crawl(engine, {"-1": (0, 0, 0), "-2": (0, 0, 0)}, status="error",
                    reason="VK error 5 — the token in HEALTH_TEST_TOKEN was rejected",
                    signal=TOKEN_REJECTED)  # fmt: skip
    (found,) = review_run(engine, cfg, refused, T0)
    assert found.payload["event"] == "source-disabled"
    assert "HEALTH_TEST_TOKEN" in found.payload["fix"]
    state = get_state(engine, "a")
    assert state is not None and (state.disabled_reason or "").startswith("token rejected: ")
    assert review_run(engine, cfg, refused, T0) == []  # once
    assert "old-token" not in json.dumps(found.payload)
    # status says why and how to fix it
    out = vemeter("status", str(cfg.path), "--format", "json")
    assert out.returncode == 0, out.stderr
    (source,) = json.loads(out.stdout)["sources"]
    assert (
        "token rejected" in source["problems"][0] and "HEALTH_TEST_TOKEN" in source["problems"][0]
    )
    assert reenable_if_fixed(engine, cfg, "a", T0) is None  # same token: stays off
    monkeypatch.setenv("HEALTH_TEST_TOKEN", "new-token")
    assert reenable_if_fixed(engine, cfg, "a", T0) == "its credentials changed"
    state = get_state(engine, "a")
    assert state is not None and state.disabled_reason is None
    assert disabled_sources(engine) == {}
    engine.dispose()


def test_resume_by_hand_switches_a_disabled_source_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEALTH_TEST_TOKEN", "old-token")
    cfg = project(tmp_path)
    engine = open_database(cfg.database_url)
    put_state(engine, "a", "* * * * *", T0, T0)
    refused = crawl(engine, {"-1": (0, 0, 0)}, status="error", reason="rejected",
                    signal=TOKEN_REJECTED)  # fmt: skip
    review_run(engine, cfg, refused, T0)
    set_disabled(engine, "a", None, T0)  # what `vemeter schedule resume` does
    assert reenable_if_fixed(engine, cfg, "a", T0) == "resumed by hand"
    assert disabled_sources(engine) == {}
    engine.dispose()


def test_status_shows_each_target_against_its_baseline(tmp_path: Path) -> None:
    cfg = project(tmp_path)
    engine = open_database(cfg.database_url)
    for _ in range(3):
        crawl(engine, {"-1": (10, 100, 1), "-2": (5, 50, 1)})
    crawl(engine, {"-1": (0, 0, 1), "-2": (0, 50, 1)})
    engine.dispose()
    out = vemeter("status", str(cfg.path), "--format", "json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert set(body) == {"sources", "targets", "runs", "gaps"}
    by_target = {t["target"]: t for t in body["targets"]}
    assert (by_target["-1"]["health"], by_target["-1"]["kind"]) == (LIKELY_BREAK, NOTHING_MATCHED)
    assert (by_target["-1"]["baseline_shown"], by_target["-1"]["shown"]) == (100, 0)
    assert by_target["-2"]["health"] == QUIET
    assert body["sources"][0]["problems"] == ["likely-break: -1 (nothing-matched)"]
    table = vemeter("status", str(cfg.path), "--view", "targets")
    assert table.returncode == 0, table.stderr
    assert "likely-break (nothing-matched)" in table.stdout
    assert "the source was quiet" in table.stdout
    csv = vemeter("status", str(cfg.path), "--view", "targets", "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("source,target,last_run")
