"""Shared server fixtures: an HTTP client against the real app on SQLite AND on PostgreSQL.

`database_url` is parametrized over both backends, so every test that uses `client` (or `app`) runs
twice. The PostgreSQL database is created once per test session with a unique name, migrated, emptied
between tests (TRUNCATE ... RESTART IDENTITY) and dropped at the end. If PostgreSQL does not answer,
those tests FAIL, they never skip. SQLite tests get a copy of a migrated template file.

Fixtures: database_url, server_settings, app, client, db, admin_headers, enrolled_installation,
legacy_installation. Constants: ADMIN_TOKEN, POSTGRES_ADMIN_URL.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests import vectors
from wattwitness.server.app import create_app
from wattwitness.server.db.migrate import upgrade
from wattwitness.server.db.models import Base
from wattwitness.server.db.session import Database
from wattwitness.server.settings import Settings

# Apps and servers started by tests verify every batch in the request's process: forking a pool per app
# would cost every test its processes (tests/server/test_bulk_ingest.py starts the pool itself).
os.environ.setdefault("WATTWITNESS_VERIFICATION_POOL", "false")
POSTGRES_ADMIN_URL = os.environ.get("WATTWITNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "test-admin-token-" + "0123456789abcdef"


def _postgres_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable; the server tests need it: {err}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated, uniquely named PostgreSQL database for this test session (SQLAlchemy URL)."""
    name = f"ww_test_{os.getpid()}_{secrets.token_hex(4)}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rpartition("/")[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        with _postgres_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once is much cheaper)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a fresh SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "wattwitness.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def server_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, admin_token=ADMIN_TOKEN, demo=False,
                    background_tasks=False)


@pytest.fixture
def app(server_settings: Settings) -> Iterator[FastAPI]:
    application = create_app(server_settings)
    yield application
    application.state.db.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 500 must show up as a response the test can assert on.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Database:
    """The app's database, for tests that look at stored rows directly (`with db.scope() as session`)."""
    database: Database = app.state.db
    return database


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def vector_enrollment_body(**overrides: Any) -> dict[str, Any]:
    """The body that enrolls the shared vectors' key and meter."""
    enrollment = vectors.ww2()["enrollment"]
    body = {"name": "Vector park", "public_key": enrollment["public"], "enrollment_record": enrollment["record"],
            "enrollment_signature": enrollment["signature"], "timezone": "Europe/Berlin", "capacity_w": 10_000}
    body.update(overrides)
    return body


@pytest.fixture
def enrolled_installation(client: TestClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    """The vectors' key and meter, enrolled by the admin: the installation JSON."""
    response = client.post("/api/v1/installations/", json=vector_enrollment_body(), headers=admin_headers)
    assert response.status_code == 201, response.text
    installation: dict[str, Any] = response.json()
    return installation


LEGACY_MAC = "A0B1C2D3E4F5"


@pytest.fixture
def legacy_installation(client: TestClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    """A legacy installation (original hackathon firmware, no key) on meter LEGACY_MAC."""
    response = client.post("/api/v1/installations/", headers=admin_headers,
                           json={"name": "Hackathon meter", "shelly_mac": LEGACY_MAC, "legacy": True})
    assert response.status_code == 201, response.text
    installation: dict[str, Any] = response.json()
    return installation
