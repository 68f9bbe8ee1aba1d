"""HTTP hardening applied to every response: a strict Content-Security-Policy and its companions.

The policy allows scripts, styles, images and fonts from the app itself only, with no inline
script or style at all (the pages have none), no plugins, no framing, and forms that post back
to the app only. The referrer stays inside the app (`same-origin`: browsers then name
the app as the Origin of its forms, which the app checks; `no-referrer` would make it "null").
Post text is escaped by the templates; the policy is the second wall should an
escape ever be missed. Static files asked for by their versioned address (`?v=` a hash of the
file, as the pages write it) are cached for good: the next page loads none of them again.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "IMMUTABLE", "SECURITY_HEADERS", "SecurityHeaders"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


IMMUTABLE = "public, max-age=31536000, immutable"


class SecurityHeaders:
    """ASGI middleware: the headers above on every response; pages (HTML) are never cached,
    versioned static files always."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        versioned = str(scope.get("path", "")).startswith("/static/") and scope.get(
            "query_string", b""
        ).startswith(b"v=")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Cache-Control"] = "no-store"
                elif versioned and message.get("status") == 200:
                    headers["Cache-Control"] = IMMUTABLE
            await send(message)

        await self.app(scope, receive, send_with_headers)
