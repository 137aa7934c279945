"""GET /health: 200 when the database answers, 503 when it does not (for load balancers and systemd)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from wattwitness.server.deps import DatabaseDep

router = APIRouter(tags=["health"])


def database_ok(database: DatabaseDep) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


@router.get("/health", responses={503: {"description": "the database does not answer"}})
def health(database: DatabaseDep) -> JSONResponse:
    if database_ok(database):
        return JSONResponse({"status": "ok", "database": "ok"})
    return JSONResponse({"status": "error", "database": "unavailable", "error": "database_unavailable",
                         "detail": "the database does not answer"}, 503)
