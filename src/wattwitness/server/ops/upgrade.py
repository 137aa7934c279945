"""Schema upgrades for operators: the package's Alembic migrations, with errors an operator can act on."""

from __future__ import annotations

from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from wattwitness.server.db import migrate
from wattwitness.server.db.session import create_db_engine, normalize_url
from wattwitness.server.ops.errors import OpsError
from wattwitness.server.ops.target import target_from_url


def describe(database_url: str) -> str:
    return target_from_url(normalize_url(database_url)).describe()


def upgrade(database_url: str, revision: str = "head") -> None:
    target_from_url(normalize_url(database_url))  # refuses unsupported or in-memory URLs clearly
    try:
        migrate.upgrade(database_url, revision=revision)
    except CommandError as err:
        raise OpsError(f"cannot upgrade to {revision!r}: {err}") from err
    except SQLAlchemyError as err:
        raise OpsError(f"upgrade of {describe(database_url)} failed: {_first_line(err)}") from err


def current_revision(database_url: str) -> str | None:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as err:
        raise OpsError(f"cannot read the schema revision of {describe(database_url)}: {_first_line(err)}") from err
    finally:
        engine.dispose()


def _first_line(err: BaseException) -> str:
    original = getattr(err, "orig", None) or err
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
