"""End to end: the firmware's own device loop, built for the host (`firmware/esp32/test/build/host_device`,
OpenSSL standing in for the ATECC608), reads the Shelly simulator (`wattwitness simulate-meter`) and
enrolls with and delivers signed WW2 records to the real `wattwitness serve`, which stores them as verified.
A second run of the same device state is a reboot: a new boot epoch whose first record links to the last
one of the previous boot. A server outage in the middle loses nothing: the ring buffer holds the records.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.firmware.devices import (
    METER_MAC,
    Server,
    run_device,
    simulated_meter,
    stop,
    stored_readings,
    the_installation,
)
from wattwitness.protocol import Reading, parse_mac, verify_chain

pytestmark = pytest.mark.e2e


def test_host_built_firmware_enrolls_and_its_records_are_stored_verified_across_a_reboot(
        host_device: Path, server: Server, meter: str, tmp_path: Path) -> None:
    state = tmp_path / "device"
    token = server.enrollment_token()

    first = run_device(host_device, state, server.url, meter, token, readings=4)
    boot_line = next(line for line in first if line.startswith("BOOT "))
    assert boot_line.startswith("BOOT epoch=1 key=") and "head=none" in boot_line
    assert any(line.startswith("CHAIN restart") for line in first)
    assert any(line.startswith("ENROLL ok status=201") for line in first), first
    key_id = re.search(r"key=([0-9a-f]{16})", boot_line).group(1)

    installation = the_installation(server)
    assert installation["key_id"] == key_id
    assert installation["shelly_mac"].replace(":", "").upper() == METER_MAC
    public_key = bytes.fromhex(installation["public_key"])

    # Reboot: same flash and secure element; the token is spent, the device remembers it enrolled.
    second = run_device(host_device, state, server.url, meter, "spent-token", readings=3)
    assert any(line.startswith("BOOT epoch=2 key=" + key_id) for line in second), second
    assert not any(line.startswith(("CHAIN restart", "ENROLL")) for line in second), second

    readings = stored_readings(server, installation["id"])
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (2, 3)]
    assert all(r["status"] == "verified" and r["is_verified"] for r in readings), readings
    items = [(bytes.fromhex(r["record"]), bytes.fromhex(r["signature"])) for r in readings]
    report = verify_chain(items, public_key, parse_mac(METER_MAC))
    assert (report.verified, report.invalid, report.gaps, report.chain_breaks) == (7, 0, 0, 0), report.summary()
    decoded = [Reading.decode(record) for record, _ in items]
    # Energy is the meter's Wh counter in mWh (the simulator started at 21700 Wh), never x1000 again.
    assert all(21_700_000 <= reading.energy_mwh < 21_800_000 for reading in decoded)
    assert [r["total_wh"] * 1000 for r in readings] == pytest.approx([d.energy_mwh for d in decoded])


def test_records_signed_during_a_server_outage_are_delivered_in_order_afterwards(
        host_device: Path, server: Server, meter: str, tmp_path: Path) -> None:
    state = tmp_path / "device"
    token = server.enrollment_token()
    run_device(host_device, state, server.url, meter, token, readings=1)
    installation = the_installation(server)

    server.stop()
    device = subprocess.Popen(
        [str(host_device), "--server", server.url, "--meter", meter, "--state", str(state),
         "--interval-ms", "500", "--readings", "6", "--timeout-s", "90"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(4)  # readings are signed and queued on "flash" while the server is down
        server.start()
        out, _ = device.communicate(timeout=120)
    finally:
        stop(device)
    assert device.returncode == 0, out[-4000:]
    assert "SEND fail server unreachable" in out
    last_seq = int(re.search(r"^DONE seq=(\d+)", out, re.MULTILINE).group(1))
    assert last_seq >= 6
    readings = stored_readings(server, installation["id"])
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, 1)] + [(2, seq) for seq in range(1, last_seq + 1)]
    assert all(r["status"] == "verified" for r in readings), [r["status"] for r in readings]


def test_gen2_meter_through_rpc_is_read_and_verified(host_device: Path, server: Server, tmp_path: Path) -> None:
    with simulated_meter(tmp_path, gen=2) as meter_url:
        run_device(host_device, tmp_path / "device", server.url, meter_url, server.enrollment_token(), readings=3,
                   gen=2)
    installation = the_installation(server)
    readings = stored_readings(server, installation["id"])
    assert [(r["boot"], r["seq"]) for r in readings] == [(1, 1), (1, 2), (1, 3)]
    assert all(r["status"] == "verified" for r in readings)
    assert all(21_700 <= r["total_wh"] < 21_800 for r in readings)
