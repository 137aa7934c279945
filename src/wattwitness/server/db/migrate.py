"""Runs the package's Alembic migrations programmatically (before serving, in tests, in the CLI)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from wattwitness.server.db.partitions import ensure_partitions
from wattwitness.server.db.session import create_db_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, engine: Engine | None = None, revision: str = "head") -> None:
    """Brings the database at `url` to `revision` (a no-op when it is already there), then creates the coming
    months' partitions of `readings` on PostgreSQL (db/partitions.py; cheap when they exist)."""
    config = alembic_config(url)
    own_engine = engine is None
    engine = engine or create_db_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            ensure_partitions(connection)
    finally:
        if own_engine:
            engine.dispose()
