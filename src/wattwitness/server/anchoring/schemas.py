"""Wire shapes of the anchoring endpoints (docs/api.md, "Anchoring"). Record bytes as plain hex (as the
readings API writes them), chain values (addresses, transaction hashes) as 0x-prefixed hex."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NextAnchorOut(BaseModel):
    installation_id: int
    head_record: str = Field(description="the batch's last WW2 record, 148 hex")
    head_signature: str = Field(description="its r||s signature, 128 hex")
    merkle_root: str = Field(description="RFC 6962 root over the batch's records in chain order, 64 hex")
    count: int
    first_reading_id: int
    head_reading_id: int
    head_boot: int
    head_seq: int
    is_baseline: bool = Field(description="true for an installation's first anchor (it credits nothing)")


class AnchorOut(BaseModel):
    id: int
    installation_id: int
    chain_id: int
    ledger_address: str
    anchor_index: int
    head_boot: int
    head_seq: int
    head_hash: str
    merkle_root: str
    count: int
    energy_wh: float = Field(description="the meter's counter at the head, Wh")
    tx_hash: str | None
    block_number: int | None
    submitted_by: str | None
    created_at: datetime


class ProofOut(BaseModel):
    reading_id: int
    record: str = Field(description="the reading's WW2 record, 148 hex: the leaf is SHA-256(0x00 || record)")
    leaf_index: int
    tree_size: int
    audit_path: list[str] = Field(description="RFC 6962 audit path, sibling hashes from the leaf up, 64 hex each")
    root: str
    anchor: AnchorOut
