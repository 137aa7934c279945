"""Integrity report of one installation: what the stored chain says about completeness and tampering.

Counts by status, the gaps still open (with how many readings are missing), chain restarts, counter
resets and the latest security events. Lists are capped (newest kept) so a pathological history
cannot make the report unbounded. On request it also re-verifies the stored rows (reverify.py): the
status column says what the ingest decided, the re-verification whether the rows still deserve it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement, TextClause

from wattwitness.server.db.models import (
    STATUS_COUNTER_RESET,
    STATUS_DIGEST_ONLY,
    STATUS_GAP,
    UNUSUAL_SQL,
    ZERO_PREV_SQL,
    Reading,
    SecurityEvent,
)
from wattwitness.server.energy.service import get_installation
from wattwitness.server.integrity.reverify import reverify
from wattwitness.server.integrity.schemas import ChainMark, Gap, IntegrityReport, Position, SecurityEventOut

LIST_LIMIT = 200
EVENT_LIMIT = 50


def missing_between(after: Position | None, before: Position) -> tuple[int, bool]:
    """(readings missing between two stored readings, whether that number is exact).

    Within a boot the seq numbers say exactly. Across boots only the new boot's missing start is known
    (`before.seq - 1`); the old boot may have signed more after `after`, so that count is a lower bound,
    and at least one record (the missing predecessor) is gone.
    """
    if after is not None and after.boot == before.boot:
        return before.seq - after.seq - 1, True
    return max(1, before.seq - 1), False


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def zero_prev(dialect: str) -> TextClause:
    """`prev` is 32 zero bytes, written as the literal of the partial index `ix_readings_chain_restarts`,
    so the chain-restart query can use it (SQLite matches a partial index only on the same literal term)."""
    return text(ZERO_PREV_SQL["postgresql" if dialect == "postgresql" else "sqlite"])


# The predicate of the partial index `ix_readings_unusual`, repeated in each query it should serve.
UNUSUAL = text(UNUSUAL_SQL)


def integrity_report(session: Session, installation_id: int, verify_limit: int | None = None) -> IntegrityReport:
    """The report; with `verify_limit`, also re-verify up to that many stored rows (reverify.py)."""
    installation = get_installation(session, installation_id)
    # The rare statuses are counted (an index on (installation_id, status) makes each a range count);
    # verified is the rest of the installation's reading_count, which the ingest keeps.
    counts = {status: session.scalar(select(func.count()).select_from(Reading).where(
        Reading.installation_id == installation_id, UNUSUAL, Reading.status == status)) or 0
        for status in (STATUS_GAP, STATUS_COUNTER_RESET, STATUS_DIGEST_ONLY)}
    total = installation.reading_count
    report = IntegrityReport(
        verified=total - sum(counts.values()), gap=counts[STATUS_GAP], counter_reset=counts[STATUS_COUNTER_RESET],
        digest_only=counts[STATUS_DIGEST_ONLY], total=total,
        gaps=_gaps(session, installation_id),
        chain_restarts=_chain_restarts(session, installation_id),
        counter_resets=_marks(session, installation_id, UNUSUAL, Reading.status == STATUS_COUNTER_RESET),
        security_events=_security_events(session, installation_id),
    )
    if verify_limit is not None:
        report.verification = reverify(session, installation, verify_limit)
    return report


def _position(row: Reading) -> Position:
    return Position(boot=row.boot, seq=row.seq, ts=row.ts)


def _gaps(session: Session, installation_id: int) -> list[Gap]:
    gap_rows = session.scalars(
        select(Reading).where(Reading.installation_id == installation_id, UNUSUAL, Reading.status == STATUS_GAP)
        .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(LIST_LIMIT)
    ).all()
    gaps = []
    for row in reversed(gap_rows):
        # The stored reading just before the gap reading in chain order: one probe of the unique index.
        previous = session.scalars(
            select(Reading).where(Reading.installation_id == installation_id,
                                  tuple_(Reading.boot, Reading.seq) < tuple_(row.boot, row.seq))
            .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1)
        ).first()
        after = _position(previous) if previous is not None else None
        before = _position(row)
        missing, exact = missing_between(after, before)
        gaps.append(Gap(from_ts=after.ts if after else None, to_ts=before.ts, after=after, before=before,
                        missing=missing, missing_exact=exact))
    return gaps


def _chain_restarts(session: Session, installation_id: int) -> list[ChainMark]:
    first = session.execute(
        select(Reading.boot, Reading.seq).where(Reading.installation_id == installation_id)
        .order_by(Reading.boot.asc(), Reading.seq.asc()).limit(1)
    ).first()
    if first is None:
        return []
    return _marks(session, installation_id, zero_prev(session.get_bind().dialect.name),
                  tuple_(Reading.boot, Reading.seq) > tuple_(first.boot, first.seq))


def _marks(session: Session, installation_id: int, *conditions: ColumnElement[bool] | TextClause) -> list[ChainMark]:
    rows = session.execute(
        select(Reading.boot, Reading.seq, Reading.ts)
        .where(Reading.installation_id == installation_id, *conditions)
        .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(LIST_LIMIT)
    ).all()
    return [ChainMark(boot=row.boot, seq=row.seq, ts=row.ts) for row in reversed(rows)]


def _security_events(session: Session, installation_id: int) -> list[SecurityEventOut]:
    events = session.scalars(
        select(SecurityEvent).where(SecurityEvent.installation_id == installation_id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc()).limit(EVENT_LIMIT)
    ).all()
    return [SecurityEventOut(id=event.id, kind=event.kind, outcome=event.kind, detail=event.detail,
                             ts=_unix(event.created_at), created_at=event.created_at.isoformat())
            for event in events]
