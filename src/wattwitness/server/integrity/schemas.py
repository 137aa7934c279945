"""Wire shapes of the integrity endpoint (docs/api.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Position(BaseModel):
    boot: int
    seq: int
    ts: int


class ChainMark(Position):
    pass


class Gap(BaseModel):
    from_ts: int | None = Field(description="ts of the stored reading before the gap; null when none is stored")
    to_ts: int = Field(description="ts of the stored reading after the gap (the one marked `gap`)")
    after: Position | None
    before: Position
    missing: int = Field(description="readings missing; a lower bound when the gap spans boots")
    missing_exact: bool


class SecurityEventOut(BaseModel):
    id: int
    kind: str
    outcome: str
    detail: str
    ts: int
    created_at: str


class Problem(BaseModel):
    boot: int
    seq: int
    ts: int
    outcome: str = Field(description="PROTOCOL.md §4 outcome the stored row re-verifies as, or record_hash_mismatch")
    detail: str


class Verification(BaseModel):
    """Present with `?verify=full`: every stored row re-checked against the registered key and meter."""

    checked: int = Field(description="rows re-verified, from the start of the chain")
    complete: bool = Field(description="false when `limit` stopped the check before the newest row")
    ok: bool
    problem_count: int
    problems: list[Problem] = Field(description="the first 1,000 problems in chain order")
    pruned_gaps: int = Field(0, description="verified rows whose predecessor `db prune` removed on purpose "
                                            "(inside the retention baseline, so not problems)")


class IntegrityReport(BaseModel):
    verified: int
    gap: int
    counter_reset: int
    digest_only: int
    total: int
    gaps: list[Gap]
    chain_restarts: list[ChainMark]
    counter_resets: list[ChainMark]
    security_events: list[SecurityEventOut]
    verification: Verification | None = None
