"""GET /api/v1/readings/{installation_id}/integrity: what the stored chain says about completeness,
and with `?verify=full` whether every stored row still verifies."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from wattwitness.server.deps import InstallationId, SessionDep
from wattwitness.server.integrity.schemas import IntegrityReport
from wattwitness.server.integrity.service import integrity_report

router = APIRouter(prefix="/api/v1/readings", tags=["integrity"])


@router.get("/{installation_id}/integrity", response_model=IntegrityReport,
            summary="Counts by status, open gaps, chain restarts, counter resets, security events; "
                    "verify=full re-verifies every stored row",
            responses={404: {"description": "no such installation"}})
def integrity(
    installation_id: InstallationId,
    session: SessionDep,
    verify: Annotated[Literal["full"] | None, Query(description="`full`: re-verify the stored rows")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000_000, description="rows to re-verify at most")] = 100_000,
) -> IntegrityReport:
    return integrity_report(session, installation_id, verify_limit=limit if verify == "full" else None)
