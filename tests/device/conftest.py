"""Fixtures for device tests: a software key, a simulator where the sun is up now, a stub server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wattwitness.device.signer import SoftwareSigner, generate_key_file
from wattwitness.device.simulator import ShellySimulator, SimClock, SolarModel
from wattwitness.protocol import parse_mac

from .stub_server import StubServer

SIM_MAC = "C45BBE5A1A01"


def sunny_longitude(now: float) -> float:
    """A longitude where it is about solar noon at `now`, so the simulated meter produces."""
    minutes_utc = (now % 86400) / 60
    return ((720 - minutes_utc) / 4 + 180) % 360 - 180


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "device.pem"
    generate_key_file(path)
    return path


@pytest.fixture
def public_key(key_file: Path) -> bytes:
    return SoftwareSigner.from_key_file(key_file).public_key


@pytest.fixture
def simulator() -> Iterator[ShellySimulator]:
    now = time.time()
    # Ten simulated seconds per real second, starting an hour back so no timestamp is in the future.
    sim = ShellySimulator(gen=1, model=SolarModel(peak_w=4000, lat=0.0, lon=sunny_longitude(now), cloudiness=0.0),
                          clock=SimClock(start=now - 3600, speed=10), mac=SIM_MAC, initial_energy_mwh=1_000_000)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def stub(public_key: bytes) -> Iterator[StubServer]:
    server = StubServer(public_key, parse_mac(SIM_MAC)).start()
    yield server
    server.stop()
