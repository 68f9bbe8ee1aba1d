"""A deadlock between two writers is tried again, not taken for a failed database."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from storage.writer import BatchResult, PostWriter, is_transient


class _Orig(Exception):
    def __init__(self, sqlstate: str | None, text: str = "") -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


def _error(sqlstate: str | None, text: str = "") -> sa_exc.DBAPIError:
    return sa_exc.OperationalError("INSERT ...", {}, _Orig(sqlstate, text))


def test_deadlocks_and_locked_files_are_transient_other_errors_not() -> None:
    assert is_transient(_error("40P01")) and is_transient(_error("40001"))
    assert is_transient(_error(None, "database is locked"))
    assert not is_transient(_error("08006", "connection failure"))


def test_a_batch_that_met_a_deadlock_is_written_on_the_next_try(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = PostWriter.__new__(PostWriter)
    calls: list[int] = []

    def write(records: list[object]) -> BatchResult:
        calls.append(len(records))
        if len(calls) < 3:
            raise _error("40P01", "deadlock detected")
        done = BatchResult()
        done.new = len(records)
        return done

    monkeypatch.setattr(writer, "write", write)
    monkeypatch.setattr("storage.writer.time.sleep", lambda _: None)
    result, refused = writer.write_isolated([object(), object()])  # type: ignore[list-item]
    assert (result.new, refused, calls) == (2, [], [2, 2, 2])
