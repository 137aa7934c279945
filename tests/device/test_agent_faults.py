"""kill -9 at random instants, over and over, with the server flapping: no (boot, seq) is ever signed twice
with different contents, nothing committed is lost, and the delivered chain links end to end."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattwitness.device.outbox import Outbox
from wattwitness.protocol import parse_mac, verify_chain

from .conftest import SIM_MAC

pytestmark = pytest.mark.faults

CLI = [sys.executable, "-m", "wattwitness.cli"]


def head(state: Path) -> tuple[int, int]:
    """(boot, seq) of the agent's chain head, read from its state database; (0, 0) before there is one."""
    if not (state / "outbox.sqlite3").exists():
        return (0, 0)
    db = sqlite3.connect(state / "outbox.sqlite3", timeout=5)
    try:
        row = db.execute("SELECT boot, seq FROM chain_head").fetchone()
    except sqlite3.OperationalError:
        row = None
    finally:
        db.close()
    return (row[0], row[1]) if row else (0, 0)


def wait_until_signing(state: Path, process: subprocess.Popen[bytes], previous_boot: int) -> None:
    """Until the running agent has committed at least one record in a boot of its own."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        boot, seq = head(state)
        if boot > previous_boot and seq >= 1:
            return
        time.sleep(0.05)
    raise AssertionError("the agent did not start signing")


def test_kill_9_never_reuses_a_seq_and_loses_nothing(key_file, public_key, simulator, stub, tmp_path):
    state = tmp_path / "state"
    args = [*CLI, "agent", "--server", stub.url, "--meter", simulator.url, "--key", str(key_file),
            "--state", str(state), "--interval", "0.02", "--log-level", "WARNING"]
    rng = random.Random(20260627)
    for round_number in range(8):
        # Every other round the server fails, so that the outbox holds a backlog when the kill lands.
        stub.state.fail_status = 503 if round_number % 2 else None
        previous_boot = head(state)[0]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if round_number % 4 == 3:
            # Anywhere, start-up included.
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            # Somewhere while it signs (and, on the failing rounds, while the backlog grows).
            wait_until_signing(state, process, previous_boot)
            time.sleep(rng.uniform(0.0, 0.6))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    stub.state.fail_status = None
    final = subprocess.run([*args, "--max-records", "5"], capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr

    outcomes = set(stub.state.outcomes)
    assert not outcomes & {"equivocation", "chain_break", "invalid_signature"}, outcomes
    boots = sorted({boot for boot, _ in stub.state.stored})
    # A kill during start-up may use up a boot without signing in it; the other rounds all signed.
    assert len(boots) >= 7 and boots[-1] <= 9, boots
    for boot in boots:
        seqs = sorted(seq for b, seq in stub.state.stored if b == boot)
        assert seqs == list(range(1, len(seqs) + 1)), f"boot {boot} has holes: {seqs}"
    assert len(stub.state.stored) == len(set(stub.state.stored))
    report = verify_chain(stub.state.items(), public_key, parse_mac(SIM_MAC))
    assert report.ok and report.gaps == 0 and report.verified == len(stub.state.stored), report.summary()
    outbox = Outbox(state)
    assert outbox.depth() == 0 and outbox.dead_letters() == []
