"""`wattwitness serve` (migrate, then run the API and dashboard with uvicorn) and `wattwitness token create`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from wattwitness.server.settings import InsecureSettingsError, Settings


def _settings() -> Settings:
    try:
        settings = Settings()
        settings.check_startup()
    except InsecureSettingsError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    except ValueError as err:  # pydantic: a WATTWITNESS_* variable that does not parse
        typer.echo(f"error: bad WATTWITNESS_* setting: {err}", err=True)
        raise typer.Exit(2) from err
    return settings


def _migrate(settings: Settings) -> None:
    from wattwitness.server.db.migrate import upgrade

    try:
        upgrade(settings.database_url_resolved)
    except SQLAlchemyError as err:
        typer.echo(f"error: cannot migrate the database: {err.__class__.__name__}: {str(err).splitlines()[0]}",
                   err=True)
        raise typer.Exit(1) from err


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port")] = 8000,
        workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    ) -> None:
        """Migrate the database, then serve the API and the dashboard (settings from WATTWITNESS_* variables)."""
        import uvicorn

        from wattwitness.logs import configure_logging

        configure_logging()
        settings = _settings()
        _migrate(settings)
        typer.echo(f"WattWitness on http://{host}:{port} (database: {settings.database_url_resolved.split('://')[0]})",
                   err=True)
        uvicorn.run("wattwitness.server.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_config=None, proxy_headers=True,
                    # A worker importing the app on a busy machine can take longer than uvicorn's 5 s ping;
                    # being killed for it would restart workers in a loop exactly when the machine is busy.
                    timeout_worker_healthcheck=60)

    token_app = typer.Typer(help="One-time enrollment tokens (admin).", no_args_is_help=True)
    app.add_typer(token_app, name="token")

    @token_app.command("create")
    def create_token(
        ttl: Annotated[int | None, typer.Option(min=60, help="seconds the token stays valid (default: settings)")]
        = None,
    ) -> None:
        """Print a one-time enrollment token (written to the database named by WATTWITNESS_DATABASE_URL)."""
        from wattwitness.server.db.session import Database
        from wattwitness.server.installations.service import create_enrollment_token

        settings = _settings()
        _migrate(settings)
        database = Database(settings.database_url_resolved)
        try:
            with database.scope() as session:
                token, expires_at = create_enrollment_token(session, ttl or settings.enrollment_token_ttl_s)
        except SQLAlchemyError as err:
            typer.echo(f"error: database: {err.__class__.__name__}", err=True)
            raise typer.Exit(1) from err
        finally:
            database.dispose()
        typer.echo(token)
        typer.echo(f"valid until {expires_at.isoformat(timespec='seconds')}; allows exactly one installation",
                   err=True)
