"""The PostgreSQL worker pool under fire: 3 workers, 20 targets, 10 random `kill -9`.

Three `vemeter run` processes on one PostgreSQL schema crawl a fake VK API of 20 communities
sharing one token limited to RATE requests per second (the fake answers error 6 above it).
While the scheduled run's 20 jobs go, a worker that is running a crawl is killed with SIGKILL
at random, ten times, and a replacement worker is started after each kill. Then:

- every post of the fake's truth is stored, exactly once (posts and daily counts);
- every job a killed worker was running was finished by another worker within 60 s;
- the fake's request log never holds more than RATE requests of the token in any one-second
  window, across all workers (the pool's shared rate limit in the database);
- the scheduled run ended ok, and no crawl run is left `running`.

Runs only with VEMETER_TEST_POSTGRES_URL (.ci/run sets it); prints its figures.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from crawler.pool import MAX_ATTEMPTS
from spiders.fakes.vk import FakeVK
from spiders.fakes.vk_data import synthetic_scenario
from tests.conftest import POSTGRES_URL
from tests.ops.pool_harness import (
    TOKEN,
    PoolRunner,
    engine_for,
    pg_schema,
    rows,
    write_project,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not POSTGRES_URL, reason="set VEMETER_TEST_POSTGRES_URL to run the worker-pool tests"
    ),
]

TARGETS = 20
WORKERS = 3
KILLS = 10
RATE = 5
FINISHED_WITHIN = 60.0


def test_pool_survives_ten_kills_with_exact_counts_and_the_shared_limit(tmp_path: Path) -> None:
    assert POSTGRES_URL is not None
    rng = random.Random(12)
    scenario = synthetic_scenario(
        communities=TARGETS, posts_per_community=220, seed=21, closed=0, deleted=0,
        with_errors=False,
    )  # fmt: skip
    truth = sum(len(c.posts) for c in scenario.communities)
    server = FakeVK(scenario, token=TOKEN, rps_limit=RATE).start()
    began = time.monotonic()
    try:
        with pg_schema(POSTGRES_URL) as url:
            config = write_project(
                tmp_path, url, server.api_base, [c.screen_name for c in scenario.communities],
                rps=RATE,
            )  # fmt: skip
            env = {
                "VEMETER_POOL_HEARTBEAT": "1",
                "VEMETER_POOL_STALLED": "5",
                "VEMETER_CACHE_DIR": str(tmp_path / "cache"),
            }
            runner = PoolRunner(
                config, tmp_path, env, ["--tick", "2", "--poll", "0.3", "--max-runs", "1"]
            )
            engine = engine_for(url)
            kills: list[tuple[float, int, list[int]]] = []  # (when, worker pid, its jobs)
            try:
                for _ in range(WORKERS):
                    runner.start()
                deadline = time.monotonic() + 240
                while len(kills) < KILLS and time.monotonic() < deadline:
                    time.sleep(rng.uniform(1.0, 3.0))
                    busy = rows(
                        engine,
                        "SELECT pid, job_id FROM pool_attempts "
                        "WHERE status = 'running' AND child_pid IS NOT NULL",
                    )
                    jobs_of: dict[int, list[int]] = {}
                    for pid, job in busy:
                        jobs_of.setdefault(int(pid), []).append(int(job))
                    # A job killed MAX_ATTEMPTS times fails by design: spare a job its last try.
                    hits: dict[int, int] = {}
                    for _, _, hit_jobs in kills:
                        for job in hit_jobs:
                            hits[job] = hits.get(job, 0) + 1
                    victims = [
                        w
                        for w in runner.live()
                        if w.pid in jobs_of
                        and all(hits.get(j, 0) < MAX_ATTEMPTS - 1 for j in jobs_of[w.pid])
                    ]
                    if not victims:
                        if rows(engine, "SELECT status FROM scheduled_runs") == [("ok",)]:
                            break  # all done before ten kills: the assertion below says so
                        continue
                    victim = rng.choice(victims)
                    runner.kill(victim)
                    kills.append((time.time(), victim.pid, jobs_of[victim.pid]))
                    runner.start()
                # Then a clean stop: SIGTERM to a worker that is running a crawl. It stops the
                # crawl, puts the job back in the queue and exits 0; another worker finishes it.
                stopped: tuple[int, int | None, list[int]] | None = None
                stop_codes: list[int | None] = []
                while stopped is None and time.monotonic() < deadline:
                    busy = rows(
                        engine,
                        "SELECT pid, job_id FROM pool_attempts "
                        "WHERE status = 'running' AND child_pid IS NOT NULL",
                    )
                    live = {w.pid: w for w in runner.live()}
                    mine = [(int(p), int(j)) for p, j in busy if int(p) in live]
                    if mine:
                        pid = mine[0][0]
                        worker = live[pid]
                        worker.process.send_signal(signal.SIGTERM)
                        code = worker.process.wait(timeout=90)
                        stop_codes.append(code)
                        its_jobs = [j for p, j in mine if p == pid]
                        runner.start()
                        # A crawl that ended on its own while the signal was on its way is not a
                        # stop: it finished ok. Try the next running one.
                        ended_as = rows(
                            engine,
                            "SELECT status FROM pool_attempts WHERE pid = :pid",
                            pid=pid,
                        )
                        if any(st == "requeued" for (st,) in ended_as):
                            stopped = (pid, code, its_jobs)
                    else:
                        time.sleep(0.5)
                ended = runner.wait_all(timeout=max(120.0, deadline - time.monotonic()))
            finally:
                runner.stop_all()
            logs = "\n".join(f"--- worker {w.pid}\n{w.output()[-3000:]}" for w in runner.workers)
            assert ended, f"the pool did not finish its run in time\n{logs}"

            posts, distinct = rows(engine, "SELECT count(*), count(DISTINCT post_id) FROM posts")[0]
            ((daily,),) = rows(
                engine, "SELECT coalesce(sum(posts), 0) FROM daily_counts WHERE topic = '*'"
            )
            runs = rows(engine, "SELECT status FROM scheduled_runs")
            left_running = rows(engine, "SELECT id FROM crawl_runs WHERE status = 'running'")
            jobs = rows(
                engine,
                "SELECT id, status::text, attempts FROM procrastinate_jobs ORDER BY id",
            )
            # When each job was finished, and by which worker process.
            finished: dict[int, tuple[float, int]] = {}
            for job_id, pid, at in rows(
                engine,
                "SELECT job_id, pid, finished_at FROM pool_attempts WHERE status IN ('ok', 'partial')",
            ):
                finished[int(job_id)] = (at.timestamp(), int(pid))
            stalled = rows(engine, "SELECT count(*) FROM pool_attempts WHERE status = 'stalled'")
            failures = rows(
                engine, "SELECT job_id, message FROM pool_attempts WHERE status = 'failed'"
            ) + rows(
                engine,
                "SELECT id, status, message FROM crawl_runs WHERE status = 'failed'",
            )
            history = rows(
                engine,
                "SELECT job_id, pid, status, started_at, finished_at FROM pool_attempts ORDER BY id",
            )
            events = rows(
                engine,
                "SELECT job_id, type::text, at FROM procrastinate_events ORDER BY id",
            )
            worst = server.max_requests_in_window(TOKEN, window=1.0)
            engine.dispose()

        # A job may be killed more than once (its retry landed on the next victim): it must be
        # finished by another worker, within 60 s of the last kill that hit it.
        last_kill: dict[int, tuple[float, int]] = {}
        for when, pid, killed_jobs in kills:
            for job in killed_jobs:
                last_kill[job] = (when, pid)
        late: list[str] = []
        recovery: list[float] = []
        for job, (when, pid) in sorted(last_kill.items()):
            done = finished.get(job)
            if done is None or done[1] == pid or not 0 < done[0] - when <= FINISHED_WITHIN:
                late.append(f"job {job} killed with worker {pid} at {when:.1f}: finished {done}")
            else:
                recovery.append(done[0] - when)
        figures = (
            f"worker pool: {WORKERS} workers, {len(jobs)} jobs over {TARGETS} targets, "
            f"{len(kills)} kills (kill -9) hitting {len(last_kill)} jobs, "
            f"{stalled[0][0]} stalled attempts retried; "
            f"posts {posts} of {truth} (distinct {distinct}, daily counts {daily}), "
            f"duplicates {posts - distinct}; killed jobs finished elsewhere after "
            f"{min(recovery, default=0):.1f}-{max(recovery, default=0):.1f} s; max requests "
            f"per second of the token {worst} (limit {RATE}); a worker stopped with SIGTERM "
            f"exited {stopped[1] if stopped else '-'} and its job was requeued; "
            f"{time.monotonic() - began:.0f} s in all"
        )
        print("\n" + figures)
        # Written where the browser tests keep their screenshots; .ci/run prints it at the end.
        out = Path(
            os.environ.get(
                "VEMETER_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"
            )
        )
        (out / "ops").mkdir(parents=True, exist_ok=True)
        (out / "ops" / "pool_faults.txt").write_text(figures + "\n", encoding="utf-8")
        assert len(kills) == KILLS, f"only {len(kills)} kills landed\n{logs}"
        assert (posts, distinct, daily) == (truth, truth, truth)
        assert stopped is not None, "no worker was running a crawl to stop"
        stop_pid, stop_code, stop_jobs = stopped
        requeued = [
            (j, st) for j, p, st, _, _ in history if int(p) == stop_pid and int(j) in stop_jobs
        ]
        if late:
            lines = [f"kill at {w:.1f}: worker {p}, jobs {j}" for w, p, j in kills]
            lines += [
                f"attempt: job {j} pid {p} {st} {a.timestamp():.1f}-"
                f"{b.timestamp() if b else float('nan'):.1f}"
                for j, p, st, a, b in history
            ]
            lines += [f"event: job {j} {t} {at.timestamp():.1f}" for j, t, at in events]
            print("\n".join(lines))
        assert not late, late
        assert not failures, failures
        # The stopped worker: exit code 0, its job back in the queue and finished by another.
        assert stop_code == 0 and all(c == 0 for c in stop_codes), (stop_codes, logs)
        assert requeued and all(st == "requeued" for _, st in requeued), requeued
        for job in stop_jobs:
            assert finished[job][1] != stop_pid
        assert runs == [("ok",)], runs
        assert all(status == "succeeded" for _, status, _ in jobs), jobs
        assert len(jobs) == TARGETS
        assert not left_running
        assert worst <= RATE
    finally:
        server.stop()
