"""Logging for every WattWitness process: one line per event, plain text or JSON, with request ids.

`configure_logging()` installs a single handler on the root logger. Each record becomes exactly one line
(newlines inside messages are escaped), as text (`2026-11-27T07:13:04Z INFO wattwitness.x [req] msg`) or,
when `WATTWITNESS_LOG_FORMAT=json`, as one JSON object per line for log shippers.

`RequestIdMiddleware` gives each HTTP request an id (the caller's `X-Request-ID` when it is sane, a fresh
one otherwise), keeps it in a context variable so every log line written while serving the request
carries it, echoes it in the response header, and writes one access line per request.

Secrets never reach the output: `register_secret()` names values (the admin token, database passwords)
that the formatter replaces by `***`, bearer credentials are masked wherever they appear, and any
128-hex-digit run (a full public key or signature) is cut to its first 16 digits.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LogFormat = Literal["text", "json"]
FORMAT_ENV = "WATTWITNESS_LOG_FORMAT"
LEVEL_ENV = "WATTWITNESS_LOG_LEVEL"
REQUEST_ID_HEADER = "x-request-id"

request_id_var: ContextVar[str | None] = ContextVar("wattwitness_request_id", default=None)

access_log = logging.getLogger("wattwitness.access")

# A caller-supplied id is echoed into logs, so it must not be able to forge lines or smuggle data.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
# 128 hex digits is a full P-256 public key (X||Y) or a full r||s signature; 16 digits identify it.
_LONG_HEX = re.compile(r"(?i)\b([0-9a-f]{16})[0-9a-f]{112,}\b")
# Fields of a LogRecord that are not user `extra=` values (uvicorn adds an ANSI-coloured copy of each message).
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a value that must never be written to a log (too-short values would mask ordinary text)."""
    if value and len(value) >= 8:
        _secrets.add(value)


def redact(text: str) -> str:
    """The text with registered secrets, bearer credentials and full keys/signatures masked."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    return _LONG_HEX.sub(r"\1…", text)


def current_request_id() -> str | None:
    return request_id_var.get()


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _RESERVED and not key.startswith("_")}


class TextFormatter(logging.Formatter):
    """`<UTC time> <LEVEL> <logger> [<request id>] <message> key=value ...`, always one line."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), record.levelname, record.name]
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            parts.append(f"[{request_id}]")
        parts.append(record.getMessage())
        for key, value in _extras(record).items():
            if key != "request_id":
                parts.append(f"{key}={value}")
        if record.exc_info:
            parts.append(self.formatException(record.exc_info))
        line = " ".join(str(part) for part in parts)
        return redact(line).replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # json.dumps escapes newlines, so the object stays on one line.
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class _WattWitnessHandler(logging.Handler):
    """Writes one formatted line per record. Without an explicit stream it writes to whatever sys.stderr
    is at that moment (as logging's last-resort handler does), so a handler installed early keeps working
    when a test runner or a daemon wrapper swaps the stream. The class also marks the handler this module
    installed, so configuring twice replaces it instead of doubling lines."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream or sys.stderr
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(log_format: str | None = None, level: str | int | None = None, stream: Any = None) -> None:
    """Install the one-line handler on the root logger; format and level default to the environment."""
    chosen = (log_format or os.environ.get(FORMAT_ENV) or "text").strip().lower()
    if chosen not in ("text", "json"):
        raise ValueError(f"{FORMAT_ENV} must be 'text' or 'json', got {chosen!r}")
    handler = _WattWitnessHandler(stream)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, _WattWitnessHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level or os.environ.get(LEVEL_ENV, "INFO").upper())
    # Uvicorn's own handlers would print a second, differently shaped line; route it through ours and
    # drop its access log, which RequestIdMiddleware replaces with one that carries the request id.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").handlers.clear()
    logging.getLogger("uvicorn.access").propagate = False


class RequestIdMiddleware:
    """Pure ASGI middleware (it does not buffer streamed responses such as the live SSE feed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Path only: query strings are the caller's and may carry anything.
            access_log.info(
                "%s %s %d %.1fms", scope.get("method", "-"), scope.get("path", "-"), status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            text = value.decode("latin-1")
            return text if _SANE_REQUEST_ID.fullmatch(text) else None
    return None


def is_configured() -> bool:
    return any(isinstance(handler, _WattWitnessHandler) for handler in logging.getLogger().handlers)


def install(app: Any) -> None:
    """The app factory's one-line hook: request ids and access lines for every request.

    Server worker processes build their app without passing through `wattwitness serve`'s set-up, so the
    hook configures logging from the environment when no handler is installed at all (one that is, a test
    runner's or an embedding application's, is left alone)."""
    if not logging.getLogger().handlers:
        configure_logging()
    settings = getattr(app.state, "settings", None)
    register_secret(getattr(settings, "admin_token", None))
    register_secret(_database_password(getattr(settings, "database_url", None)))
    app.add_middleware(RequestIdMiddleware)


def _database_password(database_url: str | None) -> str | None:
    if not database_url:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(database_url).password
    except ArgumentError:
        return None
