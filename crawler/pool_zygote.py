"""A warm parent for pool jobs: import the crawl once, fork a fresh process per job.

A pool job needs a process of its own (Scrapy runs one Twisted reactor per process), but a
fresh interpreter spends seconds of CPU importing Scrapy, SQLAlchemy and the crawler before
its first request, on every job. A worker therefore starts one zygote per job slot:
`python -m crawler.pool_zygote IN_FD OUT_FD` imports those modules (installing no reactor,
starting no thread), then forks one child per request. The child starts a session of its
own, takes the job's environment and output file, and runs `crawler.pool_job.main` as
`python -m crawler.pool_job` would; its writer process is started by the crawl as usual.

The zygote dies with its worker, and a job with its zygote (the kernel's parent-death signal),
so `kill -9` of a worker leaves nothing running. Requests are (args, env, output path); the
answers are ("started", pid), then ("exited", returncode) with a negative code for a signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from crawler.pool_job import PARENT_ENV, die_with_parent

# What a crawl imports before its first request; nothing here installs a reactor or connects.
PRELOAD = (
    "crawler.runner",
    "crawler.settings",
    "crawler.pipelines",
    "crawler.middlewares",
    "crawler.extensions",
    "crawler.storing",
    "crawler.classification",
    "storage.engine",
    "storage.runs",
    "storage.buckets",
    "scrapy.core.downloader.handlers.http11",
)


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    from crawler.platforms import PLATFORMS

    for platform in PLATFORMS.values():
        platform.spider_class()
    # A child must install and run its own reactor; forking is safe with one thread only.
    assert "twisted.internet.reactor" not in sys.modules, "a preloaded module installed a reactor"
    assert threading.active_count() == 1, threading.enumerate()


def serve(inbox: Connection, outbox: Connection) -> tuple[Any, ...] | None:
    """Fork a child per request (one at a time); the request in the child, None at EOF."""
    while True:
        try:
            request: tuple[Any, ...] = inbox.recv()
        except (EOFError, OSError):
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            inbox.close()
            outbox.close()
            return request
        outbox.send(("started", pid))
        _, status = os.waitpid(pid, 0)
        outbox.send(("exited", os.waitstatus_to_exitcode(status)))


def become(request: tuple[Any, ...]) -> list[str]:
    """In the child: a session of its own, the job's environment and output; its arguments."""
    args, env, output = request
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(env)
    os.environ[PARENT_ENV] = str(os.getppid())  # the zygote: the job dies with it
    stdin = os.open(os.devnull, os.O_RDONLY)
    out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((stdin, 0), (out, 1), (out, 2)):
        os.dup2(fd, target)
    os.close(stdin)
    os.close(out)
    return list(args)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the worker
    die_with_parent()
    preload()
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    request = serve(inbox, outbox)
    if request is None:
        return
    args = become(request)
    from crawler.pool_job import main as job

    code = job(args)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


class ForkedJob:
    """A job forked by a zygote: its pid, signals, and its exit code when it ends."""

    def __init__(self, pid: int, ended: asyncio.Future[int]) -> None:
        self.pid = pid
        self._ended = ended

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    async def wait(self) -> int:
        return await self._ended


class Zygote:
    """The worker's end of one zygote process: one job at a time."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        worker_env = {**(env or os.environ), PARENT_ENV: str(os.getpid())}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crawler.pool_zygote", str(to_r), str(from_w)],
            pass_fds=(to_r, from_w), stdin=subprocess.DEVNULL, env=worker_env,
        )  # fmt: skip
        os.close(to_r)
        os.close(from_w)
        self._to = Connection(to_w, readable=False)
        self._from = Connection(from_r, writable=False)
        self.busy = False

    def alive(self) -> bool:
        return self._process.poll() is None

    async def start(self, args: list[str], env: dict[str, str], output: Path) -> ForkedJob:
        """Fork a job (the zygote is busy until it ends); OSError or EOFError if it is gone."""
        loop = asyncio.get_running_loop()
        self.busy = True
        try:
            await asyncio.to_thread(self._to.send, (args, env, str(output)))
            kind, pid = await asyncio.to_thread(self._from.recv)
            assert kind == "started", kind
        except BaseException:
            self.busy = False
            raise
        ended: asyncio.Future[int] = loop.create_future()

        async def watch() -> None:
            try:
                _, code = await asyncio.to_thread(self._from.recv)
                ended.set_result(int(code))
            except (EOFError, OSError):  # the zygote died: so did its job
                ended.set_result(-int(signal.SIGKILL))
            finally:
                self.busy = False

        self._watch = asyncio.ensure_future(watch())
        return ForkedJob(int(pid), ended)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._to.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=10)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        with contextlib.suppress(OSError):
            self._from.close()


if __name__ == "__main__":
    main()
