"""Start `vemeter crawl` processes fast: fork each from a process that has imported vemeter already.

A crawl needs a process of its own (Scrapy runs one Twisted reactor per process), but a fresh
interpreter spends about a quarter of a small test crawl's CPU time importing Scrapy, SQLAlchemy
and the CLI. This launcher imports them once, installs no reactor and starts no thread, then
forks one child per request. The child sets its arguments, environment, working directory and standard streams
and calls `crawler.commands.app.main()`, as `python -m crawler.commands` does; it exits as
that process would, and its writer process is started by the product as usual.

    python -m tests.e2e.launcher IN_FD OUT_FD    (started by `Launcher`, below)

Requests are (args, env, cwd, stdout path, stderr path); the launcher answers ("started", pid)
and then ("exited", returncode), with a negative code for a signal, as subprocess does.
"""

from __future__ import annotations

import importlib
import locale
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# What a crawl imports before its first request; nothing here installs a reactor or connects.
PRELOAD = (
    "crawler.commands.app",
    "crawler.commands.summary",
    "crawler.runner",
    "crawler.settings",
    "crawler.pipelines",
    "crawler.middlewares",
    "crawler.extensions",
    "crawler.storing",
    "crawler.classification",
    "storage.engine",
    "storage.runs",
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
    """Fork a child per request; returns the request in the child, None in the launcher at EOF."""
    while True:
        try:
            request: tuple[Any, ...] = inbox.recv()
        except EOFError:
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


def become(request: tuple[Any, ...]) -> None:
    """In the child: take the request's arguments, environment, folder and streams."""
    args, env, cwd, stdout_path, stderr_path = request
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    stdin = os.open(os.devnull, os.O_RDONLY)
    out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd, target in ((stdin, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    import crawler.commands

    sys.argv = [os.path.join(os.path.dirname(crawler.commands.__file__), "__main__.py"), *args]


def main() -> None:
    preload()
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    request = serve(inbox, outbox)
    if request is None:
        return
    become(request)
    from crawler.commands.app import main as vemeter

    vemeter()  # exits through SystemExit, and the interpreter's normal shutdown, like the CLI


class Launcher:
    """The tests' end: starts the launcher on first use, then runs `vemeter ARGS` in a child."""

    def __init__(self) -> None:
        self._dir = Path()
        self._process: subprocess.Popen[bytes] | None = None
        self._to: Connection | None = None
        self._from: Connection | None = None

    def _start(self) -> tuple[Connection, Connection]:
        if self._to is not None and self._from is not None:
            return self._to, self._from
        self._dir = Path(tempfile.mkdtemp(prefix="vemeter-launcher-"))
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        with (self._dir / "launcher.log").open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.launcher", str(to_r), str(from_w)],
                pass_fds=(to_r, from_w), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        os.close(to_r)
        os.close(from_w)
        self._to, self._from = Connection(to_w, readable=False), Connection(from_r, writable=False)
        return self._to, self._from

    def _receive(self, inbox: Connection, timeout: float) -> tuple[Any, ...] | None:
        """The launcher's next answer; None after `timeout`; a clear error if it died."""
        try:
            if not inbox.poll(timeout):
                return None
            answer: tuple[Any, ...] = inbox.recv()
        except (EOFError, OSError):
            log = (self._dir / "launcher.log").read_text(errors="replace")
            raise RuntimeError(f"the crawl launcher died:\n{log}") from None
        return answer

    def run(
        self, args: list[str], env: dict[str, str], cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Like subprocess.run(capture_output=True, text=True) of `python -m crawler.commands`."""
        to, inbox = self._start()
        out, err = self._dir / "stdout", self._dir / "stderr"
        try:
            to.send((args, env, str(cwd), str(out), str(err)))
        except OSError:
            self._receive(inbox, 0)  # reports why the launcher is gone
            raise
        started = self._receive(inbox, 60)
        assert started is not None and started[0] == "started", started
        exited = self._receive(inbox, timeout)
        if exited is None:
            os.kill(started[1], signal.SIGKILL)
            self._receive(inbox, 60)
            raise subprocess.TimeoutExpired(["vemeter", *args], timeout, read(out), read(err))
        return subprocess.CompletedProcess(["vemeter", *args], exited[1], read(out), read(err))

    def close(self) -> None:
        """Stop the launcher (it exits when its input closes) and remove its files."""
        if self._process is None:
            return
        if self._to is not None:
            self._to.close()
        self._process.wait(timeout=30)
        if self._from is not None:
            self._from.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        self._process = self._to = self._from = None


def read(path: Path) -> str:
    """A child's output as subprocess's text mode reads it: locale encoding, universal newlines."""
    data = path.read_bytes().decode(locale.getpreferredencoding(False))
    return data.replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    main()
