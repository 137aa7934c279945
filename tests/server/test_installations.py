"""Installations and enrollment tokens through HTTP on SQLite and PostgreSQL: auth, idempotency, conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests import vectors
from tests.conftest import vector_enrollment_body
from tests.server.signing import enrollment_body, new_key
from wattwitness.protocol import key_id, public_key_bytes
from wattwitness.server.db.models import EnrollmentToken
from wattwitness.server.db.session import Database

URL = "/api/v1/installations/"


def enrollment_token(client: TestClient, admin_headers: dict[str, str]) -> str:
    response = client.post("/api/v1/enrollment-tokens/", headers=admin_headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["expires_at"] > datetime.now(UTC).timestamp()
    token: str = body["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_enrolls_and_repeating_is_idempotent(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = client.post(URL, json=vector_enrollment_body(), headers=admin_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["shelly_mac"] == "EC64C9C05E97"
    assert body["public_key"] == vectors.ww2()["key"]["public"]
    assert body["key_id"] == vectors.ww2()["key"]["key_id"]
    assert (body["timezone"], body["capacity_w"], body["legacy"], body["is_active"]) == ("Europe/Berlin", 10000,
                                                                                       False, True)
    assert (body["reading_count"], body["lifetime_energy_wh"], body["last_boot"]) == (0, 0, None)
    again = client.post(URL, json=vector_enrollment_body(name="renamed"), headers=admin_headers)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"] and again.json()["name"] == "Vector park"
    assert len(client.get(URL).json()) == 1


def test_enrollment_token_allows_exactly_one_installation(client: TestClient, admin_headers: dict[str, str]) -> None:
    token = enrollment_token(client, admin_headers)
    first = client.post(URL, json=vector_enrollment_body(), headers=bearer(token))
    assert first.status_code == 201
    # The same device retrying (its answer got lost) gets its installation back.
    assert client.post(URL, json=vector_enrollment_body(), headers=bearer(token)).status_code == 200
    other = enrollment_body(new_key(), bytes.fromhex("112233445566"))
    used = client.post(URL, json=other, headers=bearer(token))
    assert used.status_code == 403 and used.json()["error"] == "forbidden"
    assert client.post(URL, json=other, headers=bearer(enrollment_token(client, admin_headers))).status_code == 201


def test_expired_and_unknown_tokens_are_refused(client: TestClient, admin_headers: dict[str, str],
                                                db: Database) -> None:
    token = enrollment_token(client, admin_headers)
    with db.scope() as session:
        session.execute(update(EnrollmentToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = client.post(URL, json=vector_enrollment_body(), headers=bearer(token))
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]
    assert client.post(URL, json=vector_enrollment_body(), headers=bearer("wwe_guess")).status_code == 403
    missing = client.post(URL, json=vector_enrollment_body())
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert client.get(URL).json() == []


def test_only_the_admin_issues_tokens(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert client.post("/api/v1/enrollment-tokens/").status_code == 401
    token = enrollment_token(client, admin_headers)
    refused = client.post("/api/v1/enrollment-tokens/", headers=bearer(token))
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def test_a_key_or_meter_bound_elsewhere_is_a_conflict(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert client.post(URL, json=vector_enrollment_body(), headers=admin_headers).status_code == 201
    meter = bytes.fromhex(vectors.ww2()["enrollment"]["meter"])
    replace_key = client.post(URL, json=enrollment_body(new_key(), meter), headers=admin_headers)
    assert replace_key.status_code == 409 and replace_key.json()["error"] == "conflict"
    key = new_key()
    assert client.post(URL, json=enrollment_body(key, bytes.fromhex("0000000000aa")), headers=admin_headers
                       ).status_code == 201
    move_key = client.post(URL, json=enrollment_body(key, bytes.fromhex("0000000000bb")), headers=admin_headers)
    assert move_key.status_code == 409
    legacy_on_taken_meter = client.post(URL, headers=admin_headers,
                                        json={"name": "x", "shelly_mac": meter.hex(), "legacy": True})
    assert legacy_on_taken_meter.status_code == 409
    # Nothing was replaced.
    listed = client.get(URL).json()
    assert listed[0]["public_key"] == vectors.ww2()["key"]["public"]
    assert len(listed) == 2


def test_enrollment_proofs_are_checked(client: TestClient, admin_headers: dict[str, str]) -> None:
    key, other = new_key(), new_key()
    meter = bytes.fromhex("0000000000cc")
    forged = enrollment_body(key, meter)
    forged["enrollment_signature"] = enrollment_body(other, meter)["enrollment_signature"]
    response = client.post(URL, json=forged, headers=admin_headers)
    assert response.status_code == 422 and response.json()["error"] == "invalid_signature"

    mismatched = enrollment_body(key, meter)
    mismatched["public_key"] = enrollment_body(other, meter)["public_key"]
    assert client.post(URL, json=mismatched, headers=admin_headers).json()["error"] == "malformed"

    for broken in ({"enrollment_record": "00" * 82}, {"public_key": "ab" * 64}, {"public_key": "xyz"},
                   {"timezone": "Mars/Olympus"}, {"capacity_w": -5}, {"name": ""}, {"enrollment_signature": None}):
        body = {**enrollment_body(key, meter), **broken}
        answer = client.post(URL, json=body, headers=admin_headers)
        assert answer.status_code == 422, (broken, answer.text)
        assert answer.json()["error"] == "malformed"
    assert client.get(URL).json() == []


def test_legacy_installations_are_admin_only(client: TestClient, admin_headers: dict[str, str]) -> None:
    body = {"name": "old firmware", "shelly_mac": "A0:B1:C2:D3:E4:F5", "legacy": True}
    token = enrollment_token(client, admin_headers)
    assert client.post(URL, json=body, headers=bearer(token)).status_code == 403
    created = client.post(URL, json=body, headers=admin_headers)
    assert created.status_code == 201
    assert created.json()["public_key"] is None and created.json()["legacy"] is True
    assert created.json()["shelly_mac"] == "A0B1C2D3E4F5"
    assert client.post(URL, json=body, headers=admin_headers).status_code == 200
    assert client.post(URL, json={"name": "x", "legacy": True}, headers=admin_headers).status_code == 422


def test_list_by_key_id_and_get(client: TestClient, enrolled_installation: dict[str, Any],
                                admin_headers: dict[str, str]) -> None:
    other = new_key()
    client.post(URL, json=enrollment_body(other, bytes.fromhex("0000000000dd")), headers=admin_headers)
    listed = client.get(URL, params={"key_id": vectors.ww2()["key"]["key_id"].upper()}).json()
    assert [i["id"] for i in listed] == [enrolled_installation["id"]]
    assert client.get(URL, params={"key_id": key_id(public_key_bytes(other))}).json()[0]["shelly_mac"] == \
        "0000000000DD"
    assert client.get(URL, params={"key_id": "0" * 16}).json() == []
    assert client.get(URL, params={"key_id": "nothex"}).status_code == 422
    assert client.get(f"{URL}{enrolled_installation['id']}").json() == enrolled_installation
    missing = client.get(f"{URL}999999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
