"""The writer processes of crawler.storing, started without importing it.

`vemeter import` starts its writers first thing, so that their imports (SQLAlchemy, the
classifiers: ~1 s) run while the importing process loads its own modules, reads the config and
opens the database; this module needs nothing but the standard library. A writer waits for its
StoreSpec (crawler.storing.BackgroundStore sends it) and ends quietly if the pipe closes first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import Connection

__all__ = ["IMPORT_WRITERS", "Channel", "ForkedWriter", "close_channels", "start_writers"]

# Writers of an import (crawler.storing.StorePool): classification is its bottleneck, and two
# keep both cores of a two-core machine busy beside the process reading the rows.
IMPORT_WRITERS = 2


class ForkedWriter:
    """A writer forked by the first writer of a StorePool (fork_writers): no child of this
    process, so it is ended by its pid, which it sends first, and waited for until it is gone."""

    def __init__(self) -> None:
        self.pid: int | None = None

    def kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int | None:
        """Until the process is gone (its exit code is its parent's to know: None)."""
        deadline = time.monotonic() + (60.0 if timeout is None else timeout)
        while self.pid is not None and time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
                with open(f"/proc/{self.pid}/stat", "rb") as stat:  # a zombie has ended too
                    if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                        return None
            except (ProcessLookupError, FileNotFoundError):
                return None
            except OSError:  # no /proc: the signal test alone
                pass
            time.sleep(0.01)
        return None


# One writer: its process, the pipe end to send to it and the pipe end it answers on.
Channel = tuple["subprocess.Popen[bytes] | ForkedWriter", Connection, Connection]


def start_writers(count: int) -> list[Channel]:
    """`count` writers behind one process: the first is `python -m crawler.storing`, the others
    are forked from it once its classifier is built (fork_writers). One (process, to, from)
    channel each."""
    ends: list[int] = []
    keep: list[tuple[int, int]] = []
    for _ in range(count):
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        ends += [to_r, from_w]
        keep.append((to_w, from_r))
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.storing", *map(str, ends)],
            pass_fds=ends, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        for fd in ends:
            os.close(fd)
    return [
        (process if n == 0 else ForkedWriter(), Connection(to_w, readable=False),
         Connection(from_r, writable=False))
        for n, (to_w, from_r) in enumerate(keep)
    ]  # fmt: skip


def close_channels(channels: list[Channel]) -> None:
    """End writers that were started but never given a spec: each reads the end of its pipe
    and exits; the first (a child of this process) is waited for."""
    for _, to, from_ in channels:
        to.close()
        from_.close()
    for process, _, _ in channels:
        if isinstance(process, subprocess.Popen):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
