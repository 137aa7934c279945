"""Wire shapes of readings, ingest results and pages (docs/api.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 5000

# chain[0] of the shared vectors: a valid example for /docs.
EXAMPLE_RECORD = ("57570201ec64c9c05e9700000001000000010000000068542a8c0000000000003fde00000000000022c4"
                  "0000000000000000000000000000000000000000000000000000000000000000")
EXAMPLE_SIGNATURE = ("ebd09f4ae546b86e0dddad5c554f90cb675097c77368fa9c994aae592a6005ac"
                     "5e45a78fe08f148388c498642a6b2d8759d3b8fa94232033039be40edf8d8053")
EXAMPLE_HASH = "36099594dbed17d6c9a4dbb197d473552f80c92c608413a2ce8db993cd58e5fd"


EXAMPLE_ITEM: dict[str, Any] = {"record": EXAMPLE_RECORD, "signature": EXAMPLE_SIGNATURE}
EXAMPLE_LEGACY: dict[str, Any] = {
    "power": 16.6, "total": 21700.0, "timestamp": 1750352712,
    "signature": "2F2B15C626527E957F49D2D7663A91ECCC7B8220C401598515282EA9EC6FA610"
                 "00000000000000005C20FB04000000000000000000000000D020FB0000000000",
    "shelly_payload": {"mac": "A0B1C2D3E4F5"}}
EXAMPLE_READING: dict[str, Any] = {
    "id": 1, "installation_id": 1, "power_w": 16.35, "total_wh": 8.9, "timestamp": 1750346380,
    "signature": EXAMPLE_SIGNATURE, "is_verified": True, "created_at": 1750346381, "boot": 1, "seq": 1,
    "record": EXAMPLE_RECORD, "record_hash": EXAMPLE_HASH, "status": "verified", "cumulative_wh": 0.0,
    "is_on_chain": False, "blockchain_tx_hash": None, "blockchain_block_number": None}


class SignedItem(BaseModel):
    """A WW2 reading record and its P-256 signature, as hex."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_ITEM]})

    record: str = Field(max_length=1024, description="148 hex: the 74-byte WW2 record")
    signature: str = Field(max_length=1024, description="128 hex: r||s")


class LegacyReadingIn(BaseModel):
    """What the original hackathon firmware posts; accepted only for legacy installations."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_LEGACY]})

    power: float = Field(description="W")
    total: float = Field(ge=0, description="Wh, the meter's counter")
    timestamp: int = Field(ge=0, le=2**63 - 1)
    signature: str = Field(max_length=1024)
    shelly_payload: dict[str, Any] | None = Field(default=None, description="the meter's answer; its `mac` "
                                                  "names the installation")
    installation_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                        description="names the installation when the payload has no MAC")


class ReadingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_READING]})

    id: int
    installation_id: int
    power_w: float
    total_wh: float
    timestamp: int
    signature: str
    is_verified: bool
    created_at: int
    boot: int
    seq: int
    record: str | None = Field(description="null for legacy readings")
    record_hash: str | None
    status: str = Field(description="verified | gap | counter_reset | digest_only")
    cumulative_wh: float = Field(description="lifetime production up to this reading")
    is_on_chain: bool
    blockchain_tx_hash: str | None
    blockchain_block_number: int | None


class IngestOut(ReadingOut):
    """The stored reading and how it was judged."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {**EXAMPLE_READING, "outcome": "verified", "detail": "verified"}]})

    outcome: str
    detail: str


class BatchIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"readings": [EXAMPLE_ITEM]}]})

    readings: list[SignedItem] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResult(BaseModel):
    index: int
    outcome: str
    detail: str
    reading_id: int | None


class BatchOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "results": [{"index": 0, "outcome": "verified", "detail": "verified", "reading_id": 1}],
        "stored": 1, "duplicates": 0, "rejected": 0}]})

    results: list[BatchResult]
    stored: int
    duplicates: int
    rejected: int


class ReadingPage(BaseModel):
    readings: list[ReadingOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null at the end")
