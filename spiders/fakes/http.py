"""The HTTP plumbing every platform's fake server shares: keep-alive, quiet, closable, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

_KNOWN_STATUSES = {int(s) for s in HTTPStatus}


class FakeHTTPServer(ThreadingHTTPServer):
    """A threading server that tracks its connections, so `stop()` really ends them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: Any
    ) -> None:
        super().__init__(address, handler)
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Drop idle keep-alive connections so a stopped server answers nothing more."""
        with self._sockets_lock:
            sockets, self.open_sockets = list(self.open_sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # client hang-ups are not errors
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive without Nagle delays or a log line per request."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_answer(
        self, status: int, body: bytes, content_type: str, retry_after: str | None = None
    ) -> None:
        """Write a whole answer in one go; any status works, also ones `http` has no name for."""
        reason = HTTPStatus(status).phrase if status in _KNOWN_STATUSES else "Error"
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        head += f"Content-Length: {len(body)}\r\n"
        if retry_after is not None:
            head += f"Retry-After: {retry_after}\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n" + body)


class FormHandler(QuietHandler):
    """For APIs that take parameters in the query string or a POST form: both reach `dispatch`."""

    def do_GET(self) -> None:
        self.dispatch(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.dispatch(self.rfile.read(length) if length > 0 else b"")

    def dispatch(self, body: bytes) -> None:
        raise NotImplementedError


def most_in_window(times: Iterable[float], window: float) -> int:
    """Most of `times` (seconds) inside any half-open window [t, t + window): the peak rate."""
    ordered = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class FakeService:
    """Start and stop a fake platform on 127.0.0.1 in a daemon thread; usable as a context manager.

    Subclasses set `handler` (their request handler class, defined after them).
    """

    handler: ClassVar[type[BaseHTTPRequestHandler]]
    _server: FakeHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self, port: int = 0) -> Self:
        if self._server is None:
            server = FakeHTTPServer(("127.0.0.1", port), self.handler, self)
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT` of the running server."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_until_stopped(fake: FakeService, address: str) -> None:
    """For `python -m spiders.fakes.<key>`: print the address, serve until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    print(address, flush=True)
    try:
        stop.wait()
    finally:
        fake.stop()
