"""The audit trail: what the app records, the append-only table, and the hash chain that shows
a row changed by hand (`vemeter review audit CONFIG --verify`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from review.auth import Role, User, add_user
from storage import audit
from storage.engine import open_database
from tests.cli import vemeter
from tests.review.conftest import PASSWORD, ReviewClient, make_sample

Client = Callable[[str | None], ReviewClient]


def _unlock(engine: Engine) -> None:
    """What someone with database access could do: take the append-only triggers away."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER review_audit_append_only ON review_audit"))
        else:
            conn.execute(text("DROP TRIGGER review_audit_no_update"))
            conn.execute(text("DROP TRIGGER review_audit_no_delete"))


def test_the_app_records_logins_views_reveals_labels_adjudications_and_exports(
    engine: Engine, client_for: Client, users: dict[str, User]
) -> None:
    sample = make_sample(engine, ["synthetic post"], double=frozenset({0}))
    item = sample.items[0]
    for name, value in (("ann", "yes"), ("bob", "no")):
        client = client_for(name)
        assert client.post("/next", data={"csrf": client.csrf}).status_code == 303
        assert client.get(f"/item/{item}").status_code == 200
        revealed = client.post(f"/item/{item}/reveal", data={"csrf": client.csrf})
        assert revealed.status_code == 204
        client.post(f"/item/{item}/label", data={"csrf": client.csrf, "label": value})
    lea = client_for("lea")
    lea.get(f"/lead/adjudicate/{item}")
    lea.post(f"/lead/adjudicate/{item}", data={"csrf": lea.csrf, "decide.*": "no"})
    lea.post(f"/lead/adjudicate/{item}", data={"csrf": lea.csrf, "decide.*": "yes"})
    lea.post("/lead/export", data={"csrf": lea.csrf})
    client_for(None).post("/login", data={"csrf": "x"})  # refused before any check: no row
    rows = audit.read(engine)
    seen = [(r.user_name, r.action) for r in rows]
    for who in ("ann", "bob"):
        assert [a for u, a in seen if u == who] == ["login", "view", "reveal", "label"]
    assert [a for u, a in seen if u == "lea"] == [
        "login", "view", "adjudication", "adjudication", "export",
    ]  # fmt: skip
    labels = [json.loads(r.detail) for r in rows if r.action == "label"]
    assert labels[0] == {"old": None, "new": {"*": "yes"}, "note": False}
    decisions = [json.loads(r.detail) for r in rows if r.action == "adjudication"]
    assert decisions == [
        {"topic": "*", "old": None, "new": "no"}, {"topic": "*", "old": "no", "new": "yes"},
    ]  # fmt: skip
    assert all(r.item_id == item for r in rows if r.action in ("view", "label", "reveal"))
    assert [r.id for r in rows] == list(range(1, len(rows) + 1))
    checked = audit.verify(engine)
    assert checked.ok and checked.rows == len(rows) and checked.head == rows[-1].hash


def test_a_failed_sign_in_is_recorded(client_for: Client, engine: Engine) -> None:
    anonymous = client_for(None)
    page = anonymous.get("/login").text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    anonymous.post("/login", data={"csrf": token, "name": "ann", "password": "wrong password"})
    (row,) = audit.read(engine)
    assert row.action == "login_failed" and row.user_name is None
    assert json.loads(row.detail)["name"] == "ann"


def test_the_table_refuses_update_and_delete(engine: Engine) -> None:
    audit.record(engine, "login", user="ann")
    for statement in ("UPDATE review_audit SET detail = '{}'", "DELETE FROM review_audit"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert audit.verify(engine).ok


def test_verify_names_a_row_changed_by_hand(engine: Engine) -> None:
    for n in range(5):
        audit.record(engine, "view", user="ann", item_id=n, detail={"page": "item"})
    assert audit.verify(engine).ok
    _unlock(engine)
    with engine.begin() as conn:
        conn.execute(text('UPDATE review_audit SET detail = \'{"page": "x"}\' WHERE id = 3'))
    checked = audit.verify(engine)
    assert not checked.ok
    assert [row for row, _ in checked.problems] == [3]
    assert "do not match its hash" in checked.problems[0][1]


def test_verify_shows_a_row_removed_or_rehashed(engine: Engine) -> None:
    for n in range(4):
        audit.record(engine, "view", user="ann", item_id=n)
    _unlock(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM review_audit WHERE id = 2"))
    assert [row for row, _ in audit.verify(engine).problems] == [3, 3]  # gap and broken link
    # Recomputing a changed row's own hash does not help: the next row's link breaks.
    (second,) = [r for r in audit.read(engine) if r.id == 3]
    forged = audit.row_hash(3, second.at, "bob", second.action, second.item_id, second.detail,
                            second.prev_hash)  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE review_audit SET user_name = 'bob', hash = :h WHERE id = 3"), {"h": forged}
        )
    problems = audit.verify(engine).problems
    assert 4 in [row for row, _ in problems]


def test_concurrent_appends_keep_one_chain(engine: Engine) -> None:
    start = threading.Barrier(6)

    def write(n: int) -> None:
        start.wait()
        for i in range(5):
            audit.record(engine, "view", user=f"u{n}", item_id=i)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checked = audit.verify(engine)
    assert checked.ok and checked.rows == 30


def test_review_audit_command_prints_and_verify_fails_on_a_changed_row(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("project: p\nstorage: {url: 'sqlite:///p.db'}\n", encoding="utf-8")
    engine = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    add_user(engine, "ann", Role.reviewer, PASSWORD)
    audit.record(engine, "login", user="ann", detail={"address": "127.0.0.1"})
    audit.record(engine, "view", user="ann", item_id=7, detail={"page": "item"})
    audit.record(engine, "export", user="lea", detail={"rows": 2})

    shown = vemeter("review", "audit", str(config), "--format", "csv", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.strip().splitlines()
    assert lines[0].startswith("id,at,user,action,item,detail,hash")
    assert len(lines) == 4 and "export" in lines[3]
    ok = vemeter("review", "audit", str(config), "--verify", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "intact: 3 rows" in ok.stderr

    _unlock(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE review_audit SET detail = '{\"rows\": 0}' WHERE id = 3"))
    engine.dispose()
    bad = vemeter("review", "audit", str(config), "--verify", cwd=tmp_path)
    assert bad.returncode != 0
    assert "row 3:" in bad.stderr and "NOT intact" in bad.stderr
    assert "row 1:" not in bad.stderr and "row 2:" not in bad.stderr
