"""Authorisation matrix: every route and method of the app, each credential, exactly the expected access.

The routes are enumerated from the app itself (`app.routes`, walking included routers), so a route
added without an entry in MATRIX fails `test_every_route_has_an_entry`. Credentials: none, a wrong
token, a one-time enrollment token, the admin token (no token: 401 `unauthorized`; a token that does
not grant the right: 403 `forbidden`). Reads are public (the dashboard needs no login);
the only state-changing routes are enrollment (admin or enrollment token), enrollment tokens (admin)
and readings, which the device signature authenticates: an unsigned or badly signed body changes
nothing, whatever token comes with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import ADMIN_TOKEN, vector_enrollment_body
from tests.ops.signed import Device
from tests.reliability.helpers import now
from wattwitness.server.db.models import EnrollmentToken, Installation, Reading, SecurityEvent
from wattwitness.server.db.session import Database

CREDENTIALS = ("none", "wrong", "enrollment", "admin")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, included routers walked (FastAPI >= 0.165 wraps them lazily)."""
    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            else:
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        yield method, prefix + route.path
    yield from walk(list(app.routes), "")


@dataclass
class Context:
    installation_id: int
    reading_id: int
    enrollment_token: str


@dataclass(frozen=True)
class Access:
    """How to call one route, and the status each credential must get."""

    call: Callable[[TestClient, Context, dict[str, str]], httpx.Response]
    expect: dict[str, int]
    changes_state: bool = False


def _public(status: int, path: str) -> Access:
    return Access(lambda client, ctx, headers: client.get(path.format(**vars(ctx)), headers=headers),
                  dict.fromkeys(CREDENTIALS, status))


def _new_installation(client: TestClient, ctx: Context, headers: dict[str, str]) -> httpx.Response:
    # A fresh meter and key each call would need a new device; the vectors' key is free in this test.
    return client.post("/api/v1/installations/", json=vector_enrollment_body(), headers=headers)


def _bad_reading(client: TestClient, ctx: Context, headers: dict[str, str]) -> httpx.Response:
    item = Device(ts=now() - 100, boot=7).reading()
    item["signature"] = "00" * 63 + "01"
    return client.post("/api/v1/readings/", json=item, headers=headers)


def _bad_batch(client: TestClient, ctx: Context, headers: dict[str, str]) -> httpx.Response:
    item = Device(ts=now() - 100, boot=7).reading()
    item["signature"] = item["signature"][:-2] + ("00" if item["signature"][-2:] != "00" else "01")
    return client.post("/api/v1/readings/batch", json={"readings": [item]}, headers=headers)


MATRIX: dict[tuple[str, str], Access] = {
    ("GET", "/openapi.json"): _public(200, "/openapi.json"),
    ("GET", "/docs"): _public(200, "/docs"),
    ("GET", "/docs/oauth2-redirect"): _public(200, "/docs/oauth2-redirect"),
    ("GET", "/health"): _public(200, "/health"),
    ("GET", "/metrics"): _public(200, "/metrics"),
    ("GET", "/{path:path}"): _public(200, "/some/dashboard/page"),
    ("GET", "/api/v1/installations/"): _public(200, "/api/v1/installations/"),
    ("GET", "/api/v1/installations/{installation_id}"): _public(200, "/api/v1/installations/{installation_id}"),
    ("GET", "/api/v1/readings/latest/{installation_id}"): _public(200, "/api/v1/readings/latest/{installation_id}"),
    ("GET", "/api/v1/readings/{installation_id}"): _public(200, "/api/v1/readings/{installation_id}"),
    ("GET", "/api/v1/readings/{installation_id}/export"): _public(200, "/api/v1/readings/{installation_id}/export"),
    ("GET", "/api/v1/readings/{installation_id}/chart"): _public(200, "/api/v1/readings/{installation_id}/chart"),
    ("GET", "/api/v1/readings/{installation_id}/integrity"):
        _public(200, "/api/v1/readings/{installation_id}/integrity"),
    # The stream never ends for an existing installation; an unknown one shows its access in one answer.
    ("GET", "/api/v1/readings/{installation_id}/stream"): _public(404, "/api/v1/readings/999999/stream"),
    ("GET", "/api/v1/status/"): _public(200, "/api/v1/status/"),
    ("GET", "/api/v1/anchoring/next"): _public(200, "/api/v1/anchoring/next?installation_id={installation_id}"),
    ("GET", "/api/v1/anchors"): _public(200, "/api/v1/anchors?installation_id={installation_id}"),
    ("GET", "/api/v1/readings/proof/{reading_id}"): _public(404, "/api/v1/readings/proof/{reading_id}"),
    ("POST", "/api/v1/enrollment-tokens/"): Access(
        lambda client, ctx, headers: client.post("/api/v1/enrollment-tokens/", headers=headers),
        {"none": 401, "wrong": 403, "enrollment": 403, "admin": 201}, changes_state=True),
    ("POST", "/api/v1/installations/"): Access(
        _new_installation, {"none": 401, "wrong": 403, "enrollment": 201, "admin": 201}, changes_state=True),
    ("POST", "/api/v1/readings/"): Access(_bad_reading, dict.fromkeys(CREDENTIALS, 422), changes_state=True),
    ("POST", "/api/v1/readings/batch"): Access(_bad_batch, dict.fromkeys(CREDENTIALS, 200), changes_state=True),
}


def _headers(credential: str, ctx: Context) -> dict[str, str]:
    token = {"none": None, "wrong": "wrong-token-" + "x" * 20, "enrollment": ctx.enrollment_token,
             "admin": ADMIN_TOKEN}[credential]
    return {"Authorization": f"Bearer {token}"} if token else {}


def _counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Installation, Reading, EnrollmentToken)}


def _setup(client: TestClient, admin_headers: dict[str, str], *, enroll: bool = True) -> Context:
    installation_id = 0
    reading_id = 0
    if enroll:
        installation = client.post("/api/v1/installations/", json=vector_enrollment_body(), headers=admin_headers)
        assert installation.status_code == 201, installation.text
        installation_id = installation.json()["id"]
        stored = client.post("/api/v1/readings/", json=Device(ts=now() - 100).reading())
        assert stored.status_code == 201, stored.text
        reading_id = stored.json()["id"]
    token = client.post("/api/v1/enrollment-tokens/", headers=admin_headers)
    assert token.status_code == 201, token.text
    return Context(installation_id, reading_id, token.json()["token"])


def test_every_route_has_an_entry(app: FastAPI) -> None:
    routes = set(app_routes(app))
    assert routes - MATRIX.keys() == set(), "new route(s) without an authorisation entry"
    assert MATRIX.keys() - routes == set(), "entries for routes that no longer exist"


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_access_matrix(client: TestClient, admin_headers: dict[str, str], db: Database, credential: str) -> None:
    ctx = _setup(client, admin_headers)
    for (method, path), access in MATRIX.items():
        if path == "/api/v1/installations/":
            continue  # needs a database without the vectors' installation: test_enrollment_access
        before = _counts(db)
        response = access.call(client, ctx, _headers(credential, ctx))
        expected = access.expect[credential]
        assert response.status_code == expected, (method, path, credential, response.text[:300])
        if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            assert set(body) == {"error", "detail"}, (method, path, body)
        if not access.changes_state or expected >= 300:
            assert _counts(db) == before, (method, path, credential)


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_enrollment_access(client: TestClient, admin_headers: dict[str, str], db: Database, credential: str) -> None:
    ctx = _setup(client, admin_headers, enroll=False)
    access = MATRIX[("POST", "/api/v1/installations/")]
    response = access.call(client, ctx, _headers(credential, ctx))
    assert response.status_code == access.expect[credential], response.text
    installations = _counts(db)["Installation"]
    assert installations == (1 if access.expect[credential] == 201 else 0)
    if response.status_code >= 400:
        assert response.json()["error"] == {401: "unauthorized", 403: "forbidden"}[response.status_code]


def test_enrollment_token_is_one_time_and_never_admin(client: TestClient, admin_headers: dict[str, str],
                                                      db: Database) -> None:
    ctx = _setup(client, admin_headers, enroll=False)
    headers = _headers("enrollment", ctx)
    assert client.post("/api/v1/installations/", json=vector_enrollment_body(), headers=headers).status_code == 201
    # Spent: the same token cannot enroll another meter or key, nor a legacy installation.
    again = client.post("/api/v1/installations/", headers=headers,
                        json={"name": "second", "shelly_mac": "0A0B0C0D0E0F", "legacy": True})
    assert again.status_code in (401, 403), again.text
    fresh = _setup(client, admin_headers, enroll=False)
    legacy = client.post("/api/v1/installations/", headers=_headers("enrollment", fresh),
                         json={"name": "legacy", "shelly_mac": "0A0B0C0D0E0F", "legacy": True})
    assert legacy.status_code == 403, legacy.text
    assert legacy.json()["error"] == "forbidden"
    assert _counts(db)["Installation"] == 1


def test_invalid_readings_change_nothing_but_the_security_log(client: TestClient, admin_headers: dict[str, str],
                                                             db: Database) -> None:
    """Readings routes are open by design: an invalid signature stores nothing, whoever sends it."""
    ctx = _setup(client, admin_headers)
    for credential in CREDENTIALS:
        before = _counts(db)
        assert _bad_reading(client, ctx, _headers(credential, ctx)).json()["error"] == "invalid_signature"
        batch = _bad_batch(client, ctx, _headers(credential, ctx)).json()
        assert (batch["stored"], batch["rejected"]) == (0, 1)
        assert batch["results"][0]["outcome"] == "invalid_signature"
        assert _counts(db) == before
    with db.session() as session:
        kinds = set(session.scalars(select(SecurityEvent.kind)))
    assert kinds == {"invalid_signature"}


@pytest.mark.parametrize("method", WRITE_METHODS)
def test_undeclared_write_methods_are_refused(client: TestClient, admin_headers: dict[str, str], db: Database,
                                              app: FastAPI, method: str) -> None:
    ctx = _setup(client, admin_headers)
    declared = set(app_routes(app))
    for _, path in sorted(MATRIX):
        if (method, path) in declared:
            continue
        before = _counts(db)
        url = path.replace("{path:path}", "x").format(**vars(ctx))
        response = client.request(method, url, headers=admin_headers)
        assert response.status_code in (404, 405), (method, url, response.status_code)
        assert _counts(db) == before
