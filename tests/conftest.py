"""Shared fixtures: each test gets its own temporary database, never a configured one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from storage.engine import open_database, upgrade

POSTGRES_URL = os.environ.get("VEMETER_TEST_POSTGRES_URL")


def _postgres_engine() -> Iterator[Engine]:
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests first: they take longest, and pytest-xdist then fills the end of the run
    with short tests instead of leaving one worker alone with a long one."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated database: SQLite always, PostgreSQL when CI provides one."""
    if request.param == "sqlite":
        eng = open_database(f"sqlite:///{tmp_path / 'test.db'}")
        yield eng
        eng.dispose()
    else:
        if not POSTGRES_URL:
            pytest.skip("set VEMETER_TEST_POSTGRES_URL to run PostgreSQL tests (.ci/run does)")
        yield from _postgres_engine()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small topic model trained on two topics (financing, recruitment), saved once per module."""
    from classifiers.topic_model import TopicModel
    from tests.classifiers.test_topic_model import examples

    folder = tmp_path_factory.mktemp("model") / "topics"
    TopicModel.fit(examples(topics=("financing", "recruitment"))).save(folder)
    return folder
