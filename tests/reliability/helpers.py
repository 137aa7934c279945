"""Small helpers shared by the reliability tests: the clock, and a seeded in-process app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN, vector_enrollment_body
from tests.ops.signed import Device
from wattwitness.server.app import create_app
from wattwitness.server.db.migrate import upgrade
from wattwitness.server.settings import Settings

ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def now() -> int:
    """Unix seconds now (the server rejects records more than 300 s in the future)."""
    return int(time.time())


@contextmanager
def seeded_app(data_dir: Path, readings: int = 5) -> Iterator[tuple[FastAPI, TestClient]]:
    """The real app on a fresh migrated SQLite file, with the vectors' installation and `readings` signed
    readings stored through the API. For module-scoped fuzzing, where per-test fixtures would be too slow."""
    url = f"sqlite:///{data_dir / 'wattwitness.db'}"
    upgrade(url)
    application = create_app(Settings(database_url=url, data_dir=data_dir, admin_token=ADMIN_TOKEN, demo=False,
                                      background_tasks=False))
    try:
        with TestClient(application, raise_server_exceptions=False) as client:
            enrolled = client.post("/api/v1/installations/", json=vector_enrollment_body(), headers=ADMIN_HEADERS)
            assert enrolled.status_code == 201, enrolled.text
            device = Device(ts=now() - 3600)
            items = [device.reading() for _ in range(readings)]
            batch = client.post("/api/v1/readings/batch", json={"readings": items})
            assert batch.json()["stored"] == readings, batch.text
            yield application, client
    finally:
        application.state.db.dispose()
