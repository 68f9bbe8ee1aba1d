"""`vemeter ARGS` run inside the test process, through the same error boundary as the console script.

`main()` turns VemeterError into `Error: …` lines and exit codes; Typer's CliRunner alone
would only see the exception. Here main() runs with sys.argv, stdin, stdout, stderr and the
environment swapped (CliRunner's isolation), and its SystemExit becomes the exit code. A
subprocess is left for what needs one: a crawl (one Twisted reactor per process) and tests
where the process boundary itself is the point.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from scrapy.crawler import CrawlerProcess
from typer.testing import CliRunner

from crawler.commands.app import main

NO_CRAWL = "a crawl started in the test process: crawl in a process of its own (Project.crawl)"


@dataclass(frozen=True)
class Outcome:
    """What a run of the command left: the fields tests read from subprocess.CompletedProcess."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def vemeter(
    *args: str,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
    input: str | bytes | None = None,
) -> Outcome:
    """Run `vemeter ARGS` in this process; `env` values of None unset a variable.

    An exception that main() does not turn into an exit code propagates (a subprocess would
    have printed a traceback and exited 1), so a crash can never pass for an expected error.
    A crawl may be run here only up to its checks: creating its CrawlerProcess fails the test,
    as it would install this process's one Twisted reactor (crawls run in processes of their
    own).
    """
    old_argv = sys.argv
    with (
        CliRunner().isolation(input=input, env=env) as (out, err, _),
        contextlib.chdir(cwd or Path.cwd()),
        mock.patch.object(CrawlerProcess, "__init__", side_effect=AssertionError(NO_CRAWL)),
    ):
        sys.argv = ["vemeter", *args]
        try:
            main()
            code: int = 0
        except SystemExit as exc:
            code = exit_code(exc.code)
            if isinstance(exc.code, str):
                sys.stderr.write(exc.code + "\n")  # as the interpreter prints it
        finally:
            sys.argv = old_argv
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    return Outcome(args, code, stdout.decode("utf-8"), stderr.decode("utf-8"))


def exit_code(code: object) -> int:
    """The process exit status a SystemExit(code) gives."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def unset(*names: str) -> dict[str, str | None]:
    """An `env` for vemeter() that removes these variables for the run."""
    return dict.fromkeys(names)
