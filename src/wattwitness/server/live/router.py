"""GET /api/v1/readings/{installation_id}/stream: server-sent events, one `event: reading` per stored reading.

The stream holds no database connection while it waits: each poll opens a short session in the
thread pool, so a hundred open dashboards do not pin a hundred pooled connections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from wattwitness.server.db.models import Reading
from wattwitness.server.db.session import Database
from wattwitness.server.deps import INT64_MAX, DatabaseDep, InstallationId
from wattwitness.server.energy.service import get_installation
from wattwitness.server.live.bus import reading_bus
from wattwitness.server.live.stream import StreamTiming, reading_events
from wattwitness.server.readings.queries import to_out_many

router = APIRouter(prefix="/api/v1/readings", tags=["live"])

# Rows of all installations looked at per poll, and readings of this one sent per poll, at most: a client
# resuming far behind catches up over several polls.
SCAN_LIMIT = 5_000
SCAN_ROUNDS = 10
FETCH_LIMIT = 500
TIMING = StreamTiming()


def _start_after(database: Database, installation_id: int, last_event_id: str | None) -> int:
    """The id to stream after: the client's Last-Event-ID when it resumes, else the newest stored id."""
    with database.session() as session:
        get_installation(session, installation_id)
        if last_event_id is not None and last_event_id.strip().isdigit() and int(last_event_id) <= INT64_MAX:
            return int(last_event_id.strip())
        # The newest id of any installation: a primary-key look-up, where the newest of this one is not.
        return session.scalar(select(func.max(Reading.id))) or 0


def _fetch_after(database: Database, installation_id: int, floor: int) -> tuple[list[tuple[int, dict[str, Any]]], int]:
    """Readings of `installation_id` above `floor`, and the highest id looked at.

    The scan walks the primary key over everybody's new rows (a few seconds' worth) instead of the
    installation's index, whose rows are ordered by ts, not by id: that keeps each poll cheap however
    long the history is, on SQLite and PostgreSQL alike.
    """
    with database.session() as session:
        mine: list[int] = []
        scanned_up_to = floor
        for _ in range(SCAN_ROUNDS):
            rows = session.execute(
                select(Reading.id, Reading.installation_id).where(Reading.id > scanned_up_to).order_by(Reading.id)
                .limit(SCAN_LIMIT)
            ).all()
            for row in rows:
                scanned_up_to = row.id
                if row.installation_id == installation_id:
                    mine.append(row.id)
                    if len(mine) == FETCH_LIMIT:
                        break
            if len(mine) == FETCH_LIMIT or len(rows) < SCAN_LIMIT:
                break
        if not mine:
            return [], scanned_up_to
        installation = get_installation(session, installation_id)
        readings = session.scalars(select(Reading).where(Reading.id.in_(mine)).order_by(Reading.id)).all()
        return [(out.id, out.model_dump(mode="json")) for out in to_out_many(session, readings, installation)], \
            scanned_up_to


@router.get(
    "/{installation_id}/stream",
    summary="Live readings as server-sent events (`event: reading`, data = the reading JSON)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 404: {"description": "no such installation"}},
)
async def stream(
    installation_id: InstallationId,
    request: Request,
    database: DatabaseDep,
    last_event_id: Annotated[str | None, Header(description="resume after this reading id")] = None,
) -> StreamingResponse:
    start_after = await run_in_threadpool(_start_after, database, installation_id, last_event_id)

    async def fetch_after(floor: int) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        return await run_in_threadpool(_fetch_after, database, installation_id, floor)

    async def events() -> AsyncIterator[str]:
        with reading_bus.subscribe(installation_id) as wake:
            async for chunk in reading_events(fetch_after, start_after, wake, request.is_disconnected, TIMING):
                yield chunk

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
