"""Big batches: signatures checked on a process pool, rows written by COPY on PostgreSQL, boots linked
without a hash index; the stored rows are exactly the records sent, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.server.signing import enrollment_body, new_key, signed_chain
from wattwitness.protocol import Verdict, check_signed, public_key_bytes
from wattwitness.server.app import create_app
from wattwitness.server.db.models import Reading, SecurityEvent
from wattwitness.server.db.session import Database
from wattwitness.server.readings import verification
from wattwitness.server.readings.store import COPY_FROM
from wattwitness.server.settings import Settings

METER = bytes.fromhex("B0B1B2B3B4B5")
START_TS = 1_750_000_000


def _enrolled(client: TestClient, admin_headers: dict[str, str]) -> tuple[Any, int]:
    key = new_key()
    response = client.post("/api/v1/installations/", json=enrollment_body(key, METER, timezone="UTC"),
                           headers=admin_headers)
    assert response.status_code == 201, response.text
    return key, response.json()["id"]


def _forged(item: dict[str, str]) -> dict[str, str]:
    signature = bytearray.fromhex(item["signature"])
    signature[40] ^= 0x01
    return {"record": item["record"], "signature": signature.hex()}


@pytest.fixture
def pool() -> Iterator[None]:
    verification.start()
    yield
    verification.shutdown()


def test_refusals_on_the_pool_match_one_by_one_checks(pool: None) -> None:
    key = new_key()
    items = signed_chain(key, METER, range(0, verification.PARALLEL_FROM * 10, 10), start_ts=START_TS)
    items[3] = _forged(items[3])
    items[-1] = {"record": items[-1]["record"], "signature": items[0]["signature"]}  # another record's
    checks = [(bytes.fromhex(i["record"]), bytes.fromhex(i["signature"]), public_key_bytes(key), METER)
              for i in items]
    expected = [v if isinstance(v := check_signed(*c), Verdict) else None for c in checks]
    assert verification._pool is not None and len(checks) >= verification.PARALLEL_FROM  # the pool's path
    got = verification.refusals(checks)
    assert got == expected
    assert [i for i, v in enumerate(got) if v is not None] == [3, len(items) - 1]
    assert {v.outcome.value for v in got if v is not None} == {"invalid_signature"}


def test_big_batch_stores_exactly_what_was_signed(client: TestClient, admin_headers: dict[str, str],
                                                  db: Database, pool: None) -> None:
    key, installation_id = _enrolled(client, admin_headers)
    count = verification.PARALLEL_FROM + 200
    assert count >= COPY_FROM
    items = signed_chain(key, METER, range(0, count * 7, 7), start_ts=START_TS, new_boot_at=[600])
    forged = {10, 777}
    for index in forged:
        items[index] = _forged(items[index])

    response = client.post("/api/v1/readings/batch", json={"readings": items})
    assert response.status_code == 200, response.text
    body = response.json()
    outcomes = [r["outcome"] for r in body["results"]]
    # A forged record is refused; the next one links to it, so it waits as a gap.
    assert [i for i, o in enumerate(outcomes) if o == "invalid_signature"] == sorted(forged)
    assert [i for i, o in enumerate(outcomes) if o == "gap"] == [11, 778]
    assert outcomes.count("verified") == count - 4
    assert (body["stored"], body["rejected"]) == (count - 2, 2)
    ids = [r["reading_id"] for r in body["results"] if r["reading_id"] is not None]
    assert ids == sorted(ids) and len(set(ids)) == count - 2

    with db.scope() as session:
        rows = list(session.scalars(select(Reading).where(Reading.installation_id == installation_id)
                                    .order_by(Reading.id)))
        kinds = [e.kind for e in session.scalars(select(SecurityEvent))]
    assert [r.id for r in rows] == ids
    sent = [items[i] for i in range(count) if i not in forged]
    assert [r.record_bytes(METER).hex() for r in rows] == [i["record"] for i in sent]
    assert [r.signature.hex() for r in rows] == [i["signature"] for i in sent]
    assert all(r.created_at is not None and r.anchor_id is None for r in rows)
    assert kinds == ["invalid_signature", "invalid_signature"]

    # The two records arrive again, genuinely signed: stored, they close both gaps, and the export holds
    # the whole chain.
    late = client.post("/api/v1/readings/batch", json={"readings": [signed_chain(
        key, METER, range(0, count * 7, 7), start_ts=START_TS, new_boot_at=[600])[i] for i in sorted(forged)]})
    assert [r["outcome"] for r in late.json()["results"]] == ["verified", "verified"]
    lines = client.get(f"/api/v1/readings/{installation_id}/export").text.splitlines()
    assert [json.loads(line)["record"] for line in lines] == [i["record"] for i in items]
    with db.scope() as session:
        statuses = set(session.scalars(select(Reading.status).where(Reading.installation_id == installation_id)))
    assert statuses == {"verified"}


def test_a_new_boot_links_to_the_head_across_requests(client: TestClient, admin_headers: dict[str, str]) -> None:
    key, installation_id = _enrolled(client, admin_headers)
    items = signed_chain(key, METER, range(0, 900, 10), start_ts=START_TS, new_boot_at=[60])
    first = client.post("/api/v1/readings/batch", json={"readings": items[:60]}).json()
    second = client.post("/api/v1/readings/batch", json={"readings": items[60:]}).json()
    assert first["stored"] == 60 and second["stored"] == 30
    assert {r["outcome"] for r in second["results"]} == {"verified"}
    summary = client.get(f"/api/v1/installations/{installation_id}").json()
    assert (summary["last_boot"], summary["last_seq"], summary["reading_count"]) == (2, 30, 90)


def test_the_pool_runs_with_the_app_when_asked(server_settings: Settings) -> None:
    verification.shutdown()
    with TestClient(create_app(server_settings.model_copy(update={"verification_pool": False}))):
        assert verification._pool is None
    with TestClient(create_app(server_settings.model_copy(update={"verification_pool": True}))):
        pool = verification._pool
        assert pool is not None and len(pool._processes) == verification.PROCESSES
    assert verification._pool is None  # stopped with the app
