"""The queue under concurrent claims, and the `vemeter review user add|serve` commands."""

from __future__ import annotations

import threading
from pathlib import Path
from unittest import mock

from sqlalchemy import Engine, func, select

from review.auth import Role, User, add_user, verify_login
from review.queue import claim_next
from storage.engine import open_database
from storage.models import ReviewLease, ReviewUser
from tests.cli import vemeter
from tests.review.conftest import PASSWORD, Clock, make_sample


def test_concurrent_claims_never_put_two_reviewers_on_a_single_item(
    engine: Engine, users: dict[str, User], clock: Clock
) -> None:
    sample = make_sample(engine, [f"synthetic {i}" for i in range(4)], double=frozenset({3}))
    reviewers = [add_user(engine, f"r{i}", Role.reviewer, PASSWORD) for i in range(8)]
    got: dict[str, int | None] = {}
    start = threading.Barrier(len(reviewers))

    def claim(user: User) -> None:
        start.wait()
        got[user.name] = claim_next(engine, user, sample.sample_id, clock())

    threads = [threading.Thread(target=claim, args=(u,)) for u in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [i for i in got.values() if i is not None]
    # Three single items and one double: five slots for eight reviewers.
    assert len(taken) == 5
    assert {i: taken.count(i) for i in set(taken)} == {
        sample.items[0]: 1, sample.items[1]: 1, sample.items[2]: 1, sample.items[3]: 2
    }  # fmt: skip
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReviewLease)).scalar_one() == 5


def test_user_add_prompts_for_the_password_and_hashes_it(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    typed = f"{PASSWORD}\n{PASSWORD}\n"
    done = vemeter("review", "user", "add", str(config), "lea", "--role", "lead",
                   cwd=tmp_path, input=typed)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    user = verify_login(engine, "lea", PASSWORD)
    assert user is not None and user.role is Role.lead
    with engine.connect() as conn:
        stored = conn.execute(select(ReviewUser.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    engine.dispose()
    again = vemeter("review", "user", "add", str(config), "lea", cwd=tmp_path, input=typed)
    assert again.returncode != 0 and "exists already" in again.stderr
    short = vemeter(
        "review", "user", "add", str(config), "bo", cwd=tmp_path, input="short\nshort\n"
    )
    assert short.returncode != 0 and "shorter than" in short.stderr
    role = vemeter("review", "user", "add", str(config), "bo", "--role", "boss",
                   cwd=tmp_path, input=typed)  # fmt: skip
    assert role.returncode != 0 and "not a role" in role.stderr


def test_serve_runs_the_app_on_localhost_by_default(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    with mock.patch("uvicorn.run") as run:
        done = vemeter("review", "serve", str(config), "--port", "8123", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (call,) = run.call_args_list
    assert call.kwargs["host"] == "127.0.0.1" and call.kwargs["port"] == 8123
    app = call.args[0]
    assert app.state.settings.allowed_hosts == ["127.0.0.1", "::1", "localhost"]
