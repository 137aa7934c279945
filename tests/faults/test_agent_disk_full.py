"""Disk full for the agent's outbox, on a real size-limited file system (a 2 MiB tmpfs mounted for the
test): the agent says DISK FULL loudly, signs nothing it cannot store, and resumes when space returns;
the server ends with every signed record exactly once in a whole chain (marker `faults`)."""

from __future__ import annotations

import errno
import logging
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Device, ServerProcess, assert_whole_chain, simulator, wait_until

pytestmark = pytest.mark.faults


@pytest.fixture
def small_filesystem() -> Iterator[Path]:
    mount_point = Path(tempfile.mkdtemp(prefix="ww-diskfull-"))
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    assert result.returncode == 0, f"cannot mount a small tmpfs for the disk-full test: {result.stderr}"
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC, err
    return filler


def test_disk_full_is_loud_and_the_agent_resumes(small_filesystem: Path, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", tmp_path).start()
    sim = simulator(start=time.time() - 7200, speed=20)
    try:
        device = Device(tmp_path, server.url, sim.url)
        installation_id = device.enroll()
        agent = device.agent(small_filesystem / "state", max_records=60, interval=0.05)
        with caplog.at_level(logging.ERROR, logger="wattwitness.agent"):
            agent.start()
            try:
                wait_until(lambda: agent.signed >= 10, 60, "10 readings signed before the disk fills")
                filler = _fill(small_filesystem)
                wait_until(lambda: "DISK FULL" in caplog.text, 60, "the agent to report DISK FULL")
                stalled = agent.signed
                time.sleep(1.0)
                assert agent.signed <= stalled + 1, "the agent kept signing records it could not store"
                filler.unlink()
                assert agent.wait(timeout=120), f"agent did not resume: signed {agent.signed}, depth {agent.depth}"
            finally:
                agent.stop()
        assert agent.signed == 60
        assert_whole_chain(server.url, installation_id, device.public_key, 60)
    finally:
        sim.stop()
        server.stop()
