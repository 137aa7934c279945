"""Background internet probe: the server, not the browser, checks whether it can reach the internet.

A TCP connect to a configurable `host:port` every interval; the last result is kept in memory and read
by the status endpoint. No internet is a normal state for a solar park's gateway, so a failed probe
is reported (`connected: false`), never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    connected: bool
    latency_ms: float | None
    checked_at: int | None  # Unix seconds; None before the first probe finished
    target: str
    error: str | None = None


def parse_target(target: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port); ValueError with a clear message otherwise."""
    host, sep, port_text = target.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"internet probe target must be host:port, got {target!r}")
    return host, int(port_text)


async def probe_once(target: str, timeout_s: float) -> ProbeResult:
    """One TCP connect to `target`; latency is the time to an established connection."""
    host, port = parse_target(target)
    started = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or type(err).__name__)
        return ProbeResult(False, None, int(time.time()), target, reason)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True, latency_ms, int(time.time()), target)


class InternetProbe:
    """Probes `target` every `interval_s` in an asyncio task between `start()` and `stop()`."""

    def __init__(self, target: str, interval_s: float = 30.0, timeout_s: float = 3.0) -> None:
        parse_target(target)  # refuse a bad target at start-up, not at the first probe
        self.target = target
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.result = ProbeResult(False, None, None, target, "not probed yet")
        self._task: asyncio.Task[None] | None = None

    async def probe(self) -> ProbeResult:
        self.result = await probe_once(self.target, self.timeout_s)
        return self.result

    async def _run(self) -> None:
        while True:
            try:
                await self.probe()
            except Exception:  # a bug in one probe must not end the loop for the server's lifetime
                log.exception("internet probe failed unexpectedly")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="internet-probe")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
