"""`wattwitness db ...`: schema upgrades, online backup and restore, retention prune of the server's database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattwitness.server.ops import backup as backup_service
from wattwitness.server.ops import prune as prune_service
from wattwitness.server.ops import upgrade as upgrade_service
from wattwitness.server.ops.errors import OpsError

db_app = typer.Typer(
    name="db",
    help="Database operations: upgrade the schema, back up and restore (online), prune old readings.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="WATTWITNESS_DATABASE_URL", show_envvar=True,
                 help="SQLAlchemy URL of the database; default: the server's setting"),
]


def _resolve_url(database_url: str | None) -> str:
    if database_url:
        return database_url
    from wattwitness.server.settings import Settings  # the server's own default (SQLite under the data dir)

    return Settings().database_url_resolved


def _fail(err: Exception, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(code)


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="Alembic revision to reach")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Bring the database schema to the newest revision (the server also does this when it starts)."""
    url = _resolve_url(database_url)
    try:
        upgrade_service.upgrade(url, revision)
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(f"{upgrade_service.describe(url)} is at revision {upgrade_service.current_revision(url)}")


@db_app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="where to write the backup (SQLite file or pg_dump custom archive)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Write a consistent copy of the database while the server keeps running."""
    try:
        result = backup_service.backup(_resolve_url(database_url), file)
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(f"backed up {result.kind} database at revision {result.revision} to {result.path} "
               f"({result.size_bytes} bytes)")


@db_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="a backup written by `wattwitness db backup`")],
    database_url: DatabaseUrl = None,
) -> None:
    """Replace the database's contents with a backup, while the server keeps running."""
    try:
        result = backup_service.restore(_resolve_url(database_url), file)
    except OpsError as err:
        raise _fail(err) from err
    typer.echo(f"restored {result.path} ({result.kind}, revision {result.revision}); "
               "run `wattwitness db upgrade` if this version of WattWitness is newer than the backup")


@db_app.command("prune")
def prune(
    keep_days: Annotated[int | None, typer.Option(
        "--keep-days", min=1, help="keep raw readings of this many days; default: WATTWITNESS_PRUNE_KEEP_DAYS")] = None,
    installation: Annotated[int | None, typer.Option("--installation", help="prune only this installation")] = None,
    if_configured: Annotated[bool, typer.Option(
        "--if-configured", help="with neither --keep-days nor the setting, do nothing, exit 0 (daily timer)")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Drop raw readings older than the window; charts, lifetime totals and integrity counts stay exact.

    Below the window only the readings at 5-minute chart boundaries, unusual readings and anchored heads
    are kept (docs/operations.md §6). Online: the server keeps running.
    """
    if keep_days is None:
        from pydantic import ValidationError

        from wattwitness.server.settings import Settings

        try:
            keep_days = Settings().prune_keep_days
        except ValidationError as err:
            raise _fail(ValueError(f"WATTWITNESS_PRUNE_KEEP_DAYS must be a whole number of days >= 1: "
                                   f"{err.errors()[0]['msg']}"), 2) from err
    if keep_days is None:
        if if_configured:
            typer.echo("retention is off (WATTWITNESS_PRUNE_KEEP_DAYS is not set): nothing pruned")
            return
        raise _fail(ValueError("say how many days to keep: --keep-days N or WATTWITNESS_PRUNE_KEEP_DAYS"), 2)
    try:
        results = prune_service.prune_database(_resolve_url(database_url), keep_days, installation_id=installation)
    except OpsError as err:
        raise _fail(err) from err
    for result in results:
        if result.skipped:
            typer.echo(f"installation {result.installation_id}: nothing pruned ({result.skipped})")
        else:
            typer.echo(f"installation {result.installation_id}: deleted {result.deleted} readings up to boot "
                       f"{result.last_boot} seq {result.last_seq} (older than {keep_days} days)")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app)
