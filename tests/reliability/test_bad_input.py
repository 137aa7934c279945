"""Bad input: every class of hostile or broken request gets a clear 4xx `{"error", "detail"}` and stores nothing.

Explicit classes (on SQLite and PostgreSQL): oversized bodies, wrong content types, invalid hex, huge
batches, deep JSON, numbers out of range. Then hypothesis on the three parsers that take outside bytes:
the WW2 record decoder, the Shelly payload parsers, and the batch body as the server takes it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests import vectors
from tests.ops.signed import Device
from tests.reliability.helpers import ADMIN_HEADERS, now, seeded_app
from wattwitness.device.errors import MeterError
from wattwitness.device.shelly import MeterSample, create_meter
from wattwitness.protocol import Outcome, ProtocolError, Reading, Verdict, check_signed, parse_item
from wattwitness.server.db.models import Installation, SecurityEvent
from wattwitness.server.db.models import Reading as StoredReading
from wattwitness.server.db.session import Database

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
REJECTED = {outcome.value for outcome in Outcome if not outcome.accepted}
KNOWN_ERRORS = REJECTED | {"unauthorized", "forbidden", "conflict", "not_found", "payload_too_large", "rate_limited",
                           "database_unavailable"}


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as session:
        return (session.scalar(select(func.count()).select_from(StoredReading)) or 0,
                session.scalar(select(func.count()).select_from(Installation)) or 0)


def _named_error(response: httpx.Response, status: int | tuple[int, ...], error: str | None = None) -> None:
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["error"] in KNOWN_ERRORS, body
    if error is not None:
        assert body["error"] == error, body


def _valid_item() -> dict[str, str]:
    return Device(ts=now() - 60).reading()


def _deep(depth: int) -> str:
    return '{"readings": ' + "[" * depth + "]" * depth + "}"


# (name, request) -> (status, error). Each runs against the real app with the vectors' installation.
BAD_REQUESTS: dict[str, tuple[Callable[[TestClient], httpx.Response], int | tuple[int, ...], str]] = {
    "oversized_body_declared": (
        lambda c: c.post("/api/v1/readings/batch", content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
                         headers={"content-type": "application/json"}), 413, "payload_too_large"),
    "oversized_body_chunked": (
        lambda c: c.post("/api/v1/readings/batch", content=iter([b" " * (1024 * 1024)] * 5),
                         headers={"content-type": "application/json"}), 413, "payload_too_large"),
    "content_type_text": (
        lambda c: c.post("/api/v1/readings/", content=json.dumps(_valid_item()),
                         headers={"content-type": "text/plain"}), (415, 422), "malformed"),
    "content_type_form": (
        lambda c: c.post("/api/v1/readings/", data=_valid_item()), (415, 422), "malformed"),
    "invalid_hex_record": (
        lambda c: c.post("/api/v1/readings/", json={"record": "zz" * 74, "signature": "00" * 64}), 422, "malformed"),
    "odd_length_hex": (
        lambda c: c.post("/api/v1/readings/", json={"record": "0" * 147, "signature": "00" * 64}), 422, "malformed"),
    "invalid_hex_signature": (
        lambda c: c.post("/api/v1/readings/", json={**_valid_item(), "signature": "g" * 128}), 422, "malformed"),
    "invalid_hex_public_key": (
        lambda c: c.post("/api/v1/installations/", headers=ADMIN_HEADERS,
                         json={"name": "x", "public_key": "x" * 128, "enrollment_record": "00" * 82,
                               "enrollment_signature": "00" * 64}), 422, "malformed"),
    "batch_of_5001": (
        lambda c: c.post("/api/v1/readings/batch", json={"readings": [_valid_item()] * 5001}), (413, 422), ""),
    "empty_batch": (lambda c: c.post("/api/v1/readings/batch", json={"readings": []}), 422, "malformed"),
    "deep_json_body": (
        lambda c: c.post("/api/v1/readings/batch", content=_deep(50_000),
                         headers={"content-type": "application/json"}), 422, "malformed"),
    "deep_json_in_legacy_payload": (
        lambda c: c.post("/api/v1/readings/", content='{"power": 1, "total": 1, "timestamp": 1, "signature": "'
                         + "00" * 64 + '", "shelly_payload": ' + "[" * 50_000 + "]" * 50_000 + "}",
                         headers={"content-type": "application/json"}), (404, 422), ""),
    "installation_id_beyond_int64": (lambda c: c.get(f"/api/v1/readings/{2**70}"), (404, 422), ""),
    "installation_id_negative": (lambda c: c.get("/api/v1/readings/-1/integrity"), (404, 422), ""),
    "limit_out_of_range": (lambda c: c.get("/api/v1/readings/1?limit=100000000000000000000"), 422, "malformed"),
    "since_negative": (lambda c: c.get("/api/v1/readings/1?since=-5"), 422, "malformed"),
    "chart_at_huge": (lambda c: c.get(f"/api/v1/readings/1/chart?time_frame=day&at={10**30}"), 422, "malformed"),
    "capacity_huge": (
        lambda c: c.post("/api/v1/installations/", headers=ADMIN_HEADERS,
                         json={"name": "x", "shelly_mac": "0A0B0C0D0E0F", "legacy": True, "capacity_w": 10**40}),
        422, "malformed"),
    "legacy_power_huge": (
        lambda c: c.post("/api/v1/readings/", json={"power": 1e308, "total": 1e308, "timestamp": 10**25,
                                                    "signature": "00" * 64, "shelly_payload": {"mac": "EC64C9C05E97"}}),
        (404, 422), ""),
    "proof_id_beyond_int64": (lambda c: c.get(f"/api/v1/readings/proof/{2**80}"), (404, 422), ""),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_is_named_and_stores_nothing(client: TestClient, enrolled_installation: dict[str, Any],
                                                 db: Database, name: str) -> None:
    call, status, error = BAD_REQUESTS[name]
    before = _counts(db)
    _named_error(call(client), status, error or None)
    assert _counts(db) == before
    # The server still works afterwards.
    assert client.post("/api/v1/readings/", json=_valid_item()).status_code == 201


def test_out_of_range_record_fields_are_named(client: TestClient, enrolled_installation: dict[str, Any],
                                              db: Database) -> None:
    """uint64 ts/energy near their maximum: the record is well formed; the server must say why it refuses."""
    _named_error(client.post("/api/v1/readings/", json=Device(ts=2**64 - 20).reading()), 422, "malformed")
    _named_error(client.post("/api/v1/readings/", json=Device(ts=2**62).reading()), 422, "future_timestamp")
    huge_energy = Device(ts=now() - 60, energy_mwh=2**64 - 10**9).reading(energy_step_mwh=0)
    stored = client.post("/api/v1/readings/", json=huge_energy)
    assert stored.status_code in (201, 422), stored.text  # either stored exactly, or a named refusal
    if stored.status_code == 201:
        assert stored.json()["total_wh"] == pytest.approx((2**64 - 10**9) / 1000)
    else:
        _named_error(stored, 422)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SecurityEvent)) == 0


def test_unparsable_json_is_malformed(client: TestClient, enrolled_installation: dict[str, Any], db: Database) -> None:
    before = _counts(db)
    response = client.post("/api/v1/readings/", content=b"\xff\xfe{not json",
                           headers={"content-type": "application/json"})
    assert _counts(db) == before
    _named_error(response, 422, "malformed")


# ---- hypothesis: the record decoder ------------------------------------------------------------------------

VALID_RECORD, VALID_SIGNATURE = vectors.chain_items()[0]


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.builds(lambda i, b: VALID_RECORD[:i] + bytes([b]) + VALID_RECORD[i + 1:],
                           st.integers(0, len(VALID_RECORD) - 1), st.integers(0, 255)),
                 st.builds(lambda n: VALID_RECORD[:n], st.integers(0, len(VALID_RECORD)))))
def test_record_decoder_returns_a_reading_or_says_malformed(data: bytes) -> None:
    try:
        reading = Reading.decode(data)
    except ProtocolError as err:
        assert str(err)
        return
    assert reading.encode() == data  # whatever decodes, re-encodes byte for byte


@FUZZ
@given(st.text(max_size=200), st.text(max_size=200))
def test_parse_item_rejections_are_protocol_errors(record_hex: str, signature_hex: str) -> None:
    try:
        record, signature = parse_item(record_hex, signature_hex)
    except ProtocolError as err:
        assert str(err)
        return
    assert isinstance(record, bytes) and isinstance(signature, bytes)


@FUZZ
@given(st.binary(min_size=0, max_size=100), st.binary(min_size=0, max_size=80))
def test_check_signed_names_every_rejection(record: bytes, signature: bytes) -> None:
    candidates = [record, VALID_RECORD[:-len(record) or None] + record[: len(VALID_RECORD)]]
    for candidate in candidates:
        result = check_signed(candidate, signature, vectors.public_key(), vectors.meter())
        assert isinstance(result, Verdict), "random bytes verified under the device key"
        assert result.outcome.value in REJECTED, result


# ---- hypothesis: the Shelly parsers ------------------------------------------------------------------------

SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON = st.recursive(SCALAR,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=9), inner, max_size=6),
                    max_leaves=20)
MAC = st.sampled_from(["EC64C9C05E97", "ec:64:c9:c0:5e:97", "", "zz", 5, None])
NUMBER = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                   st.none(), st.booleans())
GEN1_STATUS = st.fixed_dictionaries({"mac": MAC, "unixtime": NUMBER, "emeters": st.lists(
    st.fixed_dictionaries({"power": NUMBER, "total": NUMBER}, optional={"is_valid": st.booleans()}), max_size=3)})


def _meter(gen: int, answer: Callable[[httpx.Request], httpx.Response]) -> Any:
    return create_meter("http://meter.invalid", gen=gen, http=httpx.Client(transport=httpx.MockTransport(answer)))


def _read(gen: int, answer: Callable[[httpx.Request], httpx.Response]) -> MeterSample | MeterError:
    meter = _meter(gen, answer)
    try:
        meter.initialize()
        return meter.read()  # type: ignore[no-any-return]
    except MeterError as err:  # the one exception tree the agent handles; anything else is a crash
        assert str(err)
        return err
    finally:
        meter.shutdown()


@FUZZ
@given(st.one_of(JSON, GEN1_STATUS), st.sampled_from([200, 200, 401, 500]), st.booleans())
def test_gen1_parser_reads_or_names_the_problem(payload: Any, status: int, as_bytes: bool) -> None:
    content = json.dumps(payload).encode() if not as_bytes else json.dumps(payload).encode()[:-1]
    result = _read(1, lambda request: httpx.Response(status, content=content))
    if isinstance(result, MeterSample):
        assert len(result.mac) == 6 and result.energy_mwh >= 0


@FUZZ
@given(JSON, JSON, JSON, MAC)
def test_gen2_parser_reads_or_names_the_problem(em1: Any, em1data: Any, system: Any, mac: Any) -> None:
    answers = {"/rpc/Shelly.GetDeviceInfo": {"mac": mac}, "/rpc/EM1.GetStatus": em1,
               "/rpc/EM1Data.GetStatus": em1data, "/rpc/Sys.GetStatus": system}
    result = _read(2, lambda request: httpx.Response(200, json=answers.get(request.url.path)))
    if isinstance(result, MeterSample):
        assert len(result.mac) == 6 and result.energy_mwh >= 0


# ---- hypothesis: the batch body, as the server takes it ---------------------------------------------------

@pytest.fixture(scope="module")
def batch_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Database]]:
    with seeded_app(tmp_path_factory.mktemp("batch-fuzz")) as (application, client):
        yield client, application.state.db


HEXISH = st.one_of(st.text(alphabet="0123456789abcdefABCDEF", max_size=160), st.text(max_size=20),
                   st.just(VALID_RECORD.hex()), st.just(VALID_SIGNATURE.hex()))
ITEM = st.one_of(st.fixed_dictionaries({"record": HEXISH, "signature": HEXISH}), JSON)
ADDRESSES = itertools.count(1)
BODY = st.one_of(st.fixed_dictionaries({"readings": st.lists(ITEM, max_size=6)}), JSON)


@FUZZ
@given(BODY)
def test_batch_body_gets_per_item_outcomes_or_a_named_error(batch_client: tuple[TestClient, Database],
                                                            body: Any) -> None:
    seeded, db = batch_client
    # Each example from its own address: the rejection rate limit (test_rate_limit.py) must not turn the
    # fuzzing into a run of 429s.
    address = next(ADDRESSES)
    client = TestClient(seeded.app, client=(f"10.{address >> 16}.{(address >> 8) & 255}.{address & 255}", 1),
                        raise_server_exceptions=False)
    before = _counts(db)
    response = client.post("/api/v1/readings/batch", json=body)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        _named_error(response, (413, 422))
        assert _counts(db) == before
        return
    result = response.json()
    assert len(result["results"]) == len(body["readings"])
    for item in result["results"]:
        assert item["outcome"] in {o.value for o in Outcome}, item
        assert item["detail"], item
    # Fuzzed items never carry a fresh valid signature: nothing new can be stored, only duplicates found.
    assert result["stored"] == 0
    assert _counts(db) == before
