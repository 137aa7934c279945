"""Wire shapes of the system status endpoint (docs/api.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Overall(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


class Liveness(StrEnum):
    LIVE = "live"
    STALE = "stale"
    OFFLINE = "offline"


class InternetStatus(BaseModel):
    connected: bool
    latency_ms: float | None
    checked_at: int | None = Field(description="Unix seconds of the last probe; null before the first")
    target: str
    error: str | None = None


class InstallationLiveness(BaseModel):
    id: int
    name: str
    liveness: Liveness
    last_reading_age_s: int | None = Field(description="seconds since the last reading's ts; null without readings")
    last_reading_at: int | None


class DatabaseStatus(BaseModel):
    ok: bool
    backend: str
    error: str | None = None


class SystemStatus(BaseModel):
    overall: Overall
    reasons: list[str] = Field(description="why overall is not ok, for people")
    internet: InternetStatus
    installations: list[InstallationLiveness]
    database: DatabaseStatus
    chain: dict[str, Any]
    security_events_24h: int
    checked_at: int
