"""HTTP routes for readings: ingest (single, batch, legacy), pages, latest, export."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from wattwitness.protocol import Outcome
from wattwitness.server.db.models import Installation, Reading
from wattwitness.server.deps import DatabaseDep, InstallationId, SessionDep, SettingsDep, UnixSeconds, client_address
from wattwitness.server.errors import OUTCOME_STATUS, NotFound, error_body
from wattwitness.server.installations.service import get_installation
from wattwitness.server.live.bus import notify_readings
from wattwitness.server.metrics.events import OUTBOX_DEPTH_HEADER, observe_batch, observe_ingest
from wattwitness.server.ratelimit import BATCH_REJECTIONS, charged
from wattwitness.server.readings import export, legacy, queries, service
from wattwitness.server.readings.schemas import (
    EXAMPLE_ITEM,
    EXAMPLE_LEGACY,
    BatchIn,
    BatchOut,
    IngestOut,
    LegacyReadingIn,
    ReadingOut,
    ReadingPage,
    SignedItem,
)

router = APIRouter(prefix="/api/v1/readings", tags=["readings"])

INGEST_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown_meter: no installation has the record's meter"},
    409: {"description": "equivocation or chain_break (recorded as a security event)"},
    413: {"description": "payload_too_large"},
    422: {"description": "malformed, invalid_signature, wrong_meter, future_timestamp, digest_mismatch"},
}


def _ingest_out(session: Session, reading: Reading, outcome: Outcome, detail: str) -> IngestOut:
    installation = session.get(Installation, reading.installation_id)
    assert installation is not None
    out = queries.to_out(reading, installation)
    return IngestOut(**out.model_dump(), outcome=outcome.value, detail=detail)


def _checked(session: Session, items: list[tuple[str, str]], max_future_s: int,
             request: Request) -> service.IngestReport:
    started = time.perf_counter()
    report = service.ingest(session, items, max_future_s=max_future_s, client=client_address(request))
    observe_ingest([r.outcome for r in report.results], time.perf_counter() - started)
    return report


def _commit_and_notify(session: Session, installation_ids: set[int]) -> None:
    # Commit here (not in the dependency) so the live streams are woken only for committed rows.
    session.commit()
    if installation_ids:
        notify_readings(installation_ids)


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=IngestOut,
             responses={200: {"description": "duplicate: already stored", "model": IngestOut}, **INGEST_ERRORS})
def post_reading(
    body: Annotated[SignedItem | LegacyReadingIn, Body(openapi_examples={
        "ww2": {"summary": "signed WW2 record", "value": EXAMPLE_ITEM},
        "legacy": {"summary": "original firmware (legacy installations only)", "value": EXAMPLE_LEGACY},
    })],
    request: Request, session: SessionDep, settings: SettingsDep,
) -> IngestOut | JSONResponse:
    """Store one signed reading after checking its signature and chain link (201; 200 when a duplicate)."""
    if isinstance(body, LegacyReadingIn):
        result = legacy.ingest_legacy(session, body)
        out = _ingest_out(session, result.reading, result.outcome, result.outcome.value)
        _commit_and_notify(session, {result.reading.installation_id} if result.outcome.accepted else set())
        return JSONResponse(out.model_dump(), 201 if result.outcome is Outcome.DIGEST_ONLY else 200)

    report = _checked(session, [(body.record, body.signature)], settings.max_future_s, request)
    item = report.results[0]
    if not item.outcome.accepted:
        # Returned, not raised: the security event recorded in this transaction must be committed.
        _commit_and_notify(session, set())
        return JSONResponse(error_body(item.outcome.value, item.detail), OUTCOME_STATUS.get(item.outcome, 422))
    _commit_and_notify(session, report.touched)
    assert item.row is not None and item.installation_id is not None
    # A new row is answered from what was just written; a duplicate is read back (it may be anchored).
    reading = session.get(Reading, item.reading_id) if item.outcome is Outcome.DUPLICATE else \
        item.row.as_reading(item.installation_id)
    assert reading is not None
    out = _ingest_out(session, reading, item.outcome, item.detail)
    return JSONResponse(out.model_dump(), 200 if item.outcome is Outcome.DUPLICATE else 201)


@router.post("/batch", response_model=BatchOut, responses={413: {"description": "payload_too_large"},
                                                           422: {"description": "malformed request"}})
def post_batch(body: BatchIn, request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Up to 5,000 signed readings in one transaction; one result per item, in request order."""
    report = _checked(session, [(item.record, item.signature) for item in body.readings], settings.max_future_s,
                      request)
    installation_ids = {r.installation_id for r in report.results if r.installation_id is not None}
    observe_batch(len(body.readings), request.headers.get(OUTBOX_DEPTH_HEADER),
                  next(iter(installation_ids)) if len(installation_ids) == 1 else None)
    _commit_and_notify(session, report.touched)
    setattr(request.state, BATCH_REJECTIONS, charged(r.outcome.value for r in report.results))
    stored = report.count(*service.STORED_OUTCOMES)
    duplicates = report.count(Outcome.DUPLICATE)
    # Plain dicts in BatchOut's shape (tests check it against the schema): validating 5,000 result models
    # again on the way out cost more than the chain checks.
    return JSONResponse({
        "results": [{"index": r.index, "outcome": r.outcome.value, "detail": r.detail, "reading_id": r.reading_id}
                    for r in report.results],
        "stored": stored, "duplicates": duplicates, "rejected": len(report.results) - stored - duplicates})


@router.get("/latest/{installation_id}", response_model=ReadingOut, responses={404: {"description": "none yet"}})
def latest_reading(installation_id: InstallationId, session: SessionDep) -> ReadingOut:
    """The reading with the greatest (boot, seq)."""
    installation = get_installation(session, installation_id)
    reading = queries.latest(session, installation)
    if reading is None:
        raise NotFound(f"installation {installation_id} has no readings yet")
    return queries.to_out_many(session, [reading], installation)[0]


@router.get("/{installation_id}", response_model=ReadingPage, responses={404: {"description": "no installation"}})
def list_readings(
    installation_id: InstallationId, session: SessionDep,
    since: UnixSeconds = None,
    until: UnixSeconds = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")] = None,
) -> ReadingPage:
    """Readings newest first, `limit` per page."""
    installation = get_installation(session, installation_id)
    rows, next_cursor = queries.page(session, installation, since=since, until=until, limit=limit, cursor=cursor)
    return ReadingPage(readings=queries.to_out_many(session, rows, installation), next_cursor=next_cursor)


@router.get("/{installation_id}/export", response_class=Response,
            responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}},
                             "description": "streamed, (boot, seq) order"},
                       404: {"description": "no such installation"}})
def export_readings(
    installation_id: InstallationId, session: SessionDep, database: DatabaseDep,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
    since: UnixSeconds = None,
    until: UnixSeconds = None,
) -> StreamingResponse:
    """Every reading as JSON Lines (`wattwitness verify` reads it) or CSV."""
    installation = get_installation(session, installation_id)
    filename = f"wattwitness-installation-{installation_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        return StreamingResponse(export.csv_rows(database, installation, since, until), media_type="text/csv",
                                 headers=headers)
    return StreamingResponse(export.jsonl(database, installation, since, until), media_type="application/x-ndjson",
                             headers=headers)
