"""What the next item and a label cost the database: statements, and on PostgreSQL the round
trips of its transactions, per request of the app as `vemeter review serve` runs it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, select

from review.auth import User
from storage import audit
from storage.models import ReviewItem
from tests.review.conftest import ReviewClient, make_sample

# The most each request may cost (measured when these were cut: GET /item/N had 9 statements
# and 19 round trips on PostgreSQL, POST /item/N/label 19 and 29).
MOST = {
    "sqlite": {"next item": 7, "submit label": 16},
    "postgresql": {"next item": 9, "submit label": 19},
}


@dataclass
class Trips:
    """Statements sent, and on PostgreSQL each BEGIN, COMMIT and ROLLBACK the driver sends."""

    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0

    @property
    def round_trips(self) -> int:
        return len(self.statements) + self.begins + self.commits + self.rollbacks


@contextlib.contextmanager
def counting(engine: Engine) -> Iterator[Trips]:
    trips = Trips()
    postgresql = engine.dialect.name == "postgresql"

    def in_transaction(dbapi: Any) -> bool:
        return int(dbapi.info.transaction_status) != 0  # psycopg's TransactionStatus.IDLE

    def statement(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        trips.statements.append(sql)
        if postgresql and not cursor.connection.autocommit:
            trips.begins += not in_transaction(cursor.connection)  # psycopg sends BEGIN first

    def commit(conn: Any) -> None:
        if postgresql and in_transaction(conn.connection.dbapi_connection):
            trips.commits += 1

    def rollback(conn: Any) -> None:
        if postgresql and in_transaction(conn.connection.dbapi_connection):
            trips.rollbacks += 1

    def reset(dbapi: Any, *_: Any) -> None:  # the pool's rollback of a connection given back
        if postgresql and in_transaction(dbapi):
            trips.rollbacks += 1

    hooks: list[tuple[Any, str, Callable[..., None]]] = [
        (engine, "before_cursor_execute", statement),
        (engine, "commit", commit),
        (engine, "rollback", rollback),
        (engine.pool, "reset", reset),
    ]
    for target, name, fn in hooks:
        event.listen(target, name, fn)
    try:
        yield trips
    finally:
        for target, name, fn in hooks:
            event.remove(target, name, fn)


def test_the_next_item_and_a_label_cost_no_more_statements_than_measured(
    engine: Engine, users: dict[str, User], client_for: Callable[[str | None], ReviewClient]
) -> None:
    make_sample(
        engine, [f"synthetic recruitment post {i}" for i in range(6)], double=frozenset({1, 3})
    )
    ann = client_for("ann")
    where = ann.post("/next", data={"csrf": ann.csrf}).headers["location"]
    # Two rounds: the first warms what a server has warm (its caches, the wellbeing events).
    for _ in range(2):
        with counting(engine) as page:
            assert ann.get(where).status_code == 200
        with counting(engine) as label:
            sent = ann.post(f"{where}/label", data={"csrf": ann.csrf, "label": "no",
                                                    "topic.recruitment": "yes"})  # fmt: skip
        assert sent.status_code == 303 and sent.headers["location"].startswith("/item/")
        where = sent.headers["location"]
    most = MOST[engine.dialect.name]
    if engine.dialect.name == "postgresql":
        costs = {"next item": page.round_trips, "submit label": label.round_trips}
        # No ROLLBACK: psycopg drops its prepared statements at each one.
        assert page.rollbacks == label.rollbacks == 0
    else:
        costs = {"next item": len(page.statements), "submit label": len(label.statements)}
    assert costs["next item"] <= most["next item"], page.statements
    assert costs["submit label"] <= most["submit label"], label.statements
    # What the cheaper path stores is what it stored before: the items settled, the one with
    # its K reviewers filled (the double one has one of two), the audit chain intact.
    with engine.connect() as conn:
        rows = conn.execute(
            select(ReviewItem.settled, ReviewItem.filled).order_by(ReviewItem.position).limit(2)
        ).all()
    assert [tuple(r) for r in rows] == [(True, True), (True, False)]
    assert audit.verify(engine).ok
