"""Creating installations (admin or one-time enrollment token), enrollment tokens, and installation summaries.

No path replaces a key: an installation's key and meter are fixed at creation. The same key and meter
enrolled again is answered with the existing installation; a key or meter bound elsewhere is a conflict.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wattwitness.protocol import Enrollment, Outcome, ProtocolError, format_mac, key_id, parse_mac, verify
from wattwitness.protocol.keys import load_public_key, parse_hex
from wattwitness.server.db.models import EnrollmentToken, Installation, Reading
from wattwitness.server.deps import is_admin_token
from wattwitness.server.errors import Conflict, Forbidden, Malformed, NotFound, RejectedReading, Unauthorized
from wattwitness.server.installations.schemas import InstallationCreate, InstallationOut
from wattwitness.server.settings import Settings

TOKEN_PREFIX = "wwe_"


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_enrollment_token(session: Session, ttl_s: int, now: datetime | None = None) -> tuple[str, datetime]:
    """A fresh one-time token; only its hash is stored."""
    now = now or datetime.now(UTC)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_s)
    session.add(EnrollmentToken(token_hash=hash_token(token), created_at=now, expires_at=expires_at))
    session.flush()
    return token, expires_at


@dataclass(frozen=True, slots=True)
class Authorization:
    """Who asks to create an installation: the admin, or the holder of an enrollment token."""

    admin: bool
    token: EnrollmentToken | None = None


def authorize(session: Session, settings: Settings, bearer: str | None) -> Authorization:
    if not bearer:
        raise Unauthorized("creating an installation needs the admin token or a one-time enrollment token")
    if is_admin_token(settings, bearer):
        return Authorization(admin=True)
    token = session.scalar(select(EnrollmentToken).where(EnrollmentToken.token_hash == hash_token(bearer))
                           .with_for_update())
    if token is None:
        raise Forbidden("the token is neither the admin token nor an enrollment token")
    if token.expires_at <= datetime.now(UTC):
        raise Forbidden("the enrollment token has expired")
    return Authorization(admin=False, token=token)


def _enrolled_key_and_meter(body: InstallationCreate) -> tuple[bytes, bytes]:
    """Checks the signed enrollment record: well formed, names the given key, signed by it."""
    if not (body.public_key and body.enrollment_record and body.enrollment_signature):
        raise Malformed("public_key, enrollment_record and enrollment_signature are required (or legacy: true)")
    try:
        public_key = parse_hex(body.public_key, 64, "public_key")
        load_public_key(public_key)
        record = parse_hex(body.enrollment_record, 82, "enrollment_record")
        enrollment = Enrollment.decode(record)
        signature = parse_hex(body.enrollment_signature, 64, "enrollment_signature")
    except ProtocolError as err:
        raise Malformed(str(err)) from err
    if enrollment.public_key != public_key:
        raise Malformed("the enrollment record names a different public key")
    if body.shelly_mac is not None and _mac(body.shelly_mac) != enrollment.meter:
        raise Malformed("shelly_mac differs from the meter in the signed enrollment record")
    if not verify(public_key, record, signature):
        raise RejectedReading(Outcome.INVALID_SIGNATURE,
                              "the enrollment signature does not verify under the given public key")
    return public_key, enrollment.meter


def _mac(text: str) -> bytes:
    try:
        return parse_mac(text)
    except ProtocolError as err:
        raise Malformed(str(err)) from err


def create_installation(session: Session, body: InstallationCreate, auth: Authorization) -> tuple[Installation, bool]:
    """(installation, created). Raises Conflict when the key or meter belongs to another installation."""
    if body.legacy:
        if not auth.admin:
            raise Forbidden("only the admin creates legacy installations")
        if body.public_key or body.enrollment_record:
            raise Malformed("a legacy installation has no key: send shelly_mac, not public_key/enrollment_record")
        if not body.shelly_mac:
            raise Malformed("a legacy installation needs shelly_mac")
        public_key, meter = None, _mac(body.shelly_mac)
    else:
        public_key, meter = _enrolled_key_and_meter(body)

    existing = _existing(session, public_key, meter)
    if existing is not None:
        return existing, False
    if auth.token is not None and auth.token.used_at is not None:
        raise Forbidden("the enrollment token was already used")

    installation = Installation(
        name=body.name, shelly_mac=meter, public_key=public_key,
        key_id=key_id(public_key) if public_key else None, timezone=body.timezone, capacity_w=body.capacity_w,
        legacy=body.legacy, key_storage=body.key_storage, is_active=True, reading_count=0,
        created_at=datetime.now(UTC))
    try:
        with session.begin_nested():
            session.add(installation)
            session.flush()
    except IntegrityError as err:
        # Someone enrolled the same key or meter concurrently.
        raise Conflict("the key or meter was bound to another installation meanwhile") from err
    if auth.token is not None:
        auth.token.used_at = datetime.now(UTC)
        auth.token.installation_id = installation.id
    return installation, True


def _existing(session: Session, public_key: bytes | None, meter: bytes) -> Installation | None:
    """The installation with exactly this key and meter, or None; Conflict when either is bound elsewhere."""
    clauses = [Installation.shelly_mac == meter]
    if public_key is not None:
        clauses.append(Installation.public_key == public_key)
    matches = list(session.scalars(select(Installation).where(or_(*clauses))))
    for match in matches:
        if match.shelly_mac == meter and match.public_key == public_key:
            return match
    for match in matches:
        if public_key is not None and match.public_key == public_key:
            raise Conflict(f"this key is already bound to installation {match.id} (meter "
                           f"{format_mac(match.shelly_mac)}); keys are never moved or replaced")
        raise Conflict(f"meter {format_mac(meter)} is already bound to installation {match.id} with another key; "
                       "keys are never replaced")
    return None


def get_installation(session: Session, installation_id: int) -> Installation:
    installation = session.get(Installation, installation_id)
    if installation is None:
        raise NotFound(f"no installation {installation_id}")
    return installation


def list_installations(session: Session, key_id_filter: str | None = None) -> list[Installation]:
    query = select(Installation).order_by(Installation.id)
    if key_id_filter is not None:
        query = query.where(Installation.key_id == key_id_filter.lower())
    return list(session.scalars(query))


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def summarize(session: Session, installation: Installation) -> InstallationOut:
    """The installation with its reading statistics; each figure is one index look-up."""
    iid = installation.id
    newest = session.execute(
        select(Reading.boot, Reading.seq, Reading.cumulative_mwh).where(Reading.installation_id == iid)
        .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1)).first()
    first_ts = session.scalar(select(func.min(Reading.ts)).where(Reading.installation_id == iid))
    last_ts = session.scalar(select(func.max(Reading.ts)).where(Reading.installation_id == iid))
    boot_started_at = None
    if newest is not None:
        boot_started_at = session.scalar(
            select(Reading.ts).where(Reading.installation_id == iid, Reading.boot == newest.boot)
            .order_by(Reading.seq).limit(1))
    return InstallationOut(
        id=iid, name=installation.name, shelly_mac=format_mac(installation.shelly_mac),
        public_key=installation.public_key.hex() if installation.public_key else None, key_id=installation.key_id,
        created_at=_unix(installation.created_at), is_active=installation.is_active, timezone=installation.timezone,
        capacity_w=installation.capacity_w, legacy=installation.legacy, key_storage=installation.key_storage,
        lifetime_energy_wh=(newest.cumulative_mwh if newest else 0) / 1000,
        first_reading_at=first_ts, last_reading_at=last_ts, reading_count=installation.reading_count,
        last_boot=newest.boot if newest else None, last_seq=newest.seq if newest else None,
        boot_started_at=boot_started_at)
