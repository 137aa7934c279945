"""`wattwitness demo` as `make demo` runs it: real processes, then Ctrl-C, then again to continue."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port
from wattwitness.protocol import verify_chain

pytestmark = pytest.mark.e2e


class DemoProcess:
    def __init__(self, data_dir: Path, port: int) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wattwitness.cli", "demo", "--data-dir", str(data_dir), "--port", str(port),
             "--history-days", "0.25", "--history-interval", "120", "--interval", "1", "--anchor-interval", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def test_demo_runs_anchors_and_continues(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    demo = DemoProcess(tmp_path, port)
    try:
        demo.wait_for(r"WattWitness demo is running", 240)
        installations = httpx.get(f"{url}/api/v1/installations/", timeout=10).json()
        assert len(installations) == 1
        installation = installations[0]
        history = installation["reading_count"]
        assert history >= 180  # 6 h every 120 s, plus live readings
        # Live readings keep arriving, verified.
        time.sleep(3)
        latest = httpx.get(f"{url}/api/v1/readings/latest/{installation['id']}", timeout=10).json()
        assert latest["status"] in ("verified", "counter_reset")
        assert latest["timestamp"] >= time.time() - 30
        # The embedded chain anchors: the first anchor sets the baseline, a later one mints tokens.
        minted = demo.wait_for(r"anchor #\d+ of \d+ readings, ([1-9]\d*) Wh minted", 120)
        assert int(minted.group(1)) > 0
        demo.wait_for(r"proof of reading \d+ verified by the ledger on-chain", 60)
        # Every signature and link of the export verifies offline.
        export = httpx.get(f"{url}/api/v1/readings/{installation['id']}/export", params={"format": "jsonl"},
                           timeout=30).text.splitlines()
        items = [(bytes.fromhex(json.loads(line)["record"]), bytes.fromhex(json.loads(line)["signature"]))
                 for line in export]
        report = verify_chain(items, bytes.fromhex(installation["public_key"]))
        assert report.ok and report.invalid == 0 and report.gaps == 0, report.summary()
        boot_before = httpx.get(f"{url}/api/v1/readings/latest/{installation['id']}", timeout=10).json()["boot"]
    finally:
        assert demo.interrupt() == 0
    assert "demo stopped." in demo.lines

    # Running it again continues the same installation and chain of records.
    again = DemoProcess(tmp_path, port)
    try:
        again.wait_for(r"WattWitness demo is running", 240)
        installations = httpx.get(f"{url}/api/v1/installations/", timeout=10).json()
        assert [i["id"] for i in installations] == [installation["id"]]
        assert installations[0]["reading_count"] >= history
        # The agent starts a new boot epoch that links to the previous run's chain head.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            latest = httpx.get(f"{url}/api/v1/readings/latest/{installation['id']}", timeout=10).json()
            if latest["boot"] > boot_before:
                break
            time.sleep(0.5)
        assert latest["boot"] > boot_before
        assert latest["status"] in ("verified", "counter_reset")
    finally:
        assert again.interrupt() == 0
