"""Fixtures of the firmware end-to-end tests: the host build, a fresh server, a simulated Gen1 meter."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.firmware.devices import FIRMWARE_TEST_DIR, HOST_DEVICE, Server, free_port, simulated_meter


@pytest.fixture(scope="module")
def host_device() -> Path:
    build = subprocess.run(["make", "-C", str(FIRMWARE_TEST_DIR), "host_device"], capture_output=True, text=True,
                           timeout=300)
    assert build.returncode == 0, f"building host_device failed:\n{build.stdout[-2000:]}\n{build.stderr[-3000:]}"
    assert HOST_DEVICE.exists()
    return HOST_DEVICE


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "server"
    data_dir.mkdir()
    port = free_port()
    server = Server(f"http://127.0.0.1:{port}", secrets.token_urlsafe(32), data_dir, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def meter(tmp_path: Path) -> Iterator[str]:
    with simulated_meter(tmp_path, gen=1) as url:
        yield url
