"""Request dependencies as `Annotated` aliases: the session (one transaction per request), settings, admin auth."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from wattwitness.server.db.session import Database
from wattwitness.server.errors import Forbidden, Unauthorized
from wattwitness.server.settings import Settings

bearer = HTTPBearer(auto_error=False, description="admin token, or a one-time enrollment token where allowed")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the endpoint returns, roll back when it raises."""
    with get_database(request).scope() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# scope="function": the commit runs when the endpoint returns, before the response is sent. With the default
# ("request") FastAPI sends the response first, so a client acting at once on a 201 (an enrollment token,
# then the enrollment) could be served by another worker that does not see the row yet.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


INT64_MAX = 2**63 - 1
# Path and query integers bounded to what the database stores (an unbounded int would overflow it).
InstallationId = Annotated[int, Path(ge=1, le=INT64_MAX, description="installation id")]
UnixSeconds = Annotated[int | None, Query(ge=0, le=INT64_MAX, description="Unix seconds (UTC)")]


def is_admin_token(settings: Settings, token: str | None) -> bool:
    if not token or not settings.admin_token:
        return False
    return hmac.compare_digest(token.encode(), settings.admin_token.encode())


def require_admin(settings: SettingsDep, credentials: BearerDep) -> None:
    if credentials is None:
        raise Unauthorized("admin token required: Authorization: Bearer <WATTWITNESS_ADMIN_TOKEN>")
    if not is_admin_token(settings, credentials.credentials):
        raise Forbidden("the token is not the admin token")


AdminAuth = Annotated[None, Depends(require_admin)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
