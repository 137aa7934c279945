"""GET /api/v1/status/ through HTTP on SQLite and PostgreSQL: probe, liveness, chain, security events."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.ports import free_port
from tests.server.test_energy_history import SignedHistory, enroll, post_all
from wattwitness.server.app import create_app
from wattwitness.server.db.models import Anchor
from wattwitness.server.settings import Settings
from wattwitness.server.status.schemas import Liveness
from wattwitness.server.status.service import liveness


@pytest.fixture
def tcp_listener() -> Iterator[str]:
    """A local TCP server that accepts connections: the 'internet' the probe should reach."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                connection.close()
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def closed_target() -> str:
    return f"127.0.0.1:{free_port()}"


def probing_client(database_url: str, tmp_path: Path, target: str) -> TestClient:
    settings = Settings(database_url=database_url, data_dir=tmp_path, admin_token=ADMIN_TOKEN,
                        background_tasks=True, internet_probe_target=target, internet_probe_interval_s=0.05,
                        internet_probe_timeout_s=1)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def wait_for_probe(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while True:
        body: dict[str, Any] = client.get("/api/v1/status/").json()
        if body["internet"]["checked_at"] is not None or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_internet_reachable_and_everything_live_is_ok(database_url: str, tmp_path: Path, tcp_listener: str) -> None:
    with probing_client(database_url, tmp_path, tcp_listener) as client:
        history = SignedHistory()
        installation_id = enroll(client, history, "Europe/Berlin", name="Roof")
        now = int(time.time())
        history.steady(now - 60, now - 5, seed=1, step=10)
        post_all(client, history.items)
        body = wait_for_probe(client)
    assert body["internet"]["connected"] is True and body["internet"]["target"] == tcp_listener
    assert body["internet"]["latency_ms"] is not None and body["internet"]["latency_ms"] >= 0
    assert body["database"]["ok"] is True
    [installation] = body["installations"]
    assert installation["id"] == installation_id and installation["name"] == "Roof"
    assert installation["liveness"] == "live" and 0 <= installation["last_reading_age_s"] <= 30
    assert body["chain"]["status"] == "not configured" and body["chain"]["configured"] is False
    assert body["security_events_24h"] == 0
    assert body["overall"] == "ok" and body["reasons"] == []


def test_no_internet_stale_and_offline_devices_and_security_events_warn(
        database_url: str, tmp_path: Path) -> None:
    target = closed_target()
    with probing_client(database_url, tmp_path, target) as client:
        stale = SignedHistory()
        enroll(client, stale, name="Stale")
        now = int(time.time())
        stale.add(now - 120, 10)
        post_all(client, stale.items)
        silent = SignedHistory(key=ec.generate_private_key(ec.SECP256R1()), meter=bytes.fromhex("0A0B0C0D0E0F"))
        enroll(client, silent, name="Silent")
        bad = dict(stale.items[0])
        bad["signature"] = "11" * 64
        assert client.post("/api/v1/readings/", json=bad).json()["error"] == "invalid_signature"
        body = wait_for_probe(client)
    assert body["internet"]["connected"] is False and body["internet"]["latency_ms"] is None
    assert body["internet"]["checked_at"] is not None and body["internet"]["target"] == target
    by_name = {i["name"]: i for i in body["installations"]}
    assert by_name["Stale"]["liveness"] == "stale" and by_name["Stale"]["last_reading_age_s"] >= 120
    assert by_name["Silent"]["liveness"] == "offline" and by_name["Silent"]["last_reading_age_s"] is None
    assert body["security_events_24h"] == 1
    assert body["overall"] == "warning" and len(body["reasons"]) == 4


def test_chain_shows_the_latest_anchor_of_each_installation(client: TestClient, db: Any) -> None:
    history = SignedHistory()
    installation_id = enroll(client, history)
    with db.scope() as session:
        for index in (0, 1):
            session.add(Anchor(installation_id=installation_id, chain_id=31337, ledger_address=bytes(range(20)),
                               anchor_index=index, head_boot=1, head_seq=10 * (index + 1), head_hash=bytes(32),
                               merkle_root=bytes(32), count=10, energy_mwh=5_000 * index, tx_hash=b"\xab" * 32,
                               block_number=100 + index))
    body = client.get("/api/v1/status/").json()
    assert body["chain"]["configured"] is True
    [anchor] = body["chain"]["anchors"]
    assert anchor["installation_id"] == installation_id and anchor["anchor_index"] == 1
    assert anchor["head"] == {"boot": 1, "seq": 20} and anchor["block_number"] == 101
    assert anchor["tx_hash"] == "0x" + "ab" * 32 and anchor["ledger_address"] == "0x" + bytes(range(20)).hex()
    # Without the background task (the fixture's app) the probe says so instead of guessing.
    assert body["internet"]["connected"] is False and body["internet"]["checked_at"] is None


def test_a_database_that_does_not_answer_is_overall_error_not_a_500(tmp_path: Path) -> None:
    port = closed_target().rpartition(":")[2]
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{port}/nowhere", data_dir=tmp_path,
                        admin_token=ADMIN_TOKEN, background_tasks=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/status/")
    assert response.status_code == 200
    body = response.json()
    assert body["overall"] == "error" and body["database"]["ok"] is False and body["database"]["error"]


def test_a_bad_probe_target_is_reported_not_fatal(database_url: str, tmp_path: Path) -> None:
    with probing_client(database_url, tmp_path, "no-port-here") as client:
        body = client.get("/api/v1/status/").json()
        assert client.get("/health").status_code == 200
    assert body["internet"]["connected"] is False and "host:port" in body["internet"]["error"]
    assert body["overall"] == "warning"


def test_liveness_thresholds() -> None:
    settings = Settings(admin_token=ADMIN_TOKEN, reading_interval_s=10, live_intervals=3, offline_after_s=600)
    assert [liveness(age, settings) for age in (0, 30, 31, 600, 601, None)] == [
        Liveness.LIVE, Liveness.LIVE, Liveness.STALE, Liveness.STALE, Liveness.OFFLINE, Liveness.OFFLINE]
