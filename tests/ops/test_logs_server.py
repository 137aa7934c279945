"""Logs of the real server: request ids on every line of a request, and no admin token or full key."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import vectors
from tests.conftest import ADMIN_TOKEN, vector_enrollment_body
from tests.ops.signed import Device
from wattwitness import logs


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.configure_logging("json", "DEBUG", stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_request_lines_carry_the_request_id_and_no_secret(json_log: io.StringIO, client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    enrolled = client.post("/api/v1/installations/", json=vector_enrollment_body(), headers=admin)
    assert enrolled.status_code == 201, enrolled.text
    device = Device(ts=1_700_000_000)
    readings = [device.reading() for _ in range(3)]
    batch = client.post("/api/v1/readings/batch", json={"readings": readings},
                        headers={"X-Request-ID": "agent-batch-0001"})
    assert batch.status_code == 200 and batch.headers["x-request-id"] == "agent-batch-0001"
    wrong_token = client.post("/api/v1/enrollment-tokens/", headers={"Authorization": "Bearer not-the-admin-token"})
    assert wrong_token.status_code == 403
    bad_record = client.post("/api/v1/readings/", json={"record": "00" * 74, "signature": "11" * 64})
    assert bad_record.status_code == 422

    entries = _entries(json_log)
    for response in (enrolled, batch, wrong_token, bad_record):
        request_id = response.headers["x-request-id"]
        access = [e for e in entries if e["logger"] == "wattwitness.access" and e.get("request_id") == request_id]
        assert len(access) == 1, request_id
        assert access[0]["message"].split()[2] == str(response.status_code)

    output = json_log.getvalue()
    assert ADMIN_TOKEN not in output
    assert "not-the-admin-token" not in output
    assert vectors.public_key().hex() not in output.lower()
    for item in readings:
        assert item["signature"] not in output
