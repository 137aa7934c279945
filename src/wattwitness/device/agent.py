"""The signing agent: every interval, read the meter, sign the next WW2 record, store it, and send it.

Two threads share nothing but the state directory: the sampler (meter → sign → outbox, committed before
any send) and the sender (outbox → server). Start-up fixes the boot epoch before anything is signed:
the signer advances it durably, above the stored head and, when the state directory is empty, above the
last boot the server holds for this key. See docs/device.md for the crash-safety argument.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from wattwitness.protocol import ProtocolError, Reading, key_id

from .errors import DeviceError, DiskFullError, MeterError, ServerError, StateMismatchError
from .outbox import ChainHead, Outbox
from .sender import Backoff, Sender
from .server_api import ServerApi
from .shelly import MeterClient, MeterSample, create_meter
from .signer import Signer

log = logging.getLogger("wattwitness.agent")


@dataclass
class AgentConfig:
    server_url: str
    meter_url: str
    state_dir: Path
    interval: float = 10.0
    gen: int = 1
    channel: int = 0
    meter_username: str | None = None
    meter_password: str | None = None
    meter_timeout: float = 5.0
    server_timeout: float = 10.0
    max_records: int | None = None
    batch_max: int = 500
    backoff_initial: float = 1.0
    backoff_max: float = 60.0


class Agent:
    """`start()` fixes the boot and starts both threads; `stop()` ends them; `wait()` for tests and --max-records."""

    def __init__(self, config: AgentConfig, signer: Signer, *, meter: MeterClient | None = None,
                 api: ServerApi | None = None) -> None:
        self.config = config
        self.signer = signer
        self.key_id = key_id(signer.public_key)
        self.meter = meter or create_meter(config.meter_url, gen=config.gen, channel=config.channel,
                                           username=config.meter_username, password=config.meter_password,
                                           timeout=config.meter_timeout)
        self.api = api or ServerApi(config.server_url, timeout=config.server_timeout)
        self.boot: int | None = None
        self.signed = 0
        self.meter_failures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._outbox: Outbox | None = None
        self._sender: Sender | None = None
        self._sampler_done = threading.Event()
        # The sampler's connection is also read by `depth` from the caller's thread: never both at once.
        self._outbox_lock = threading.Lock()

    # ---- start-up -----------------------------------------------------------------------------------

    def start(self) -> None:
        self._outbox = Outbox(self.config.state_dir)
        head = self._outbox.head()
        if head is None:
            minimum = self._server_last_boot() + 1
        elif head.key_id != self.key_id:
            # start_boot refuses too; saying it here stops before the boot counter moves.
            raise StateMismatchError(f"state directory {self.config.state_dir} belongs to key {head.key_id}, "
                                     f"not to {self.key_id}")
        else:
            minimum = head.boot + 1
        if self._stop.is_set():
            return
        # The signer persists the new boot before returning it: nothing of this boot is signed before that.
        self.boot = self.signer.next_boot_epoch(minimum)
        self._outbox.start_boot(self.key_id, self.boot)
        log.info("agent for key %s starts boot %d (chain head %s)", self.key_id, self.boot,
                 "empty" if head is None else f"boot {head.boot} seq {head.seq}")
        self._log_dead_letters()
        self._launch()

    def _server_last_boot(self) -> int:
        """Empty state but an existing key: the server may hold boots of this key that we no longer know of.
        Signing before knowing them could reuse a (boot, seq), so wait for the server, however long."""
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
        while not self._stop.is_set():
            try:
                last = self.api.last_boot(self.key_id)
                log.info("state directory is empty; server holds boot %d for key %s", last, self.key_id)
                return last
            except ServerError as err:
                delay = backoff.next_delay()
                log.warning("state directory is empty and the server cannot tell the last boot of key %s (%s); "
                            "retrying in %.1f s", self.key_id, err, delay)
                self._stop.wait(delay)
        return 0

    def _log_dead_letters(self) -> None:
        assert self._outbox is not None
        dead = self._outbox.dead_letters()
        if dead:
            log.error("%d record(s) sit in the dead-letter table of %s (rejected by the server); "
                      "first: boot %d seq %d %s", len(dead), self._outbox.path, dead[0].boot, dead[0].seq,
                      dead[0].outcome)

    def _launch(self) -> None:
        sender_outbox = Outbox(self.config.state_dir)
        self._sender = Sender(sender_outbox, self.api, batch_max=self.config.batch_max,
                              backoff=Backoff(self.config.backoff_initial, self.config.backoff_max))
        self._threads = [threading.Thread(target=self._run_sampler, name="agent-sampler", daemon=True),
                         threading.Thread(target=self._run_sender, name="agent-sender", daemon=True)]
        for thread in self._threads:
            thread.start()

    # ---- the two loops ------------------------------------------------------------------------------

    def _sign_next(self, head: ChainHead, sample: MeterSample) -> tuple[bytes, bytes]:
        reading = Reading(meter=sample.mac, boot=head.boot, seq=head.seq + 1, ts=sample.ts,
                          power_mw=sample.power_mw, energy_mwh=sample.energy_mwh, prev=head.hash)
        record = reading.encode()
        return record, self.signer.sign(record)

    def sample_once(self) -> bool:
        """One interval's work. True when a record was signed and stored."""
        assert self._outbox is not None
        try:
            sample = self.meter.read()
        except MeterError as err:
            self.meter_failures += 1
            log.warning("meter %s gave no reading (%s); no record this interval, retrying",
                        self.config.meter_url, err)
            return False
        try:
            with self._outbox_lock:
                entry = self._outbox.append_signed(lambda head: self._sign_next(head, sample))
        except DiskFullError as err:
            log.error("DISK FULL: reading at %d NOT recorded: %s; retrying every interval", sample.ts, err)
            return False
        except (DeviceError, ProtocolError) as err:
            log.error("reading at %d NOT recorded: %s", sample.ts, err)
            return False
        self.signed += 1
        self._wake.set()
        log.debug("signed boot %d seq %d: %d mW, %d mWh", entry.boot, entry.seq, sample.power_mw, sample.energy_mwh)
        return True

    def _run_sampler(self) -> None:
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                self.sample_once()
                if self.config.max_records is not None and self.signed >= self.config.max_records:
                    break
                next_at += self.config.interval
                now = time.monotonic()
                if next_at < now:
                    # Fell behind (slow meter, suspended machine): skip the missed instants, never catch up.
                    next_at = now
                self._stop.wait(next_at - now)
        except Exception:
            log.exception("sampler stopped by an unexpected error")
        finally:
            self._sampler_done.set()

    def _run_sender(self) -> None:
        assert self._sender is not None
        try:
            self._sender.run(self._stop, self._wake)
        except Exception:
            log.exception("sender stopped by an unexpected error")

    # ---- control ------------------------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Records signed but not yet acknowledged by the server."""
        with self._outbox_lock:
            return self._outbox.depth() if self._outbox else 0

    @property
    def delivered(self) -> int:
        return self._sender.delivered if self._sender else 0

    def wait(self, timeout: float | None = None) -> bool:
        """Until the sampler has finished (max_records) and the outbox is empty. False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while deadline is None or time.monotonic() < deadline:
            if self._sampler_done.is_set() and self.depth == 0:
                return True
            if self._stop.wait(0.05):
                return False
        return False

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        if self._sender is not None:
            self._sender.outbox.close()
        with self._outbox_lock:
            if self._outbox is not None:
                self._outbox.close()
                self._outbox = None
        self.meter.shutdown()
        self.api.close()
        self.signer.close()

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
