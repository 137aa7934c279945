"""In-process wake-up signal: "installation N has new readings", from the ingest to the live streams.

The bus carries no readings, only the news that some were committed; the streams then read them from
the database. That keeps the database the single source of truth and makes the bus optional: another
worker process's readings never reach this bus, and the streams find them by polling anyway.

`notify` is safe to call from any thread (sync endpoints run in a thread pool) and never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Waiter:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.event = asyncio.Event()

    def wake(self) -> None:
        # A closed loop means the subscriber is going away anyway.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.event.set)


class ReadingBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[int, set[_Waiter]] = {}

    @contextmanager
    def subscribe(self, installation_id: int) -> Iterator[asyncio.Event]:
        """An event that is set when `installation_id` gets readings; clear it after each wake-up."""
        waiter = _Waiter(asyncio.get_running_loop())
        with self._lock:
            self._waiters.setdefault(installation_id, set()).add(waiter)
        try:
            yield waiter.event
        finally:
            with self._lock:
                waiters = self._waiters.get(installation_id, set())
                waiters.discard(waiter)
                if not waiters:
                    self._waiters.pop(installation_id, None)

    def notify(self, installation_id: int) -> None:
        """Call after the transaction that stored readings of `installation_id` has committed."""
        with self._lock:
            waiters = list(self._waiters.get(installation_id, ()))
        for waiter in waiters:
            waiter.wake()

    def subscriber_count(self, installation_id: int) -> int:
        with self._lock:
            return len(self._waiters.get(installation_id, ()))


# One bus per process: the ingest notifies it, the streams of this process listen to it.
reading_bus = ReadingBus()


def notify_readings(installation_ids: int | set[int] | list[int]) -> None:
    """What the readings ingest calls after commit (one id, or the installations of a batch)."""
    ids = [installation_ids] if isinstance(installation_ids, int) else installation_ids
    for installation_id in set(ids):
        reading_bus.notify(installation_id)
