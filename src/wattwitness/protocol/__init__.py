"""The WW2 signed-record protocol (shared/PROTOCOL.md): pure functions and values, no I/O."""

from wattwitness.protocol.chain import (
    ChainReport,
    ChainStore,
    MemoryChainStore,
    StoredRecord,
    Verdict,
    check_chain,
    check_signed,
    parse_item,
    verify_chain,
)
from wattwitness.protocol.keys import key_id, low_s, public_key_bytes, sign, verify
from wattwitness.protocol.legacy import check_legacy, legacy_message
from wattwitness.protocol.merkle import audit_path, leaf_hash, merkle_root, node_hash, verify_inclusion
from wattwitness.protocol.outcomes import Outcome, ProtocolError
from wattwitness.protocol.records import (
    ZERO_HASH,
    Enrollment,
    Reading,
    follows,
    format_mac,
    parse_mac,
    record_hash,
)
from wattwitness.protocol.units import milli_from_decimal_text

__all__ = [
    "ZERO_HASH", "ChainReport", "ChainStore", "Enrollment", "MemoryChainStore", "Outcome", "ProtocolError",
    "Reading", "StoredRecord", "Verdict", "audit_path", "check_chain", "check_legacy", "check_signed",
    "follows", "format_mac", "key_id", "leaf_hash", "legacy_message", "low_s", "merkle_root",
    "milli_from_decimal_text", "node_hash", "parse_item", "parse_mac", "public_key_bytes", "record_hash",
    "sign", "verify", "verify_chain", "verify_inclusion",
]
