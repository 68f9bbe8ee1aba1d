"""A process that opens or migrates databases on request, for the concurrency tests.

    python -m tests.storage.migrate_worker     (stdin: one request a line, stdout: one answer)

A request is `open URL` (open_database: a new SQLite file is created and migrated) or
`upgrade URL SCHEMA` (upgrade on PostgreSQL with search_path=SCHEMA). Everything is imported
before the first request, so two workers handed a request at once really start together. The
answer is `ok` or `error <one line>`.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine

from storage.engine import open_database, upgrade


def handle(request: str) -> None:
    verb, url, *rest = request.split()
    if verb == "open":
        open_database(url).dispose()
    else:
        engine = create_engine(url, connect_args={"options": f"-csearch_path={rest[0]}"})
        try:
            upgrade(engine)
        finally:
            engine.dispose()


def main() -> None:
    for line in sys.stdin:
        try:
            handle(line)
            answer = "ok"
        except Exception as exc:
            answer = f"error {type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        print(answer, flush=True)


if __name__ == "__main__":
    main()
