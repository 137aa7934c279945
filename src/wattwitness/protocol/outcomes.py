"""The names PROTOCOL.md §4 and §5 give to each verification outcome; every component uses these."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # Accepted: stored (or already stored).
    VERIFIED = "verified"
    GAP = "gap"
    COUNTER_RESET = "counter_reset"
    DUPLICATE = "duplicate"
    DIGEST_ONLY = "digest_only"
    # Rejected: nothing stored.
    MALFORMED = "malformed"
    INVALID_SIGNATURE = "invalid_signature"
    WRONG_METER = "wrong_meter"
    EQUIVOCATION = "equivocation"
    FUTURE_TIMESTAMP = "future_timestamp"
    CHAIN_BREAK = "chain_break"
    DIGEST_MISMATCH = "digest_mismatch"
    # Not a verifier outcome but a server one: no installation is registered for the record's meter.
    UNKNOWN_METER = "unknown_meter"

    @property
    def accepted(self) -> bool:
        return self in _ACCEPTED

    @property
    def security_event(self) -> bool:
        """Rejections that say someone tampered or a key signed two histories (PROTOCOL.md §4)."""
        return self in _SECURITY_EVENTS


_ACCEPTED = frozenset(
    {Outcome.VERIFIED, Outcome.GAP, Outcome.COUNTER_RESET, Outcome.DUPLICATE, Outcome.DIGEST_ONLY}
)
_SECURITY_EVENTS = frozenset(
    {Outcome.INVALID_SIGNATURE, Outcome.WRONG_METER, Outcome.EQUIVOCATION, Outcome.CHAIN_BREAK}
)


class ProtocolError(ValueError):
    """Bytes that are not a WW2 record or key; always means the outcome `malformed`."""

    outcome = Outcome.MALFORMED
