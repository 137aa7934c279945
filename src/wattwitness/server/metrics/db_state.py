"""Reads the scrape-time state of every installation from the database (see state.py for why at scrape time).

Each figure is an index look-up: newest reading through (installation_id, ts), the newest anchored head
through (installation_id, head_boot, head_seq) and (installation_id, boot, seq); the pending count
scans only the readings after that head, which is the relayer's backlog, not the history.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from wattwitness.server.db.models import Anchor, Installation, Reading
from wattwitness.server.db.session import Database
from wattwitness.server.metrics.state import InstallationState, StateLoader


def load_state(session: Session) -> list[InstallationState]:
    states = []
    for installation_id, name, reading_count in session.execute(
        select(Installation.id, Installation.name, Installation.reading_count).order_by(Installation.id)
    ):
        last_ts = session.scalar(select(func.max(Reading.ts)).where(Reading.installation_id == installation_id))
        anchors = session.scalar(select(func.count()).select_from(Anchor)
                                 .where(Anchor.installation_id == installation_id)) or 0
        head = session.execute(
            select(Anchor.head_boot, Anchor.head_seq).where(Anchor.installation_id == installation_id)
            .order_by(Anchor.head_boot.desc(), Anchor.head_seq.desc()).limit(1)
        ).first()
        anchored_ts: int | None = None
        pending = reading_count or 0
        if head is not None:
            boot, seq = head
            anchored_ts = session.scalar(select(Reading.ts).where(
                Reading.installation_id == installation_id, Reading.boot == boot, Reading.seq == seq))
            pending = session.scalar(select(func.count()).select_from(Reading).where(
                Reading.installation_id == installation_id,
                or_(Reading.boot > boot, and_(Reading.boot == boot, Reading.seq > seq)),
            )) or 0
        states.append(InstallationState(installation_id, name, last_ts, anchors, anchored_ts, pending))
    return states


def database_loader(database: Database) -> StateLoader:
    def load() -> list[InstallationState]:
        with database.session() as session:
            return load_state(session)

    return load
