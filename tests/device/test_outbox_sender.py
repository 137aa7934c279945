"""Outbox transactions and the sender's reaction to every kind of server answer (httpx MockTransport)."""

from __future__ import annotations

import errno
import json
import sqlite3

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from wattwitness.device.errors import DiskFullError, OutboxError, ServerError, StateMismatchError
from wattwitness.device.outbox import Outbox, _wrapped
from wattwitness.device.sender import Backoff, Sender
from wattwitness.device.server_api import DEPTH_HEADER, ServerApi
from wattwitness.device.signer import SoftwareSigner
from wattwitness.protocol import ZERO_HASH, Reading, key_id, record_hash

METER = bytes.fromhex("C45BBE5A1A01")


@pytest.fixture
def signer() -> SoftwareSigner:
    return SoftwareSigner(ec.generate_private_key(ec.SECP256R1()))


def fill(outbox: Outbox, signer: SoftwareSigner, count: int, boot: int = 1) -> None:
    outbox.start_boot(key_id(signer.public_key), boot)
    for n in range(count):
        def sign_next(head, n=n):
            record = Reading(METER, head.boot, head.seq + 1, 1_750_000_000 + n, 1000, 5000 + n, head.hash).encode()
            return record, signer.sign(record)
        outbox.append_signed(sign_next)


def test_append_moves_head_and_links(tmp_path, signer):
    outbox = Outbox(tmp_path)
    assert outbox.head() is None
    fill(outbox, signer, 3)
    entries = outbox.pending()
    assert [(e.boot, e.seq) for e in entries] == [(1, 1), (1, 2), (1, 3)]
    assert Reading.decode(entries[0].record).prev == ZERO_HASH
    assert Reading.decode(entries[2].record).prev == record_hash(entries[1].record)
    head = outbox.head()
    assert head is not None and (head.boot, head.seq, head.hash) == (1, 3, record_hash(entries[2].record))
    fill(outbox, signer, 1, boot=2)
    assert Reading.decode(outbox.pending()[-1].record).prev == record_hash(entries[2].record)


def test_failed_signing_rolls_back_and_wrong_record_is_refused(tmp_path, signer):
    outbox = Outbox(tmp_path)
    fill(outbox, signer, 1)

    def explode(head):
        raise RuntimeError("chip unplugged")

    with pytest.raises(RuntimeError):
        outbox.append_signed(explode)

    def skip_a_seq(head):
        record = Reading(METER, head.boot, head.seq + 2, 1, 1, 1, head.hash).encode()
        return record, signer.sign(record)

    with pytest.raises(OutboxError, match="does not follow the head"):
        outbox.append_signed(skip_a_seq)
    assert outbox.depth() == 1 and outbox.head().seq == 1  # type: ignore[union-attr]


def test_start_boot_refuses_going_back_and_other_keys(tmp_path, signer):
    outbox = Outbox(tmp_path)
    outbox.start_boot(key_id(signer.public_key), 5)
    with pytest.raises(OutboxError, match="not above"):
        outbox.start_boot(key_id(signer.public_key), 5)
    with pytest.raises(StateMismatchError):
        outbox.start_boot("0" * 16, 6)


def test_disk_full_is_recognised():
    with pytest.raises(DiskFullError), _wrapped("write"):
        raise sqlite3.OperationalError("database or disk is full")
    with pytest.raises(DiskFullError), _wrapped("write"):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OutboxError) as caught, _wrapped("write"):
        raise sqlite3.OperationalError("database is locked")
    assert not isinstance(caught.value, DiskFullError)


def test_backoff_grows_with_jitter_and_caps():
    backoff = Backoff(initial=1, maximum=8)
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    backoff.reset()
    assert backoff.next_delay() <= 1


def api_answering(handler) -> ServerApi:
    return ServerApi("http://server", http=httpx.Client(transport=httpx.MockTransport(handler)))


def test_mixed_batch_outcomes(tmp_path, signer):
    outbox = Outbox(tmp_path)
    fill(outbox, signer, 4)
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.path == "/api/v1/readings/batch"
        outcomes = ["verified", "invalid_signature", "future_timestamp", "duplicate"]
        return httpx.Response(200, json={"results": [{"index": i, "outcome": o, "detail": o}
                                                     for i, o in enumerate(outcomes)]})

    sender = Sender(outbox, api_answering(handler), backoff=Backoff(0.1, 1))
    delay = sender.send_once()
    assert delay is not None and delay > 0
    assert seen[0].headers[DEPTH_HEADER] == "4"
    assert len(json.loads(seen[0].content)["readings"]) == 4
    assert [(e.boot, e.seq) for e in outbox.pending()] == [(1, 3)]
    assert [(d.seq, d.outcome) for d in outbox.dead_letters()] == [(2, "invalid_signature")]
    assert outbox.pending()[0].attempts == 1


def test_single_pending_uses_single_endpoint_and_4xx_outcomes(tmp_path, signer):
    outbox = Outbox(tmp_path)
    fill(outbox, signer, 1)
    answers = [httpx.Response(404, json={"error": "unknown_meter", "detail": "enroll first"}),
               httpx.Response(201, json={"id": 1, "outcome": "gap", "detail": "predecessor not stored yet"})]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/readings/"
        return answers.pop(0)

    sender = Sender(outbox, api_answering(handler), backoff=Backoff(0.1, 1))
    assert sender.send_once() > 0  # type: ignore[operator]
    assert outbox.depth() == 1
    assert sender.send_once() == 0.0
    assert outbox.depth() == 0 and sender.delivered == 1
    assert sender.send_once() is None


def test_too_large_halves_the_batch(tmp_path, signer):
    outbox = Outbox(tmp_path)
    fill(outbox, signer, 8)
    sizes = []

    def handler(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["readings"]
        sizes.append(len(items))
        if len(items) > 3:
            return httpx.Response(413, json={"error": "payload_too_large", "detail": "too many"})
        return httpx.Response(200, json={"results": [{"index": i, "outcome": "verified"} for i in range(len(items))]})

    sender = Sender(outbox, api_answering(handler), batch_max=8)
    while sender.send_once() is not None:
        pass
    assert sizes[:3] == [8, 4, 2] and outbox.depth() == 0 and sender.delivered == 8


@pytest.mark.parametrize("response", [
    httpx.Response(200, json={"results": [{"index": 0, "outcome": "verified"}]}),
    httpx.Response(200, json={"results": [{"index": 0, "outcome": "great"}, {"index": 1, "outcome": "verified"}]}),
    httpx.Response(200, text="<html>proxy</html>"),
    httpx.Response(422, json={"error": "validation", "detail": "bad body"}),
    httpx.Response(503, json={"error": "database_unavailable", "detail": "down"}),
    httpx.Response(429, json={"error": "rate_limited", "detail": "slow down"}),
])
def test_unusable_answers_keep_everything(tmp_path, signer, response):
    outbox = Outbox(tmp_path)
    fill(outbox, signer, 2)
    sender = Sender(outbox, api_answering(lambda request: response), backoff=Backoff(0.1, 1))
    assert sender.send_once() > 0  # type: ignore[operator]
    assert outbox.depth() == 2 and outbox.dead_letters() == []


def test_last_boot_lookup_shapes():
    mine = "4fc2f2680e174782"
    for body, expected in (([], 0), ([{"key_id": mine, "last_boot": None}], 0),
                           ([{"key_id": mine, "last_boot": 7}, {"key_id": "ffffffffffffffff", "last_boot": 99}], 7),
                           ({"installations": [{"key_id": mine, "last_boot": 3}]}, 3)):
        api = api_answering(lambda request, body=body: httpx.Response(200, json=body))
        assert api.last_boot(mine) == expected
    with pytest.raises(ServerError):
        api_answering(lambda request: httpx.Response(200, json={"weird": 1})).last_boot(mine)
