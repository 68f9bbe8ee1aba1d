"""One request per host until that host's robots.txt is known, so that every request is checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from scrapy import Request

META_KEY = "robots_first"


class RobotsGate:
    """Admit the first request of each host at once; hold the rest until `release` for that host.

    Scrapy 2.19's RobotsTxtMiddleware lets all requests to a new host await one shared Deferred
    for its robots.txt; `maybe_deferred_to_future` hands the parser to the first of them only, and
    the others receive None, which the middleware reads as "no robots.txt": they go out
    unchecked. Once a host's first request is answered the parser is cached, and the middleware
    checks each held request against it.
    """

    def __init__(self, send: Callable[[Request], None]) -> None:
        self._send = send
        self._ready: set[str] = set()
        self.held: dict[str, list[Request]] = {}

    def admit(self, request: Request) -> Iterator[Request]:
        """Yields the request when it may go now; otherwise keeps it for later."""
        netloc = urlsplit(request.url).netloc.lower()
        if netloc in self._ready:
            yield request
        elif netloc in self.held:
            self.held[netloc].append(request)
        else:
            self.held[netloc] = []
            request.meta[META_KEY] = netloc
            yield request

    def release(self, request: Request | None) -> None:
        """Call when a request was answered (response or failure); sends what its host held."""
        netloc = request.meta.get(META_KEY) if request is not None else None
        if netloc is None or netloc in self._ready:
            return
        self._ready.add(netloc)
        for held in self.held.pop(netloc, []):
            self._send(held)
