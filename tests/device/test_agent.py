"""The agent end to end on localhost: a real simulator, a real stub server, real threads, real SQLite."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

import pytest

from tests.ports import free_port
from wattwitness.device.agent import Agent, AgentConfig
from wattwitness.device.errors import DiskFullError, StateMismatchError
from wattwitness.device.outbox import Outbox
from wattwitness.device.signer import SoftwareSigner, generate_key_file
from wattwitness.device.simulator import ShellySimulator
from wattwitness.protocol import ZERO_HASH, Reading, record_hash, verify_chain

from .conftest import SIM_MAC
from .stub_server import StubServer


def make_agent(key_file: Path, state: Path, meter_url: str, server_url: str, **overrides) -> Agent:
    config = AgentConfig(server_url=server_url, meter_url=meter_url, state_dir=state, interval=0.05,
                         backoff_initial=0.05, backoff_max=0.3, meter_timeout=2, server_timeout=2)
    for name, value in overrides.items():
        setattr(config, name, value)
    return Agent(config, SoftwareSigner.from_key_file(key_file, state))


def check_delivered(stub: StubServer, public_key: bytes, expected: list[tuple[int, int]]) -> None:
    """Every expected (boot, seq) stored exactly once, in chain order, and the whole chain links."""
    assert stub.state.stored == expected
    report = verify_chain(stub.state.items(), public_key)
    assert report.ok and report.gaps == 0 and report.verified == len(expected), report.summary()
    records = [stub.state.store.by_order[order].record for order in expected]
    for before, after in itertools.pairwise(records):
        assert Reading.decode(after).prev == record_hash(before)


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_server_down_then_up_delivers_every_record_once_in_order(key_file, public_key, simulator, stub, tmp_path):
    # The state is empty, so the agent first asks the server for its last boot: that query is answered,
    # but every reading POST fails with 503 ...
    stub.state.fail_status = 503
    agent = make_agent(key_file, tmp_path / "state", simulator.url, stub.url, max_records=40)
    agent.start()
    try:
        wait_for(lambda: agent.signed >= 10)
        # ... then the server is down (nothing listens on its port) ...
        stub.stop()
        wait_for(lambda: agent.signed >= 20)
        assert agent.delivered == 0 and stub.state.stored == []
        # ... then up, but it loses its first two answers after storing: resent, acknowledged as duplicates.
        stub.state.lose_answers = 2
        stub.state.fail_status = None
        stub.start()
        assert agent.wait(timeout=60)
    finally:
        agent.stop()
    check_delivered(stub, public_key, [(1, seq) for seq in range(1, 41)])
    first = stub.state.store.by_order[(1, 1)].reading
    assert first.prev == ZERO_HASH and first.energy_mwh >= 1_000_000
    assert "duplicate" in stub.state.outcomes
    assert max(stub.state.batch_sizes) > 1, "a backlog goes out as a batch"
    assert max(stub.state.depth_headers) > 1
    report = verify_chain(stub.state.items(), public_key)
    assert report.ok and report.verified == 40 and report.gaps == 0, report.summary()
    assert Outbox(tmp_path / "state").depth() == 0


def test_outbox_survives_restart_and_chain_links_across_boots(key_file, public_key, simulator, stub, tmp_path):
    state = tmp_path / "state"
    stub.state.fail_status = 503
    first = make_agent(key_file, state, simulator.url, stub.url, max_records=5)
    first.start()
    wait_for(lambda: first.signed == 5)
    first.stop()
    assert stub.state.stored == []
    left = Outbox(state)
    assert [(e.boot, e.seq) for e in left.pending()] == [(1, s) for s in range(1, 6)]
    left.close()

    stub.state.fail_status = None
    second = make_agent(key_file, state, simulator.url, stub.url, max_records=3)
    second.start()
    try:
        assert second.boot == 2
        assert second.wait(timeout=20)
    finally:
        second.stop()
    check_delivered(stub, public_key, [(1, s) for s in range(1, 6)] + [(2, s) for s in range(1, 4)])
    assert set(stub.state.outcomes) == {"verified"}


def test_empty_state_starts_above_the_servers_last_boot(key_file, public_key, simulator, stub, tmp_path):
    for _ in range(3):
        agent = make_agent(key_file, tmp_path / "old-state", simulator.url, stub.url, max_records=2)
        agent.start()
        assert agent.wait(timeout=20)
        agent.stop()
    assert stub.state.last_boot() == 3
    fresh = make_agent(key_file, tmp_path / "new-state", simulator.url, stub.url, max_records=2)
    fresh.start()
    try:
        assert fresh.boot == 4
        assert fresh.wait(timeout=20)
    finally:
        fresh.stop()
    # The lost chain head means a chain restart (zero prev), never a reused (boot, seq).
    assert stub.state.store.by_order[(4, 1)].reading.prev == ZERO_HASH
    assert stub.state.stored[-2:] == [(4, 1), (4, 2)]
    assert "equivocation" not in stub.state.outcomes


def test_meter_that_does_not_answer_gets_no_invented_record(key_file, stub, tmp_path, caplog):
    port = free_port()
    agent = make_agent(key_file, tmp_path / "state", f"http://127.0.0.1:{port}", stub.url, max_records=3)
    with caplog.at_level(logging.WARNING, logger="wattwitness.agent"):
        agent.start()
        try:
            wait_for(lambda: agent.meter_failures >= 5)
            assert agent.signed == 0 and stub.state.stored == []
            meter = ShellySimulator(gen=1, port=port, mac=SIM_MAC).start()
            try:
                assert agent.wait(timeout=20)
            finally:
                meter.stop()
        finally:
            agent.stop()
    assert stub.state.stored == [(1, 1), (1, 2), (1, 3)]
    assert "gave no reading" in caplog.text


def test_rejected_records_go_to_the_dead_letter_table(key_file, simulator, tmp_path, caplog):
    wrong_meter_stub = StubServer(SoftwareSigner.from_key_file(key_file).public_key, bytes(6)).start()
    agent = make_agent(key_file, tmp_path / "state", simulator.url, wrong_meter_stub.url, max_records=3)
    try:
        with caplog.at_level(logging.ERROR):
            agent.start()
            assert agent.wait(timeout=20)
            agent.stop()
    finally:
        wrong_meter_stub.stop()
    outbox = Outbox(tmp_path / "state")
    dead = outbox.dead_letters()
    assert [(d.boot, d.seq, d.outcome) for d in dead] == [(1, s, "wrong_meter") for s in range(1, 4)]
    assert outbox.depth() == 0
    assert "SERVER REJECTED" in caplog.text


def test_future_timestamp_is_retried_not_dropped(key_file, public_key, simulator, stub, tmp_path):
    stub.state.clock_offset = -7200  # the server's clock is two hours behind
    agent = make_agent(key_file, tmp_path / "state", simulator.url, stub.url, max_records=3)
    agent.start()
    try:
        wait_for(lambda: "future_timestamp" in stub.state.outcomes)
        assert stub.state.stored == []
        stub.state.clock_offset = 0
        assert agent.wait(timeout=20)
    finally:
        agent.stop()
    check_delivered(stub, public_key, [(1, 1), (1, 2), (1, 3)])


def test_state_of_another_key_is_refused(key_file, simulator, stub, tmp_path):
    agent = make_agent(key_file, tmp_path / "state", simulator.url, stub.url, max_records=1)
    agent.start()
    assert agent.wait(timeout=20)
    agent.stop()
    other_key = tmp_path / "other.pem"
    generate_key_file(other_key)
    with pytest.raises(StateMismatchError, match="belongs to key"):
        make_agent(other_key, tmp_path / "state", simulator.url, stub.url).start()


def test_disk_full_is_logged_loudly_and_nothing_is_recorded(key_file, simulator, stub, tmp_path, caplog,
                                                            monkeypatch):
    agent = make_agent(key_file, tmp_path / "state", simulator.url, stub.url, max_records=1, interval=3600)
    agent.start()
    try:
        assert agent.wait(timeout=20)

        def full(*args, **kwargs):
            raise DiskFullError("disk full while trying to store a signed record")

        assert agent._outbox is not None
        monkeypatch.setattr(agent._outbox, "append_signed", full)
        with caplog.at_level(logging.ERROR, logger="wattwitness.agent"):
            assert agent.sample_once() is False
        assert "DISK FULL" in caplog.text and agent.signed == 1
    finally:
        agent.stop()
