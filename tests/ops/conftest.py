"""Scratch databases for the operations tests: a fresh SQLite file or a uniquely named PostgreSQL database.

PostgreSQL is a real dependency: when it is unreachable the fixture fails, it never skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ADMIN_URL = os.environ.get("WATTWITNESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as err:
        pytest.fail(f"PostgreSQL at {ADMIN_URL} is unreachable; these tests need it: {err}")


def _sqlalchemy_url(libpq_url: str, database: str) -> str:
    base, _, _ = libpq_url.rpartition("/")
    return base.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of an empty, uniquely named database, dropped afterwards."""
    name = f"ww_ops_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _sqlalchemy_url(ADMIN_URL, name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wattwitness.db'}"
