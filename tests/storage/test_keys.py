"""The pseudonym key's fingerprint: recorded on first use, another key refused, rekey opens a period."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from crawler.errors import InputError, StorageError
from crawler.pseudonym import Pseudonymiser
from storage.keys import FINGERPRINT, KeyMismatch, check_key, key_periods, rekey
from storage.models import Setting
from storage.runs import start_run

KEY_A = "key-a-" + "a" * 32
KEY_B = "key-b-" + "b" * 32


def fingerprint(key: str) -> str:
    return Pseudonymiser(key).fingerprint()


def settings(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {k: v for k, v in conn.execute(select(Setting.key, Setting.value))}


def test_the_fingerprint_tells_keys_apart_and_is_never_the_key_or_a_pseudonym() -> None:
    a = Pseudonymiser(KEY_A)
    assert a.fingerprint() == fingerprint(KEY_A) != fingerprint(KEY_B)
    assert len(a.fingerprint()) == 64 and KEY_A not in a.fingerprint()
    assert a.fingerprint()[:32] != a("vk", "vemeter pseudonym key fingerprint v1")


def test_first_use_records_the_key_the_same_key_passes_another_is_refused(
    engine: Engine,
) -> None:
    first = check_key(engine, fingerprint(KEY_A), env_name="VEMETER_PSEUDONYM_KEY")
    assert (first.period, first.after_run) == (1, 0)
    assert settings(engine)[FINGERPRINT] == fingerprint(KEY_A)
    assert not any(KEY_A in v for v in settings(engine).values())
    assert check_key(engine, fingerprint(KEY_A), env_name="K") == first
    with pytest.raises(KeyMismatch) as refused:
        check_key(engine, fingerprint(KEY_B), env_name="VEMETER_PSEUDONYM_KEY")
    message = str(refused.value)
    assert isinstance(refused.value, StorageError) and "\n" not in message
    assert "the pseudonym key in VEMETER_PSEUDONYM_KEY is not this database's key" in message
    assert "vemeter db rekey CONFIG" in message and KEY_B not in message
    assert settings(engine)[FINGERPRINT] == fingerprint(KEY_A)  # nothing changed


def test_rekey_starts_a_new_period_after_the_runs_so_far(engine: Engine) -> None:
    check_key(engine, fingerprint(KEY_A), env_name="K")
    runs = [start_run(engine, project="p", config_hash="h", version="0", classifiers={})
            for _ in range(2)]  # fmt: skip
    previous, new = rekey(engine, fingerprint(KEY_B))
    assert previous is not None and previous.period == 1
    assert (new.period, new.fingerprint, new.after_run) == (2, fingerprint(KEY_B), runs[-1])
    assert [p.period for p in key_periods(engine)] == [1, 2]
    assert check_key(engine, fingerprint(KEY_B), env_name="K") == new
    with pytest.raises(KeyMismatch, match="it is the key of the earlier key period 1"):
        check_key(engine, fingerprint(KEY_A), env_name="K")
    with pytest.raises(InputError, match="already the database's pseudonym key"):
        rekey(engine, fingerprint(KEY_B))


def test_rekey_of_a_database_without_a_key_records_period_one(engine: Engine) -> None:
    previous, new = rekey(engine, fingerprint(KEY_A))
    assert previous is None and new.period == 1
    assert check_key(engine, fingerprint(KEY_A), env_name="K").period == 1


def test_pseudonymiser_checks_the_database_naming_its_variable(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_KEY", KEY_A)
    Pseudonymiser.from_env("MY_KEY").check_database(engine)
    monkeypatch.setenv("MY_KEY", KEY_B)
    with pytest.raises(KeyMismatch, match="the pseudonym key in MY_KEY is not"):
        Pseudonymiser.from_env("MY_KEY").check_database(engine)
