"""Domain errors and the one place that turns them (and validation/database failures) into responses.

Every 4xx/5xx body is `{"error": <outcome or code>, "detail": <human text>}` (docs/api.md).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wattwitness.protocol import Outcome

log = logging.getLogger(__name__)

# HTTP status of each rejection outcome on the single-reading endpoint (issue 3).
OUTCOME_STATUS: dict[Outcome, int] = {
    Outcome.MALFORMED: 422,
    Outcome.INVALID_SIGNATURE: 422,
    Outcome.WRONG_METER: 422,
    Outcome.FUTURE_TIMESTAMP: 422,
    Outcome.DIGEST_MISMATCH: 422,
    Outcome.EQUIVOCATION: 409,
    Outcome.CHAIN_BREAK: 409,
    Outcome.UNKNOWN_METER: 404,
}


class WattWitnessError(Exception):
    """Base of every domain error: a message, an HTTP status and the machine-readable `error` code."""

    status_code = 400
    error = "bad_request"

    def __init__(self, message: str, status_code: int | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if error is not None:
            self.error = error


class NotFound(WattWitnessError):
    status_code = 404
    error = "not_found"


class Conflict(WattWitnessError):
    status_code = 409
    error = "conflict"


class Gone(WattWitnessError):
    status_code = 410
    error = "gone"


class Unauthorized(WattWitnessError):
    status_code = 401
    error = "unauthorized"


class Forbidden(WattWitnessError):
    status_code = 403
    error = "forbidden"


class Malformed(WattWitnessError):
    status_code = 422
    error = "malformed"


class PayloadTooLarge(WattWitnessError):
    status_code = 413
    error = "payload_too_large"


class RejectedReading(WattWitnessError):
    """A reading the verifier rejected; `error` is its PROTOCOL.md outcome name."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail, OUTCOME_STATUS.get(outcome, 422), outcome.value)
        self.outcome = outcome


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the API (docs/api.md, "Errors")."""

    error: str = Field(description="outcome or error code, e.g. malformed, invalid_signature, not_found")
    detail: str = Field(description="what went wrong, for a person")


def document_error_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    """Makes the OpenAPI document say what the handlers below really send: `ErrorBody` for every error
    status, in place of FastAPI's default 422 schema (which no response of this API has)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorBody"] = ErrorBody.model_json_schema()
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    response["content"] = error_content
                    if status == "422":
                        response["description"] = "malformed request (error: malformed)"
    return schema


def error_body(error: str, detail: Any) -> dict[str, Any]:
    return {"error": error, "detail": detail}


def _validation_detail(err: RequestValidationError) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{where}: {item.get('msg', 'invalid')}" if where else str(item.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WattWitnessError)
    async def _domain(_: Request, exc: WattWitnessError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(error_body(exc.error, exc.message), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("malformed", _validation_detail(exc)), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI raises a bare 400 for a body it cannot parse as JSON: for our clients that is one more
            # unreadable body, named like all the others.
            return JSONResponse(error_body("malformed", f"the request body is not valid JSON: {exc.detail}"), 422)
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
                 413: "payload_too_large", 429: "rate_limited"}
        return JSONResponse(error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        # Connection refused, pool exhausted, SQLite locked for too long: the client may retry.
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return JSONResponse(error_body("database_unavailable", "the database does not answer; retry later"), 503,
                            headers={"Retry-After": "5"})

    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # A number the database cannot hold (SQLite raises OverflowError, PostgreSQL a DataError):
        # whatever the route, it came from the request.
        return JSONResponse(error_body("malformed", "a number in the request is out of range"), 422)

    app.add_exception_handler(OverflowError, _out_of_range)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            return await _database(request, exc)
        if isinstance(exc, DataError):
            return await _out_of_range(request, exc)
        log.exception("database error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "unexpected database error"), 500)

    app.add_exception_handler(PoolTimeoutError, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "unexpected server error"), 500)
