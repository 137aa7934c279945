"""Fault test (make test-faults): the host-built firmware is killed with SIGKILL again and again while it
signs, queues and sends; after each restart it must continue the chain from what is really on its flash:
new boot epoch, no (boot, seq) reused, no chain break, nothing the server stored left unverified."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.firmware.devices import (
    METER_MAC,
    Server,
    run_device,
    stored_readings,
    the_installation,
)
from wattwitness.protocol import parse_mac, verify_chain

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

KILLS = 5


def test_sigkill_while_signing_and_sending_loses_no_link_and_reuses_no_seq(
        host_device: Path, server: Server, meter: str, tmp_path: Path) -> None:
    state = tmp_path / "device"
    run_device(host_device, state, server.url, meter, server.enrollment_token(), readings=1)
    for kill in range(KILLS):
        device = subprocess.Popen(
            [str(host_device), "--server", server.url, "--meter", meter, "--state", str(state),
             "--interval-ms", "100", "--timeout-s", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # Different moments in the read-sign-queue-send cycle on each round.
        time.sleep(0.8 + 0.37 * kill)
        device.send_signal(signal.SIGKILL)
        out, _ = device.communicate(timeout=30)
        assert f"BOOT epoch={kill + 2} " in out, out[-2000:]
    last = run_device(host_device, state, server.url, meter, "unused", readings=2)
    assert any(line.startswith(f"BOOT epoch={KILLS + 2} ") for line in last)
    assert not any(line.startswith("CHAIN restart") for line in last)

    installation = the_installation(server)
    readings = stored_readings(server, installation["id"])
    order = [(r["boot"], r["seq"]) for r in readings]
    assert len(order) == len(set(order))
    assert order[-1] == (KILLS + 2, 2)
    for boot in {b for b, _ in order}:
        seqs = [s for b, s in order if b == boot]
        assert seqs == list(range(1, len(seqs) + 1)), (boot, seqs)
    assert all(r["status"] == "verified" for r in readings), [(r["boot"], r["seq"], r["status"]) for r in readings]
    report = verify_chain([(bytes.fromhex(r["record"]), bytes.fromhex(r["signature"])) for r in readings],
                          bytes.fromhex(installation["public_key"]), parse_mac(METER_MAC))
    assert (report.invalid, report.gaps, report.chain_breaks) == (0, 0, 0), report.summary()
