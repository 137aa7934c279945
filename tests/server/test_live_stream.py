"""The live stream against real `wattwitness serve` processes on SQLite and PostgreSQL.

Two servers share one database, as two worker processes would: a reading stored by either one must
reach a stream opened on the first within 2 s (the bus wakes the stream of the storing process; the
stream's poll finds readings another process stored).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN
from tests.ports import free_port
from tests.server.test_energy_history import ADMIN, SignedHistory

LIMIT_S = 2.0


class Server:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "WATTWITNESS_DATABASE_URL": database_url, "WATTWITNESS_ADMIN_TOKEN": ADMIN_TOKEN,
               "WATTWITNESS_DATA_DIR": str(data_dir), "WATTWITNESS_BACKGROUND_TASKS": "false"}
        wattwitness = Path(sys.executable).with_name("wattwitness")
        self.process = subprocess.Popen([str(wattwitness), "serve", "--port", str(self.port)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    # The fixture's database is already migrated, so both servers' start-up migrations are no-ops and
    # the two can start side by side.
    first = Server(database_url, tmp_path)
    second = Server(database_url, tmp_path)
    try:
        first.wait_ready()
        second.wait_ready()
        yield first, second
    finally:
        second.stop()
        first.stop()


class StreamReader:
    """Reads an SSE stream in a thread; each event is (arrival time, event name, id, data)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[tuple[float, str, int, dict[str, Any]]] = queue.Queue()
        self.connected = threading.Event()
        self.content_type = ""
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._thread.start()
        assert self.connected.wait(10), "the stream did not greet"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except httpx.HTTPError:
            if not self._stop.is_set():  # closing the connection from close() ends the read loop
                raise

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client, \
                client.stream("GET", url, headers=headers) as response:
            # The raw socket, so close() can wake this thread out of a blocking read (shutdown does).
            self._socket = response.extensions["network_stream"].get_extra_info("socket")
            self.content_type = response.headers.get("content-type", "")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(": connected"):
                    self.connected.set()
                elif line == "":
                    if fields.get("event"):
                        self.events.put((time.monotonic(), fields["event"], int(fields["id"]),
                                         json.loads(fields["data"])))
                    fields = {}
                elif not line.startswith(":") and ":" in line:
                    name, _, value = line.partition(":")
                    fields[name] = value.lstrip(" ")

    def next(self, timeout: float = LIMIT_S) -> tuple[float, str, int, dict[str, Any]]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        assert not self._thread.is_alive()


def post(server: Server, item: dict[str, str]) -> tuple[float, dict[str, Any]]:
    response = httpx.post(server.url + "/api/v1/readings/", json=item, timeout=10)
    assert response.status_code == 201, response.text
    return time.monotonic(), response.json()


def test_every_reading_reaches_the_stream_within_2_s_whichever_process_stored_it(
        servers: tuple[Server, Server]) -> None:
    first, second = servers
    unknown = httpx.get(first.url + "/api/v1/readings/777/stream", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    history = SignedHistory()
    response = httpx.post(first.url + "/api/v1/installations/", json=history.enrollment_body("UTC"),
                          headers=ADMIN, timeout=10)
    assert response.status_code == 201, response.text
    installation_id = response.json()["id"]
    now = int(time.time())
    for i in range(6):
        history.add(now - 60 + 10 * i, 1_000 + i)

    stream_url = f"{first.url}/api/v1/readings/{installation_id}/stream"
    reader = StreamReader(stream_url)
    try:
        assert reader.content_type.startswith("text/event-stream")
        # Stored by the stream's own process: the bus wakes it.
        sent_at, stored = post(first, history.items[0])
        first_id = stored["id"]
        arrived_at, name, event_id, data = reader.next()
        assert name == "reading" and event_id == stored["id"] and arrived_at - sent_at <= LIMIT_S
        listed = httpx.get(f"{first.url}/api/v1/readings/{installation_id}", timeout=10).json()["readings"][0]
        assert data == listed  # the same shape as the readings list

        # Stored by the other process: only the database knows; the poll finds it.
        for item in history.items[1:4]:
            sent_at, stored = post(second, item)
            arrived_at, _, event_id, data = reader.next()
            assert event_id == stored["id"] and data["seq"] == stored["seq"] and arrived_at - sent_at <= LIMIT_S

        # A batch on the other process: every reading, in order.
        sent_at = time.monotonic()
        batch = httpx.post(second.url + "/api/v1/readings/batch", json={"readings": history.items[4:]}, timeout=10)
        assert batch.status_code == 200, batch.text
        received = [reader.next() for _ in range(2)]
        assert [event[3]["seq"] for event in received] == [5, 6]
        assert all(event[0] - sent_at <= LIMIT_S for event in received)
    finally:
        reader.close()

    # A client that reconnects with Last-Event-ID gets what it missed, at once.
    resumed = StreamReader(stream_url, headers={"Last-Event-ID": str(first_id)})
    try:
        assert [resumed.next()[3]["seq"] for _ in range(5)] == [2, 3, 4, 5, 6]
    finally:
        resumed.close()


def test_the_poll_walks_past_other_installations_readings(client: Any, db: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One poll finds this installation's readings among many of another, in small primary-key pages."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.server.test_energy_history import enroll, post_all
    from wattwitness.server.live import router as live_router

    mine, other = SignedHistory(), SignedHistory(key=ec.generate_private_key(ec.SECP256R1()),
                                                 meter=bytes.fromhex("0A0B0C0D0E0F"))
    mine_id, other_id = enroll(client, mine), enroll(client, other)
    now = int(time.time())
    for i in range(12):
        other.add(now - 200 + i, 10)
    mine.add(now - 100, 10)
    post_all(client, other.items[:6])
    post_all(client, mine.items)
    post_all(client, other.items[6:])
    monkeypatch.setattr(live_router, "SCAN_LIMIT", 4)

    found, scanned_up_to = live_router._fetch_after(db, mine_id, 0)
    assert [payload["installation_id"] for _, payload in found] == [mine_id]
    assert found[0][1]["seq"] == 1 and found[0][0] == 7
    assert scanned_up_to == 13  # every row looked at, in pages of 4
    found_other, _ = live_router._fetch_after(db, other_id, 7)
    assert [payload["seq"] for _, payload in found_other] == list(range(7, 13))
