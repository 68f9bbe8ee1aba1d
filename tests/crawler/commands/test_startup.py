"""The CLI loads without the database layer: every command starts fast, and only the commands
that open a database pay for SQLAlchemy's models."""

from __future__ import annotations

import subprocess
import sys


def test_loading_the_cli_imports_no_database_models() -> None:
    code = "import sys, crawler.commands.app; print(sorted(m for m in sys.modules if m in ('storage.models', 'sqlalchemy.orm')))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout
