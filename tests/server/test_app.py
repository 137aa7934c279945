"""The app around the domains: body limit, health, database outage, dashboard serving, OpenAPI, settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests import vectors
from tests.conftest import ADMIN_TOKEN
from wattwitness.server.app import create_app
from wattwitness.server.settings import InsecureSettingsError, Settings

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(sqlite_template: Path, tmp_path: Path) -> Iterator[MakeClient]:
    """A client for an app on a fresh SQLite copy, with settings overrides (for app-level behaviour that does
    not depend on the database engine)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        database = tmp_path / f"app{len(clients)}.db"
        database.write_bytes(sqlite_template.read_bytes())
        settings = Settings(**{"database_url": f"sqlite:///{database}", "admin_token": ADMIN_TOKEN,
                               "background_tasks": False, "data_dir": tmp_path, **overrides})
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_health_on_both_databases(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_unreachable_database_is_503_not_500() -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere", admin_token=ADMIN_TOKEN,
                        background_tasks=False)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        listed = client.get("/api/v1/installations/")
        assert listed.status_code == 503
        assert listed.json()["error"] == "database_unavailable"
        chain = vectors.ww2()["chain"][0]
        posted = client.post("/api/v1/readings/batch",
                             json={"readings": [{"record": chain["record"], "signature": chain["signature"]}]})
        assert posted.status_code == 503 and posted.json()["error"] == "database_unavailable"


def test_oversize_body_is_413(make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=4096)
    item = {"record": "ab" * 74, "signature": "cd" * 64}
    response = client.post("/api/v1/readings/batch", json={"readings": [item] * 40})
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    small = client.post("/api/v1/readings/batch", json={"readings": [item]})
    assert small.status_code == 200 and small.json()["results"][0]["outcome"] == "malformed"


def test_the_default_limit_admits_a_full_batch(make_client: MakeClient) -> None:
    client = make_client()
    item = {"record": "ab" * 74, "signature": "cd" * 64}
    response = client.post("/api/v1/readings/batch", json={"readings": [item] * 5000})
    assert response.status_code == 200 and response.json()["rejected"] == 5000


def test_dashboard_is_served_with_spa_fallback(make_client: MakeClient, tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<html>dashboard</html>")
    (static / "assets" / "app.js").write_text("console.log(1)")
    client = make_client(static_dir=static)
    assert client.get("/").text == "<html>dashboard</html>"
    assert client.get("/installations/3/energy").text == "<html>dashboard</html>"
    asset = client.get("/assets/app.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert client.get("/assets/missing.js").status_code == 404
    assert client.get("/../../etc/passwd").text == "<html>dashboard</html>"
    api_miss = client.get("/api/v1/nothing")
    assert api_miss.status_code == 404 and api_miss.json()["error"] == "not_found"
    assert client.get("/metrics-not").status_code == 200  # only whole reserved segments are reserved
    assert "swagger" in client.get("/docs").text.lower()
    assert client.get("/health").json()["status"] == "ok"


def test_missing_dashboard_build_says_so(make_client: MakeClient, tmp_path: Path) -> None:
    client = make_client(static_dir=tmp_path / "not-built")
    response = client.get("/")
    assert response.status_code == 200
    assert "not built" in response.text


def test_every_request_body_has_an_example(make_client: MakeClient) -> None:
    spec = make_client().get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    bodies = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            bodies += 1
            schema = content.get("schema", {})
            refs = [schema.get("$ref", "")] + [s.get("$ref", "") for s in schema.get("anyOf", [])]
            has_example = "examples" in content or "example" in content or any(
                "examples" in schemas.get(ref.rsplit("/", 1)[-1], {}) for ref in refs if ref)
            assert has_example, f"{method.upper()} {path} has a body without an example"
    assert bodies >= 3


def test_placeholder_admin_tokens_are_refused(tmp_path: Path) -> None:
    for token in ("", "changeme", "CHANGEME", "short-token"):
        with pytest.raises(InsecureSettingsError):
            create_app(Settings(admin_token=token, data_dir=tmp_path))
    demo = create_app(Settings(admin_token="", demo=True, data_dir=tmp_path))
    assert demo.state.settings.demo is True


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WATTWITNESS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WATTWITNESS_MAX_FUTURE_S", "60")
    settings = Settings()
    assert settings.max_future_s == 60
    assert settings.database_url_resolved == f"sqlite:///{(tmp_path / 'wattwitness.db').resolve()}"


def test_empty_admin_token_never_matches(make_client: MakeClient) -> None:
    client = make_client(admin_token="", demo=True)
    response = client.post("/api/v1/enrollment-tokens/", headers={"Authorization": "Bearer "})
    assert response.status_code in (401, 403)


def test_numbers_beyond_the_database_are_422_not_500(client: TestClient) -> None:
    huge = 2**70
    for path in (f"/api/v1/installations/{huge}", f"/api/v1/readings/latest/{huge}", f"/api/v1/readings/{huge}",
                 f"/api/v1/readings/1?since={huge}", f"/api/v1/readings/{huge}/export"):
        response = client.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"] == "malformed"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(make_client: MakeClient) -> None:
    database = make_client().app.state.db  # type: ignore[attr-defined]
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
