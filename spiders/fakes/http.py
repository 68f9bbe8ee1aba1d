"""The HTTP plumbing every platform's fake server shares: keep-alive, quiet, closable, on 127.0.0.1.

Every fake can also misbehave on purpose (`FakeService.faults`, a FaultPlan): answers cut off,
connections reset, stalls, bursts of 429 or 5xx, NUL bytes, bodies over any size limit, on the
requests a test names. Crawl tests drive them to check that a crawl retries, recovers what it
can, records what it cannot, and never crashes.
"""

from __future__ import annotations

import contextlib
import io
import signal
import socket
import struct
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal, Self

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


FaultKind = Literal["cut", "short", "reset", "stall", "status", "nul", "huge"]
MAX_STALL = 10.0  # seconds: a stall never holds a handler thread longer


@dataclass(frozen=True)
class Fault:
    """What a fake does to an answer instead of sending it as it is.

    cut     the body cut to `keep` of its length, sent as a whole answer (Content-Length of the
            cut body): well-formed HTTP, a document cut off mid-way
    short   the full Content-Length declared, `keep` of the body sent, the connection closed
    reset   no answer: the connection is reset (TCP RST)
    stall   `seconds` of silence (at most MAX_STALL), then the answer
    status  an HTTP `status` (429, 5xx …) with Retry-After: 0
    nul     the answer with NUL bytes put inside it
    huge    a body of `size` bytes; `declared` says whether Content-Length announces it

    It hits the requests whose route (the fake's name for a request: its path and query by
    default) contains `match`; `times` are which of those (1 = the first), () every one.
    """

    kind: FaultKind
    match: str = ""
    times: tuple[int, ...] = (1,)
    keep: float = 0.5
    seconds: float = 0.0
    status: int = 503
    size: int = 0
    declared: bool = True


class FaultPlan:
    """The faults a fake applies, each counting the requests it matches; thread-safe."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._seen: list[int] = []
        self.applied: list[tuple[str, FaultKind]] = []  # (route, kind) in the order applied
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
            self._seen.append(0)

    def take(self, route: str) -> Fault | None:
        """The fault for this request, if any (the first one that matches and is due)."""
        with self._lock:
            chosen = None
            for i, fault in enumerate(self._faults):
                if fault.match in route:
                    self._seen[i] += 1
                    due = not fault.times or self._seen[i] in fault.times
                    if due and chosen is None:
                        chosen = fault
            if chosen is not None:
                self.applied.append((route, chosen.kind))
            return chosen

    def count(self, kind: FaultKind | None = None, match: str = "") -> int:
        """How many answers a fault (of `kind`, on routes containing `match`) changed."""
        with self._lock:
            return sum(
                1 for route, k in self.applied if (kind is None or k == kind) and match in route
            )


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive without Nagle delays or a log line per request."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    route: str | None = None  # what faults match; set per request by fakes whose path says little

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_answer(
        self,
        status: int,
        body: bytes,
        content_type: str,
        retry_after: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Write a whole answer in one go; any status works, also ones `http` has no name for.

        A fault planned for this request (the fake's `faults`) changes or replaces the answer.
        """
        fake = getattr(self.server, "fake", None)
        plan: FaultPlan | None = getattr(fake, "faults", None)
        fault = plan.take(self.route or self.path) if plan is not None else None
        self.route = None
        if fault is not None and fault.kind == "short":
            self.close_connection = True  # declared whole, sent in part, then closed
            head = self._head(status, content_type, len(body), retry_after, headers)
            self._write(head + body[: int(len(body) * fault.keep)])
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)
            return
        if fault is not None and self._misbehave(fault, fake):
            return
        if fault is not None and fault.kind == "status":
            status, body, retry_after = fault.status, b"injected fault\n", "0"
            content_type = "text/plain; charset=utf-8"
        elif fault is not None and fault.kind == "cut":
            body = body[: int(len(body) * fault.keep)]
        elif fault is not None and fault.kind == "nul":
            body = _with_nuls(body)
        self._write(self._head(status, content_type, len(body), retry_after, headers) + body)

    def _head(
        self,
        status: int,
        content_type: str,
        length: int | None,
        retry_after: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        reason = HTTPStatus(status).phrase if status in _KNOWN_STATUSES else "Error"
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        if length is not None:
            head += f"Content-Length: {length}\r\n"
        if retry_after is not None:
            head += f"Retry-After: {retry_after}\r\n"
        for key, value in (headers or {}).items():
            head += f"{key}: {value}\r\n"
        if self.close_connection:
            head += "Connection: close\r\n"
        return head.encode() + b"\r\n"

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the client may have given up already
            self.wfile.write(data)

    def _misbehave(self, fault: Fault, fake: Any) -> bool:
        """Apply a fault that sends no (whole) answer; True when the answer is dealt with."""
        if fault.kind == "stall":
            stopping: threading.Event | None = getattr(fake, "stopping", None)
            seconds = min(max(fault.seconds, 0.0), MAX_STALL)
            if stopping is not None:
                stopping.wait(seconds)
            return False  # then the answer, as usual (if anyone still waits for it)
        if fault.kind == "reset":
            self._reset()
            return True
        if fault.kind == "huge":
            self._huge(fault)
            return True
        return False

    def _reset(self) -> None:
        """Close the connection with a TCP reset instead of an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        self.wfile = io.BytesIO()  # BaseHTTPRequestHandler.finish() flushes it

    def _huge(self, fault: Fault) -> None:
        """A body of `fault.size` bytes, streamed until sent or the client hangs up."""
        self.close_connection = True
        length = fault.size if fault.declared else None
        try:
            self.wfile.write(self._head(200, "application/octet-stream", length))
            chunk = b"x" * 65536
            left = fault.size
            while left > 0:
                self.wfile.write(chunk[: min(left, len(chunk))])
                left -= len(chunk)
        except OSError:
            pass


def _with_nuls(body: bytes) -> bytes:
    """`body` with a NUL byte inside it at a quarter, a half and three quarters of its length."""
    out = body
    for share in (0.75, 0.5, 0.25):
        at = int(len(out) * share)
        out = out[:at] + b"\x00" + out[at:]
    return out


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

    Subclasses set `handler` (their request handler class, defined after them). `faults` is
    the fake's FaultPlan: add a Fault to it to make the fake misbehave on purpose.
    """

    handler: ClassVar[type[BaseHTTPRequestHandler]]
    _server: FakeHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def faults(self) -> FaultPlan:
        plan: FaultPlan | None = self.__dict__.get("_faults")
        if plan is None:
            plan = self.__dict__["_faults"] = FaultPlan()
        return plan

    @property
    def stopping(self) -> threading.Event:
        """Set when the fake stops: stalled handlers wake up at once."""
        event: threading.Event | None = self.__dict__.get("_stopping")
        if event is None:
            event = self.__dict__["_stopping"] = threading.Event()
        return event

    def start(self, port: int = 0) -> Self:
        self.stopping.clear()
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
        self.stopping.set()
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
