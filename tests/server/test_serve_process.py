"""The real thing: `wattwitness serve` as a process (migrations, uvicorn) on SQLite and PostgreSQL, an
enrollment token from `wattwitness token create`, ingest over TCP, and the export checked by `wattwitness verify`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import vectors
from tests.conftest import ADMIN_TOKEN, vector_enrollment_body
from tests.ports import free_port


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wattwitness.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    port = free_port()
    return {**os.environ, "WATTWITNESS_DATABASE_URL": database_url, "WATTWITNESS_DATA_DIR": str(tmp_path),
            "WATTWITNESS_ADMIN_TOKEN": ADMIN_TOKEN, "WATTWITNESS_MAX_BODY_BYTES": "100000",
            "WATTWITNESS_INTERNET_PROBE_TARGET": f"127.0.0.1:{port}", "WW_TEST_PORT": str(port)}


@pytest.fixture
def served(server_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    port = server_env["WW_TEST_PORT"]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "wattwitness.cli", "serve", "--host", "127.0.0.1",
                                "--port", port], env=server_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"serve exited {process.returncode}: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("serve did not answer /health within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0, (tmp_path / "serve.log").read_text()[-2000:]
        finally:
            if process.poll() is None:
                process.kill()
            log.close()


def test_served_process_end_to_end(served: str, server_env: dict[str, str], tmp_path: Path) -> None:
    created = cli("token", "create", env=server_env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("wwe_")

    with httpx.Client(base_url=served, timeout=30) as http:
        enrolled = http.post("/api/v1/installations/", json=vector_enrollment_body(),
                             headers={"Authorization": f"Bearer {token}"})
        assert enrolled.status_code == 201, enrolled.text
        iid = enrolled.json()["id"]
        chain = [{"record": c["record"], "signature": c["signature"]} for c in vectors.ww2()["chain"]]
        batch = http.post("/api/v1/readings/batch", json={"readings": chain})
        assert batch.status_code == 200
        assert [r["outcome"] for r in batch.json()["results"]] == ["verified"] * 6

        # A chunked body (no Content-Length) over the limit is cut off with 413.
        def chunks() -> Iterator[bytes]:
            yield b'{"readings": ['
            for _ in range(1000):
                yield b'{"record": "' + b"ab" * 74 + b'", "signature": "' + b"cd" * 64 + b'"},'
            yield b"]}"

        oversize = http.post("/api/v1/readings/batch", content=chunks(), headers={"Content-Type": "application/json"})
        assert oversize.status_code == 413 and oversize.json()["error"] == "payload_too_large"

        export = http.get(f"/api/v1/readings/{iid}/export")
        assert export.status_code == 200
    path = tmp_path / "export.jsonl"
    path.write_text(export.text)
    verified = cli("verify", "--public-key", vectors.ww2()["key"]["public"], str(path), env=server_env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "6 records: 6 verified" in verified.stdout


def test_serve_refuses_a_placeholder_token(tmp_path: Path) -> None:
    env = {**os.environ, "WATTWITNESS_DATA_DIR": str(tmp_path), "WATTWITNESS_ADMIN_TOKEN": "changeme"}
    result = cli("serve", "--port", str(free_port()), env=env)
    assert result.returncode == 2
    assert "WATTWITNESS_ADMIN_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_token_create_without_a_database_says_why(tmp_path: Path) -> None:
    env = {**os.environ, "WATTWITNESS_DATA_DIR": str(tmp_path), "WATTWITNESS_ADMIN_TOKEN": ADMIN_TOKEN,
           "WATTWITNESS_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}
    result = cli("token", "create", env=env)
    assert result.returncode == 1
    assert "cannot migrate the database" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
