"""PostgreSQL restarted while ingest runs: the API answers 503 `database_unavailable` (never 500) while it
is down, recovers by itself, and nothing is lost (marker `faults`).

A PRIVATE PostgreSQL instance (initdb in a temporary directory, run as the `postgres` user on a free
port) is started, stopped and started again; the machine's shared PostgreSQL on 5432 is never touched.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import Device, ServerProcess, assert_whole_chain, free_port, simulator, wait_until

pytestmark = pytest.mark.faults

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), Path("/usr/lib/postgresql/missing/bin"))


class PrivatePostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: the `postgres` user must be able to reach the directory.
        self.root = Path(tempfile.mkdtemp(prefix="ww-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/wattwitness"
        shutil.chown(self.root, "postgres", "postgres")

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["su", "postgres", "-c", " ".join(command)], check=True, capture_output=True, timeout=120)

    def init(self) -> PrivatePostgres:
        assert (PG_BIN / "initdb").exists(), f"PostgreSQL server binaries not found under {PG_BIN}"
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._as_postgres(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "wattwitness")
        return self

    def start(self) -> None:
        options = f"'-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off'"
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.root / "pg.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    postgres = PrivatePostgres()
    try:
        yield postgres.init()
    finally:
        postgres.destroy()


def test_postgres_restart_gives_503_then_recovers_with_nothing_lost(private_postgres: PrivatePostgres,
                                                                    tmp_path: Path) -> None:
    server = ServerProcess(private_postgres.url, tmp_path).start()
    sim = simulator(start=time.time() - 7200, speed=20)
    state = Path(tempfile.mkdtemp(prefix="ww-faults-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        device = Device(tmp_path, server.url, sim.url)
        installation_id = device.enroll()
        agent = device.agent(state / "state", max_records=150, interval=0.05)
        agent.start()
        try:
            wait_until(lambda: agent.delivered >= 20, 60, "20 readings delivered before the restart")
            private_postgres.stop("immediate")
            statuses: dict[int, int] = {}
            errors: set[str] = set()
            down_until = time.monotonic() + 4
            while time.monotonic() < down_until:
                for response in (httpx.get(server.url + "/health", timeout=10),
                                 httpx.get(f"{server.url}/api/v1/readings/{installation_id}", timeout=10),
                                 httpx.post(server.url + "/api/v1/readings/batch", timeout=10,
                                            json={"readings": [{"record": "00" * 74, "signature": "00" * 64}]})):
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code >= 500:
                        errors.add(response.json()["error"])
                time.sleep(0.2)
            assert 500 not in statuses, statuses
            assert statuses.get(503, 0) > 0, statuses
            assert errors == {"database_unavailable"}, errors
            private_postgres.start()
            # Recovers by itself: no server restart.
            wait_until(lambda: httpx.get(server.url + "/health", timeout=5).status_code == 200, 60,
                       "the server to see the database again")
            assert agent.wait(timeout=120), f"agent did not deliver: depth {agent.depth}"
        finally:
            agent.stop()
        assert_whole_chain(server.url, installation_id, device.public_key, 150)
    finally:
        sim.stop()
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
