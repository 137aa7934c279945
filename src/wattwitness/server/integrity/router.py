"""GET /api/v1/readings/{installation_id}/integrity: what the stored chain says about completeness."""

from __future__ import annotations

from fastapi import APIRouter

from wattwitness.server.deps import InstallationId, SessionDep
from wattwitness.server.integrity.schemas import IntegrityReport
from wattwitness.server.integrity.service import integrity_report

router = APIRouter(prefix="/api/v1/readings", tags=["integrity"])


@router.get("/{installation_id}/integrity", response_model=IntegrityReport,
            summary="Counts by status, open gaps, chain restarts, counter resets, security events",
            responses={404: {"description": "no such installation"}})
def integrity(installation_id: InstallationId, session: SessionDep) -> IntegrityReport:
    return integrity_report(session, installation_id)
