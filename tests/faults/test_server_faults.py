"""Fault tests against a real `wattwitness serve` process and a real agent (marker `faults`).

Each run ends with `assert_whole_chain`: the server's export holds every record the agent signed
exactly once, and `verify_chain` finds every signature valid and every link whole.
Agent SIGKILL at random instants is tests/device/test_agent_faults.py (not repeated here).
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import Device, ServerProcess, assert_whole_chain, simulator, wait_until

pytestmark = pytest.mark.faults


@pytest.fixture
def state_root() -> Iterator[Path]:
    """Agent state on tmpfs when there is one: these tests break the server, not the agent's disk (the
    agent's own durability under SIGKILL is tests/device), and a loaded shared disk makes fsync slow."""
    root = Path(tempfile.mkdtemp(prefix="ww-faults-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def sqlite_server(tmp_path: Path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", tmp_path)
    yield server.start()
    server.stop()


def test_server_sigkilled_at_random_instants_loses_nothing(sqlite_server: ServerProcess, tmp_path: Path,
        state_root: Path) -> None:
    """Five SIGKILLs of the server while the agent sends singles and batches; restarted each time."""
    sim = simulator(start=time.time() - 7200, speed=20)
    try:
        device = Device(tmp_path, sqlite_server.url, sim.url)
        installation_id = device.enroll()
        # batch_max 25: while the server is down a backlog builds and drains in batches; in between,
        # the agent keeps up with single POSTs.
        agent = device.agent(state_root / "state", max_records=200, interval=0.03, batch_max=25)
        agent.start()
        rng = random.Random(7)
        try:
            for _ in range(5):
                time.sleep(rng.uniform(0.3, 1.5))
                sqlite_server.kill9()
                time.sleep(rng.uniform(0.0, 1.0))
                sqlite_server.start()
            assert agent.wait(timeout=180), f"agent did not deliver: depth {agent.depth}"
        finally:
            agent.stop()
        assert sqlite_server.kills == 5
        assert_whole_chain(sqlite_server.url, installation_id, device.public_key, 200)
    finally:
        sim.stop()


def test_day_long_outage_backlog_drains_in_order(sqlite_server: ServerProcess, tmp_path: Path,
        state_root: Path) -> None:
    """The server is down while the agent signs a day of readings (1 per simulated 10 minutes), then back."""
    day = 144
    # 0.02 s real per 600 s simulated; started 12 days back so that even a slow, loaded machine never
    # runs the meter's clock into the future (those records would wait as future_timestamp).
    sim = simulator(start=time.time() - 12 * 86400, speed=30_000)
    try:
        device = Device(tmp_path, sqlite_server.url, sim.url)
        installation_id = device.enroll()
        agent = device.agent(state_root / "state", max_records=day, interval=0.02, backoff_max=1.0)
        agent.start()
        try:
            sqlite_server.kill9()
            wait_until(lambda: agent.depth >= day, 240, "a day of readings in the outbox", step=0.5)
            sqlite_server.start()
            assert agent.wait(timeout=180), f"backlog did not drain: depth {agent.depth}"
        finally:
            agent.stop()
        report = assert_whole_chain(sqlite_server.url, installation_id, device.public_key, day)
        assert report.verified == day
        # In order: arrival order (database id) is chain order, and no reading was ever stored as a gap.
        readings, cursor = [], None
        while True:
            page = httpx.get(f"{sqlite_server.url}/api/v1/readings/{installation_id}",
                             params={"limit": 1000, **({"cursor": cursor} if cursor else {})}, timeout=30).json()
            readings += page["readings"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        by_chain = sorted(readings, key=lambda r: (r["boot"], r["seq"]))
        assert [r["id"] for r in by_chain] == sorted(r["id"] for r in readings)
        assert {r["status"] for r in readings} == {"verified"}
        span = by_chain[-1]["timestamp"] - by_chain[0]["timestamp"]
        assert span >= 85_000, f"the backlog covers {span} s, not a day"
    finally:
        sim.stop()


def test_wiped_state_resumes_above_the_servers_boot(sqlite_server: ServerProcess, tmp_path: Path,
        state_root: Path) -> None:
    """The agent's state directory is lost (key kept): it asks the server and never re-signs a (boot, seq)."""
    sim = simulator(start=time.time() - 7200, speed=20)
    try:
        device = Device(tmp_path, sqlite_server.url, sim.url)
        installation_id = device.enroll()
        state = state_root / "state"
        first = device.agent(state, max_records=30)
        first.start()
        try:
            assert first.wait(timeout=60)
        finally:
            first.stop()
        first_boot = first.boot
        assert first_boot is not None
        shutil.rmtree(state)
        second = device.agent(state, max_records=30)
        second.start()
        try:
            assert second.wait(timeout=60)
        finally:
            second.stop()
        assert second.boot is not None and second.boot > first_boot
        installation = httpx.get(f"{sqlite_server.url}/api/v1/installations/{installation_id}").json()
        assert installation["last_boot"] == second.boot
        assert_whole_chain(sqlite_server.url, installation_id, device.public_key, 60)
    finally:
        sim.stop()
