"""Rate limiting of rejected readings, per client: a flood of bad signatures cannot starve valid devices.

Readings need no token (the device signature is the authentication), so anyone can make the server
verify P-256 signatures, open transactions and write security events. This ASGI middleware keeps a
token bucket of *rejections* per client address on the two ingest routes: each rejected reading
(invalid signature, wrong meter, malformed, equivocation, chain break, digest mismatch: CHARGED) takes
one token; the bucket refills
at a steady rate. A client whose bucket is empty gets 429 `{"error": "rate_limited"}` on the ingest
routes, answered before the body is read, verified or stored, until its bucket refills.

Accepted readings (stored or duplicate) cost nothing: an agent draining a day of backlog in 5,000-record
batches is never throttled, and a valid device on another address is never affected by the flood.
The state is per process and in memory: enough to protect one server process from one noisy client;
several workers each keep their own buckets.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INGEST_PATHS = frozenset({"/api/v1/readings/", "/api/v1/readings", "/api/v1/readings/batch"})
# 60 rejections in a burst, then one every 2 s: far above what a misconfigured but honest device
# produces, far below what keeps two CPU cores busy verifying forged signatures.
DEFAULT_BURST = 60
DEFAULT_REFILL_PER_S = 0.5
MAX_CLIENTS = 10_000
# Rejections that only a broken or hostile sender produces. Not charged: `future_timestamp` and
# `unknown_meter`, which honest agents retry (a fast simulator, a device not enrolled yet) and which
# must not throttle other devices behind the same address (the demo runs them all on localhost).
CHARGED = frozenset({"malformed", "invalid_signature", "wrong_meter", "equivocation", "chain_break",
                     "digest_mismatch"})


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float


class RejectionBuckets:
    """Token buckets keyed by client; thread-safe (sync endpoints run in a thread pool)."""

    def __init__(self, burst: int, refill_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.refill_per_s = refill_per_s
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def _refilled(self, client: str, now: float) -> Bucket:
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= MAX_CLIENTS:
                self._forget_full(now)
            bucket = self._buckets[client] = Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.refill_per_s)
        bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        # Buckets that have refilled completely carry no information; dropping them bounds the memory
        # an attacker rotating addresses can make us hold.
        for client in [c for c, b in self._buckets.items()
                       if b.tokens + (now - b.updated) * self.refill_per_s >= self.burst]:
            del self._buckets[client]

    def allowed(self, client: str) -> bool:
        with self._lock:
            return self._refilled(client, self._clock()).tokens >= 1

    def charge(self, client: str, rejections: int) -> None:
        if rejections <= 0:
            return
        with self._lock:
            bucket = self._refilled(client, self._clock())
            bucket.tokens = max(0.0, bucket.tokens - rejections)

    def retry_after_s(self, client: str) -> int:
        with self._lock:
            bucket = self._refilled(client, self._clock())
            return max(1, int((1 - bucket.tokens) / self.refill_per_s) + 1)


# Where the batch route leaves how many of its items were CHARGED rejections, so that a 5,000-result
# answer need not be parsed again here (scope["state"] is what the route sees as `request.state`).
BATCH_REJECTIONS = "charged_rejections"


def charged(outcomes: Iterable[str]) -> int:
    return sum(1 for outcome in outcomes if outcome in CHARGED)


def _rejections(status: int, body: bytes) -> int:
    """How many readings this error answer rejected for a reason worth charging (CHARGED)."""
    if status == 413 or status == 429 or status < 400:
        # Size is the body limit's business, and 429 is our own answer.
        return 0
    try:
        answer = json.loads(body)
    except ValueError:
        return 1
    return 1 if isinstance(answer, dict) and answer.get("error") in CHARGED else 0


class ReadingsRateLimitMiddleware:
    def __init__(self, app: ASGIApp, burst: int = DEFAULT_BURST, refill_per_s: float = DEFAULT_REFILL_PER_S) -> None:
        self.app = app
        self.buckets = RejectionBuckets(burst, refill_per_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in INGEST_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        if not self.buckets.allowed(client):
            await self._reject(send, self.buckets.retry_after_s(client))
            return

        status = 0
        body = bytearray()

        async def observing_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, observing_send)
        batch = scope.get("state", {}).get(BATCH_REJECTIONS, 0) if status == 200 else 0
        self.buckets.charge(client, batch + _rejections(status, bytes(body)))

    @staticmethod
    async def _reject(send: Send, retry_after_s: int) -> None:
        payload = json.dumps({"error": "rate_limited",
                              "detail": f"too many rejected readings from this client; retry in {retry_after_s} s"})
        encoded = payload.encode()
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(encoded)).encode()),
                                (b"retry-after", str(retry_after_s).encode())]})
        await send({"type": "http.response.body", "body": encoded})
