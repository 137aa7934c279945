"""Counts and times HTTP requests by route template (never by raw path, which would grow without bound)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wattwitness.server.metrics.events import HTTP_REQUESTS, HTTP_SECONDS


class HttpMetricsMiddleware:
    """Pure ASGI middleware, so streamed responses (the live SSE feed) pass through unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The router writes the matched route into the scope it was given; paths nothing matched
            # (scanners, typos) share one label.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope.get("method", "-"), route, str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)
