"""System status: the database, the background internet probe, device liveness, anchoring, security events.

Status must answer when things are broken (that is when people look at it), so a database failure
becomes `overall: error` with the reason, not a 5xx.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from wattwitness.server.db.models import Anchor, Installation, Reading, SecurityEvent
from wattwitness.server.db.session import Database
from wattwitness.server.settings import Settings
from wattwitness.server.status.probe import ProbeResult
from wattwitness.server.status.schemas import (
    DatabaseStatus,
    InstallationLiveness,
    InternetStatus,
    Liveness,
    Overall,
    SystemStatus,
)


def liveness(age_s: int | None, settings: Settings) -> Liveness:
    """live within `live_intervals` reading intervals, stale until `offline_after_s`, offline after."""
    if age_s is None:
        return Liveness.OFFLINE
    if age_s <= settings.live_intervals * settings.reading_interval_s:
        return Liveness.LIVE
    if age_s <= settings.offline_after_s:
        return Liveness.STALE
    return Liveness.OFFLINE


def _installations(session: Session, settings: Settings, now: int) -> list[InstallationLiveness]:
    result = []
    for installation in session.scalars(
        select(Installation).where(Installation.is_active.is_(True)).order_by(Installation.id)
    ):
        # max(ts) on the (installation_id, ts) index: one probe per installation.
        last_ts = session.scalar(select(func.max(Reading.ts)).where(Reading.installation_id == installation.id))
        age = None if last_ts is None else max(0, now - last_ts)
        result.append(InstallationLiveness(id=installation.id, name=installation.name,
                                           liveness=liveness(age, settings), last_reading_age_s=age,
                                           last_reading_at=last_ts))
    return result


def _chain(session: Session) -> dict[str, Any]:
    """The latest anchor of each installation, from the anchors table the anchoring side fills."""
    latest = (select(Anchor.installation_id, func.max(Anchor.anchor_index).label("anchor_index"))
              .group_by(Anchor.installation_id).subquery())
    anchors = session.scalars(
        select(Anchor).join(latest, (Anchor.installation_id == latest.c.installation_id)
                            & (Anchor.anchor_index == latest.c.anchor_index))
        .order_by(Anchor.installation_id, Anchor.id.desc())
    ).all()
    if not anchors:
        return {"configured": False, "status": "not configured", "anchors": []}
    seen: set[int] = set()
    latest_anchors = []
    for anchor in anchors:
        if anchor.installation_id in seen:  # several ledgers: the newest row wins
            continue
        seen.add(anchor.installation_id)
        latest_anchors.append({
            "installation_id": anchor.installation_id, "anchor_index": anchor.anchor_index,
            "chain_id": anchor.chain_id, "ledger_address": "0x" + anchor.ledger_address.hex(),
            "head": {"boot": anchor.head_boot, "seq": anchor.head_seq}, "count": anchor.count,
            "energy_mwh": anchor.energy_mwh,
            "tx_hash": "0x" + anchor.tx_hash.hex() if anchor.tx_hash else None,
            "block_number": anchor.block_number, "anchored_at": int(anchor.created_at.timestamp()),
        })
    return {"configured": True, "status": "anchoring", "anchors": latest_anchors}


def system_status(database: Database, settings: Settings, probe: ProbeResult) -> SystemStatus:
    now = int(time.time())
    internet = InternetStatus(connected=probe.connected, latency_ms=probe.latency_ms, checked_at=probe.checked_at,
                              target=probe.target, error=probe.error)
    backend = "sqlite" if database.is_sqlite else "postgresql"
    reasons: list[str] = []
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
            installations = _installations(session, settings, now)
            chain = _chain(session)
            since = datetime.now(UTC) - timedelta(hours=24)
            events = session.scalar(select(func.count()).select_from(SecurityEvent)
                                    .where(SecurityEvent.created_at >= since)) or 0
    except SQLAlchemyError as err:
        return SystemStatus(
            overall=Overall.ERROR, reasons=["the database does not answer"], internet=internet, installations=[],
            database=DatabaseStatus(ok=False, backend=backend, error=type(err).__name__),
            chain={"configured": None, "status": "unknown"}, security_events_24h=0, checked_at=now)
    if not internet.connected:
        reasons.append("no internet connection" if probe.checked_at is not None else "internet not probed yet")
    for item in installations:
        if item.liveness is not Liveness.LIVE:
            reasons.append(f"installation {item.id} ({item.name}) is {item.liveness.value}")
    if events:
        reasons.append(f"{events} security event(s) in the last 24 h")
    return SystemStatus(overall=Overall.WARNING if reasons else Overall.OK, reasons=reasons, internet=internet,
                        installations=installations, database=DatabaseStatus(ok=True, backend=backend),
                        chain=chain, security_events_24h=events, checked_at=now)
