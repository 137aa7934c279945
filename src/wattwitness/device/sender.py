"""Drains the outbox to the server in chain order; deletes a record only once the server acknowledged it.

Accepted outcomes (verified, gap, counter_reset, duplicate) delete the entry; rejections move it to the
dead-letter table with a loud log; `future_timestamp` and `unknown_meter` (not enrolled yet) are kept
and retried later. While the server is down the sender backs off exponentially, with jitter.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from wattwitness.protocol import Outcome

from .errors import DeviceError, ServerRejected, ServerUnreachable
from .outbox import Outbox, OutboxEntry
from .server_api import Ack, ServerApi, SignedItem

log = logging.getLogger("wattwitness.agent.sender")

ACKNOWLEDGED = frozenset({Outcome.VERIFIED, Outcome.GAP, Outcome.COUNTER_RESET, Outcome.DUPLICATE})
RETRY_LATER = frozenset({Outcome.FUTURE_TIMESTAMP, Outcome.UNKNOWN_METER})


class Backoff:
    """Exponential backoff with equal jitter: the delay is between half and all of min(max, initial * 2^n)."""

    def __init__(self, initial: float = 1.0, maximum: float = 60.0,
                 rng: Callable[[float, float], float] = random.uniform) -> None:
        self.initial, self.maximum = initial, maximum
        self.failures = 0
        self._rng = rng

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2 ** min(self.failures, 30))
        self.failures += 1
        return ceiling / 2 + self._rng(0, ceiling / 2)

    def reset(self) -> None:
        self.failures = 0


def _item(entry: OutboxEntry) -> SignedItem:
    return {"record": entry.record.hex(), "signature": entry.signature.hex()}


class Sender:
    """One pass (`send_once`) or a loop (`run`) over an outbox. The loop sleeps on `wake` when idle."""

    def __init__(self, outbox: Outbox, api: ServerApi, *, backoff: Backoff | None = None, batch_max: int = 500,
                 idle_wait: float = 1.0) -> None:
        self.outbox, self.api = outbox, api
        self.backoff = backoff or Backoff()
        self.batch_max = batch_max
        self.idle_wait = idle_wait
        self.delivered = 0
        self.dead_lettered = 0

    def send_once(self) -> float | None:
        """Sends the oldest pending records once. Returns how long to wait before the next try, None when idle."""
        entries = self.outbox.pending(self.batch_max)
        if not entries:
            return None
        depth = self.outbox.depth()
        try:
            if len(entries) == 1:
                acks = [self.api.submit_one(_item(entries[0]), depth)]
            else:
                acks = self.api.submit_batch([_item(e) for e in entries], depth)
        except ServerUnreachable as err:
            return self._failed(entries, str(err), logging.WARNING)
        except ServerRejected as err:
            if err.status_code == 413 and self.batch_max > 1:
                self.batch_max = max(1, self.batch_max // 2)
                log.warning("server says the batch is too large; sending at most %d per batch now", self.batch_max)
                return 0.0
            return self._failed(entries, str(err), logging.ERROR)
        except DeviceError as err:
            return self._failed(entries, str(err), logging.ERROR)
        return self._apply(entries, acks)

    def _failed(self, entries: list[OutboxEntry], reason: str, level: int) -> float:
        delay = self.backoff.next_delay()
        log.log(level, "sending %d record(s) failed (%s); %d pending, retrying in %.1f s",
                len(entries), reason, self.outbox.depth(), delay)
        self.outbox.note_attempt([e.id for e in entries], reason)
        return delay

    def _apply(self, entries: list[OutboxEntry], acks: list[Ack]) -> float:
        acknowledged: list[int] = []
        retry: list[tuple[OutboxEntry, Ack]] = []
        for entry, ack in zip(entries, acks, strict=True):
            if ack.outcome in ACKNOWLEDGED:
                acknowledged.append(entry.id)
            elif ack.outcome in RETRY_LATER:
                retry.append((entry, ack))
            else:
                log.error("SERVER REJECTED record (boot %d, seq %d): %s: %s; moved to the dead-letter table",
                          entry.boot, entry.seq, ack.outcome, ack.detail)
                self.outbox.move_to_dead_letter(entry, ack.outcome, ack.detail)
                self.dead_lettered += 1
        self.outbox.acknowledge(acknowledged)
        self.delivered += len(acknowledged)
        if retry:
            first = retry[0][1]
            return self._failed([e for e, _ in retry], f"{first.outcome}: {first.detail}", logging.WARNING)
        self.backoff.reset()
        return 0.0

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        while not stop.is_set():
            try:
                delay = self.send_once()
            except DeviceError as err:
                # The outbox itself failed (disk, database): nothing is lost, it stays on disk.
                log.error("sender cannot use the outbox: %s", err)
                delay = self.backoff.next_delay()
            if delay is None:
                wake.wait(self.idle_wait)
                wake.clear()
            elif delay > 0:
                stop.wait(delay)
