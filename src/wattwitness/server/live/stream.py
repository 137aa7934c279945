"""Server-sent events for one installation: one `event: reading` per stored reading, within ~1 s.

The stream wakes up when this process's ingest signals new readings (the bus) and, whatever the bus
says, every `poll_s` seconds; each time it asks the database for readings with an id above what it has
sent. So readings stored by another worker process (or another server on the same database) arrive
too, at most `poll_s` later.

PostgreSQL hands out ids when a row is inserted, not when its transaction commits, so a long
transaction can make a lower id visible after a higher one. The stream therefore re-reads a short
window below its newest id (`settle_s`) and skips what it already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# Given a floor id: ([(reading id, the reading as JSON-ready dict)] in ascending id, the highest id the
# fetch looked at). The second lets the floor move past other installations' readings.
FetchAfter = Callable[[int], Awaitable[tuple[list[tuple[int, dict[str, Any]]], int]]]


@dataclass(frozen=True, slots=True)
class StreamTiming:
    poll_s: float = 1.0
    keepalive_s: float = 15.0
    settle_s: float = 5.0
    retry_ms: int = 1000  # how soon an EventSource reconnects after the connection drops


def format_event(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


async def reading_events(
    fetch_after: FetchAfter,
    start_after_id: int,
    wake: asyncio.Event,
    is_disconnected: Callable[[], Awaitable[bool]],
    timing: StreamTiming = StreamTiming(),
) -> AsyncIterator[str]:
    """Yields SSE text: a greeting, then `reading` events in id order, and keep-alive comments."""
    yield f"retry: {timing.retry_ms}\n: connected\n\n"
    newest = start_after_id
    sent: set[int] = set()
    # (monotonic time, newest id seen by then): the floor we re-read from trails `settle_s` behind.
    history: deque[tuple[float, int]] = deque([(time.monotonic(), start_after_id)])
    last_output = time.monotonic()
    while not await is_disconnected():
        now = time.monotonic()
        while len(history) > 1 and history[1][0] <= now - timing.settle_s:
            history.popleft()
        floor = history[0][1]
        found, scanned_up_to = await fetch_after(floor)
        newest = max(newest, scanned_up_to)
        for reading_id, payload in found:
            if reading_id in sent or reading_id <= start_after_id:
                continue
            sent.add(reading_id)
            newest = max(newest, reading_id)
            last_output = time.monotonic()
            yield format_event("reading", payload, reading_id)
        history.append((time.monotonic(), newest))
        sent = {reading_id for reading_id in sent if reading_id > floor}
        if time.monotonic() - last_output >= timing.keepalive_s:
            last_output = time.monotonic()
            yield ": keep-alive\n\n"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timing.poll_s)
        wake.clear()
