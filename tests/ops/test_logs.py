"""One-line logs with request ids, text and JSON, and no secrets or full keys in the output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from tests import vectors
from wattwitness import logs

ADMIN_TOKEN = "s3cret-admin-token-for-the-log-test"


def _app() -> FastAPI:
    app = FastAPI()
    logs.install(app)
    log = logging.getLogger("wattwitness.test")

    @app.post("/api/v1/installations/")
    async def enroll(request: Request) -> dict[str, str]:
        body = await request.json()
        # A careless handler that logs everything it got: the formatter must still keep secrets out.
        log.info("enrolling %s with %s", body["public_key"], request.headers.get("authorization"))
        log.warning("multi\nline\nmessage")
        return {"ok": "yes"}

    return app


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_secrets = set(logs._secrets)
    logs._secrets.clear()  # each test states which secrets it registered
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    logs._secrets.clear()
    logs._secrets.update(saved_secrets)


def _post(app: FastAPI, request_id: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if request_id:
        headers["X-Request-ID"] = request_id
    with TestClient(app) as client:
        response = client.post("/api/v1/installations/", headers=headers,
                               json={"public_key": vectors.public_key().hex()})
    assert response.status_code == 200
    return response.headers["x-request-id"]


def test_json_lines_carry_the_request_id_and_no_secret(captured: io.StringIO) -> None:
    logs.configure_logging("json", "INFO", stream=captured)
    logs.register_secret(ADMIN_TOKEN)
    request_id = _post(_app())

    lines = captured.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one complete JSON object
    ours = [e for e in entries if e.get("request_id") == request_id]
    assert {e["logger"] for e in ours} >= {"wattwitness.test", "wattwitness.access"}
    access = next(e for e in ours if e["logger"] == "wattwitness.access")
    assert access["message"].startswith("POST /api/v1/installations/ 200 ")
    multi = next(e for e in ours if e["level"] == "WARNING")
    assert multi["message"] == "multi\nline\nmessage"  # kept whole, but escaped onto one line

    output = captured.getvalue()
    full_key = vectors.public_key().hex()
    assert ADMIN_TOKEN not in output
    assert full_key not in output
    assert full_key[:16] in output  # the key is still identifiable, by its prefix


def test_text_lines_are_one_per_event_with_the_callers_request_id(captured: io.StringIO) -> None:
    logs.configure_logging("text", "INFO", stream=captured)
    request_id = _post(_app(), request_id="agent-7f3a.42")
    assert request_id == "agent-7f3a.42"

    lines = captured.getvalue().splitlines()
    ours = [line for line in lines if "[agent-7f3a.42]" in line]
    assert len(ours) == 3  # the handler's two events and the access line, nothing split across lines
    assert any("wattwitness.access" in line and "POST /api/v1/installations/ 200" in line for line in ours)
    assert any("multi\\nline\\nmessage" in line for line in ours)
    output = captured.getvalue()
    # Not registered in this test: the bearer pattern alone must mask it.
    assert ADMIN_TOKEN not in output
    assert vectors.public_key().hex() not in output


def test_a_forged_request_id_is_replaced(captured: io.StringIO) -> None:
    logs.configure_logging("text", "INFO", stream=captured)
    request_id = _post(_app(), request_id="x" * 65)
    assert request_id != "x" * 65 and len(request_id) == 32
    assert "x" * 65 not in captured.getvalue()


def test_configuring_twice_keeps_one_line_per_event(captured: io.StringIO) -> None:
    logs.configure_logging("text", "INFO", stream=captured)
    logs.configure_logging("text", "INFO", stream=captured)
    logging.getLogger("wattwitness.test").info("once")
    assert captured.getvalue().count("once") == 1


def test_format_comes_from_the_environment_and_bad_values_are_refused(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.FORMAT_ENV, "json")
    logs.configure_logging(stream=captured)
    logging.getLogger("wattwitness.test").info("hello", extra={"installation_id": 3})
    entry = json.loads(captured.getvalue().splitlines()[-1])
    assert entry["message"] == "hello" and entry["installation_id"] == 3
    with pytest.raises(ValueError, match="text' or 'json"):
        logs.configure_logging("xml", stream=captured)


def test_install_registers_the_apps_admin_token_and_database_password(captured: io.StringIO) -> None:
    from types import SimpleNamespace

    logs.configure_logging("text", "INFO", stream=captured)
    app = FastAPI()
    app.state.settings = SimpleNamespace(admin_token="admin-token-from-settings-0123",
                                         database_url="postgresql+psycopg://ww:db-pass-w0rd-xyz@db:5432/ww")
    logs.install(app)
    logging.getLogger("wattwitness.test").error(
        "could not use postgresql://ww:db-pass-w0rd-xyz@db/ww with token admin-token-from-settings-0123")
    output = captured.getvalue()
    assert "db-pass-w0rd-xyz" not in output and "admin-token-from-settings-0123" not in output
    assert "postgresql://ww:***@db/ww with token ***" in output
