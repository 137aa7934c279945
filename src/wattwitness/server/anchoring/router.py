"""HTTP routes for anchoring: the next batch for a relayer or CRE workflow, anchors, reading proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from wattwitness.chain.config import ChainSettings
from wattwitness.server.anchoring import service
from wattwitness.server.anchoring.schemas import AnchorOut, NextAnchorOut, ProofOut
from wattwitness.server.deps import SessionDep

router = APIRouter(tags=["anchoring"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such installation or reading, or the reading is not anchored yet"},
}


@router.get("/api/v1/anchoring/next", response_model=NextAnchorOut,
            responses={204: {"description": "nothing pending"}, **NOT_FOUND})
def next_anchor(installation_id: Annotated[int, Query(ge=1)], session: SessionDep) -> NextAnchorOut | Response:
    """What to submit next: `anchor(installation_id, head_record, head_signature, merkle_root, count)`."""
    result = service.next_anchor(session, installation_id, ChainSettings().max_batch)
    if result is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return result


@router.get("/api/v1/anchors", response_model=list[AnchorOut], responses=NOT_FOUND)
def list_anchors(
    session: SessionDep,
    installation_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AnchorOut]:
    """Anchors recorded by the relayer or the listener, newest head first, with chain id, ledger and tx."""
    return service.list_anchors(session, installation_id, limit)


@router.get("/api/v1/readings/proof/{reading_id}", response_model=ProofOut,
            responses={**NOT_FOUND, 409: {"description": "stored readings no longer match the anchored root"},
                       410: {"description": "the reading, or part of its anchored batch, was pruned by retention"}})
def reading_proof(reading_id: int, session: SessionDep) -> ProofOut:
    """RFC 6962 inclusion proof of a reading in its anchored batch; check it on-chain with `verifyInclusion`."""
    return service.reading_proof(session, reading_id)
