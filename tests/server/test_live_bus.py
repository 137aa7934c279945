"""The in-process bus and the SSE generator, with the database replaced by an in-memory table."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from wattwitness.server.live.bus import ReadingBus
from wattwitness.server.live.stream import StreamTiming, reading_events


def test_notify_from_another_thread_wakes_the_subscriber() -> None:
    bus = ReadingBus()

    async def scenario() -> None:
        with bus.subscribe(7) as event:
            assert bus.subscriber_count(7) == 1
            threading.Thread(target=bus.notify, args=(7,)).start()
            await asyncio.wait_for(event.wait(), 2)
            bus.notify(8)  # another installation: no effect, no error
        assert bus.subscriber_count(7) == 0

    asyncio.run(scenario())


class Table:
    """Rows become visible when 'committed'; ids can commit out of order as in PostgreSQL."""

    def __init__(self) -> None:
        self.visible: dict[int, dict[str, Any]] = {}

    async def fetch_after(self, floor: int) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        found = [(i, self.visible[i]) for i in sorted(self.visible) if i > floor]
        return found, max([floor, *self.visible])


def parse(chunks: list[str]) -> list[int]:
    ids = []
    for chunk in chunks:
        if chunk.startswith("event: reading"):
            ids.append(json.loads(chunk.split("data: ", 1)[1])["id"])
    return ids


def test_stream_sends_every_reading_once_even_when_ids_commit_out_of_order() -> None:
    table = Table()
    table.visible[1] = {"id": 1}  # existed before the client connected: not sent
    wake = asyncio.Event()
    stop = asyncio.Event()

    async def disconnected() -> bool:
        return stop.is_set()

    async def scenario() -> list[str]:
        chunks: list[str] = []
        timing = StreamTiming(poll_s=0.02, keepalive_s=0.1, settle_s=1.0)
        events = reading_events(table.fetch_after, 1, wake, disconnected, timing)

        async def consume() -> None:
            async for chunk in events:
                chunks.append(chunk)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        table.visible[3] = {"id": 3}  # id 3 commits first ...
        wake.set()
        await asyncio.sleep(0.05)
        table.visible[2] = {"id": 2}  # ... then the long transaction holding id 2
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(task, 2)
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks[0].startswith("retry: ")
    assert parse(chunks) == [3, 2]
    assert any(chunk.startswith(": keep-alive") for chunk in chunks)
    reading_chunk = next(c for c in chunks if c.startswith("event: reading"))
    assert "\nid: 3\n" in reading_chunk and reading_chunk.endswith("\n\n")
