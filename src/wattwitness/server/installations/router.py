"""HTTP routes for installations and enrollment tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from wattwitness.server.deps import AdminAuth, BearerDep, InstallationId, SessionDep, SettingsDep
from wattwitness.server.installations import service
from wattwitness.server.installations.schemas import EnrollmentTokenOut, InstallationCreate, InstallationOut

router = APIRouter(prefix="/api/v1/installations", tags=["installations"])
enrollment_router = APIRouter(prefix="/api/v1/enrollment-tokens", tags=["installations"])

ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "no token"}, 403: {"description": "token not accepted"},
          409: {"description": "key or meter bound to another installation"},
          422: {"description": "malformed body or invalid enrollment signature"}}


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=InstallationOut,
             responses={200: {"description": "already enrolled with this key and meter", "model": InstallationOut},
                        **ERRORS})
def create_installation(body: InstallationCreate, session: SessionDep, settings: SettingsDep, credentials: BearerDep,
                        response: Response) -> InstallationOut:
    """Enroll a device key for a meter (admin or one-time enrollment token); legacy installations: admin only."""
    auth = service.authorize(session, settings, credentials.credentials if credentials else None)
    installation, created = service.create_installation(session, body, auth)
    if not created:
        response.status_code = status.HTTP_200_OK
    return service.summarize(session, installation)


@router.get("/", response_model=list[InstallationOut])
def list_installations(
    session: SessionDep,
    key_id: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F]{16}$", description="16 hex: the key's id")] = None,
) -> list[InstallationOut]:
    return [service.summarize(session, item) for item in service.list_installations(session, key_id)]


@router.get("/{installation_id}", response_model=InstallationOut, responses={404: {"description": "no such"}})
def get_installation(installation_id: InstallationId, session: SessionDep) -> InstallationOut:
    return service.summarize(session, service.get_installation(session, installation_id))


@enrollment_router.post("/", status_code=status.HTTP_201_CREATED, response_model=EnrollmentTokenOut,
                        responses={401: {"description": "no token"}, 403: {"description": "not the admin"}})
def create_enrollment_token(_: AdminAuth, session: SessionDep, settings: SettingsDep) -> EnrollmentTokenOut:
    """A one-time token that allows exactly one installation to be created (admin only)."""
    token, expires_at = service.create_enrollment_token(session, settings.enrollment_token_ttl_s)
    return EnrollmentTokenOut(token=token, expires_at=int(expires_at.timestamp()))
