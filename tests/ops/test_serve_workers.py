"""`wattwitness serve --workers 2` as real processes: metrics add up across workers, logs carry request ids.

This is the production set-up of deploy/systemd/wattwitness-server.service (several workers with
PROMETHEUS_MULTIPROC_DIR, JSON logs), run on a free local port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.ops.test_metrics_events import value
from tests.ports import free_port

ADMIN_TOKEN = "serve-workers-test-token-0123456789"


def _wait_until_up(base: str, process: subprocess.Popen[bytes], deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited while starting"
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("the server did not answer /health in time")


@pytest.mark.e2e
def test_two_workers_share_metrics_and_log_request_ids(tmp_path: Path) -> None:
    port = free_port()
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    environment = {
        **os.environ, "WATTWITNESS_DATA_DIR": str(tmp_path), "WATTWITNESS_ADMIN_TOKEN": ADMIN_TOKEN,
        "WATTWITNESS_LOG_FORMAT": "json", "WATTWITNESS_BACKGROUND_TASKS": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    environment.pop("WATTWITNESS_DATABASE_URL", None)
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "wattwitness.cli", "serve", "--port", str(port), "--workers", "2"],
            env=environment, stdout=subprocess.DEVNULL, stderr=log_file, cwd=tmp_path, start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base, process)
            # A fresh connection per request, so both workers get some of them.
            ids = [f"probe-{n}" for n in range(20)]
            for request_id in ids:
                response = httpx.get(f"{base}/health", headers={"X-Request-ID": request_id,
                                                               "Authorization": f"Bearer {ADMIN_TOKEN}"})
                assert response.headers["x-request-id"] == request_id
            text = httpx.get(f"{base}/metrics", timeout=10).text
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

    health = {"method": "GET", "route": "/health", "status": "200"}
    # At least the 20 probes (start-up polling adds a few), whichever worker answered each.
    assert value(text, "wattwitness_http_requests_total", **health) >= 20
    assert value(text, "wattwitness_database_up") == 1
    worker_files = {path.name.split("_")[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(worker_files) == 2, "two worker processes should each have written their counters"

    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access_ids = {e.get("request_id") for e in entries if e["logger"] == "wattwitness.access"}
    assert set(ids) <= access_ids
    assert ADMIN_TOKEN not in log_path.read_text()
