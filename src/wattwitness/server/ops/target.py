"""Which database an operations command works on, read from the server's SQLAlchemy URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from wattwitness.server.ops.errors import OpsError


@dataclass(frozen=True)
class SqliteTarget:
    path: Path

    def describe(self) -> str:
        return f"SQLite database {self.path}"


@dataclass(frozen=True)
class PostgresTarget:
    """A libpq connection string without the password, and the password apart: pg_dump gets the former
    on its command line and the latter in PGPASSWORD, so the password never shows in `ps`."""

    conninfo: str
    password: str | None
    database: str

    def describe(self) -> str:
        return f"PostgreSQL database {self.conninfo}"

    def environment(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password} if self.password else {}


DatabaseTarget = SqliteTarget | PostgresTarget


def target_from_url(database_url: str) -> DatabaseTarget:
    try:
        url = make_url(database_url)
    except ArgumentError as err:
        raise OpsError(f"the database URL is not valid: {err}") from err
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            raise OpsError("an in-memory SQLite database has nothing to back up or restore into")
        return SqliteTarget(Path(url.database))
    if backend == "postgresql":
        libpq = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                           database=url.database, query=url.query)
        return PostgresTarget(libpq.render_as_string(hide_password=False), url.password, url.database or "")
    raise OpsError(f"unsupported database backend {backend!r}: WattWitness runs on SQLite or PostgreSQL")
