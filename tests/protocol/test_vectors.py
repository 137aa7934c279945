"""Every vector in shared/vectors/ww2.json and legacy_v1.json, negatives included."""

from __future__ import annotations

import pytest

from tests import vectors
from wattwitness.protocol import (
    Enrollment,
    MemoryChainStore,
    Outcome,
    ProtocolError,
    Reading,
    StoredRecord,
    audit_path,
    check_chain,
    check_legacy,
    check_signed,
    follows,
    key_id,
    low_s,
    merkle_root,
    public_key_bytes,
    record_hash,
    sign,
    verify,
    verify_chain,
    verify_inclusion,
)
from wattwitness.protocol.keys import N, private_key_from_scalar

V = vectors.ww2()
PUB = vectors.public_key()
METER = vectors.meter()


def test_private_scalar_gives_the_published_public_key_and_key_id():
    private = private_key_from_scalar(vectors.private_scalar())
    assert public_key_bytes(private) == PUB
    assert key_id(PUB) == V["key"]["key_id"]


def test_enrollment_record_encodes_byte_for_byte_and_verifies():
    e = V["enrollment"]
    enrollment = Enrollment(bytes.fromhex(e["meter"]), e["ts"], bytes.fromhex(e["public"]))
    assert enrollment.encode().hex() == e["record"]
    assert Enrollment.decode(bytes.fromhex(e["record"])) == enrollment
    assert verify(PUB, bytes.fromhex(e["record"]), bytes.fromhex(e["signature"]))


@pytest.mark.parametrize("index", range(len(V["chain"])))
def test_chain_record_encodes_decodes_hashes_and_verifies(index):
    item = V["chain"][index]
    f = item["fields"]
    reading = Reading(bytes.fromhex(f["meter"]), f["boot"], f["seq"], f["ts"], f["power_mw"],
                      f["energy_mwh"], bytes.fromhex(f["prev"]))
    raw = bytes.fromhex(item["record"])
    assert reading.encode() == raw
    assert Reading.decode(raw) == reading
    assert record_hash(raw).hex() == item["hash"]
    assert verify(PUB, raw, bytes.fromhex(item["signature"]))
    if index > 0:
        assert follows(reading, bytes.fromhex(V["chain"][index - 1]["record"]))
        assert not follows(reading, bytes.fromhex(V["chain"][0]["record"])) or index == 1


def test_successor_rule_across_boots():
    first = Reading(METER, 3, 17, 100, 0, 5)
    raw = first.encode()
    assert follows(Reading(METER, 4, 1, 110, 0, 5, record_hash(raw)), raw)
    assert not follows(Reading(METER, 4, 2, 110, 0, 5, record_hash(raw)), raw)
    assert not follows(Reading(METER, 2, 1, 110, 0, 5, record_hash(raw)), raw)


def test_our_signatures_verify_and_low_s_is_still_valid():
    private = private_key_from_scalar(vectors.private_scalar())
    record = bytes.fromhex(V["chain"][0]["record"])
    signature = sign(private, record)
    assert verify(PUB, record, signature)
    assert verify(PUB, record, low_s(signature))


def test_high_s_signature_is_accepted():
    h = V["high_s"]
    signature = bytes.fromhex(h["signature"])
    assert int.from_bytes(signature[32:], "big") > N // 2
    assert verify(PUB, bytes.fromhex(h["record"]), signature)
    assert low_s(signature) == bytes.fromhex(V["chain"][0]["signature"])


@pytest.mark.parametrize("negative", V["negatives"], ids=[n["why"] for n in V["negatives"]])
def test_negative_vector_gets_its_named_outcome(negative):
    try:
        record = bytes.fromhex(negative["record"])
        signature = bytes.fromhex(negative["signature"])
    except ValueError:
        pytest.fail("vectors are hex")
    result = check_signed(record, signature, PUB, METER)
    outcome = result.outcome if not isinstance(result, Reading) else Outcome.VERIFIED
    assert outcome == Outcome(negative["expect"])


def test_negative_outcomes_are_each_exercised():
    assert {n["expect"] for n in V["negatives"]} == {"invalid_signature", "malformed"}


def test_equivocation_vector_is_caught_against_the_stored_chain():
    store = MemoryChainStore()
    for record, signature in vectors.chain_items()[:2]:
        reading = check_signed(record, signature, PUB, METER)
        assert isinstance(reading, Reading)
        verdict = check_chain(store, reading, record)
        assert verdict.outcome is Outcome.VERIFIED
        store.add(StoredRecord(reading, record, verdict.hash))
    eq = V["equivocation"]
    record = bytes.fromhex(eq["record"])
    assert bytes.fromhex(eq["conflicts_with"]) == vectors.chain_items()[1][0]
    reading = check_signed(record, bytes.fromhex(eq["signature"]), PUB, METER)
    assert isinstance(reading, Reading)
    assert check_chain(store, reading, record).outcome is Outcome.EQUIVOCATION
    original = vectors.chain_items()[1][0]
    assert check_chain(store, Reading.decode(original), original).outcome is Outcome.DUPLICATE


def test_unregistered_key_does_not_verify_the_chain():
    other = bytes.fromhex(V["unregistered_key"]["public"])
    record, signature = vectors.chain_items()[0]
    assert not verify(other, record, signature)


@pytest.mark.parametrize("case", V["merkle"], ids=[f"n={m['count']}" for m in V["merkle"]])
def test_merkle_roots_and_every_audit_path(case):
    records = [r for r, _ in vectors.chain_items()[: case["count"]]]
    root = merkle_root(records)
    assert root.hex() == case["root"]
    for proof in case["proofs"]:
        path = audit_path(records, proof["index"])
        assert [p.hex() for p in path] == proof["path"]
        assert verify_inclusion(records[proof["index"]], proof["index"], case["count"], path, root)
        if path:
            bad = [bytes(32), *path[1:]]
            assert not verify_inclusion(records[proof["index"]], proof["index"], case["count"], bad, root)
        assert not verify_inclusion(records[proof["index"]], case["count"], case["count"], path, root)
        assert not verify_inclusion(records[proof["index"]], proof["index"], case["count"], [*path, root], root)


def test_whole_vector_chain_verifies_offline():
    report = verify_chain(vectors.chain_items(), PUB)
    assert report.summary() == "6 records: 6 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets"
    assert report.ok


@pytest.mark.parametrize("reading", vectors.legacy()["readings"],
                         ids=[f"{r['power_w']}W-{r['expect']}" for r in vectors.legacy()["readings"]])
def test_legacy_digests(reading):
    outcome = check_legacy(reading["power_w"], reading["total_wh"], reading["timestamp"], reading["signature"])
    assert outcome == Outcome(reading["expect"])


def test_decoding_rejects_wrong_type_and_lengths():
    enrollment = bytes.fromhex(V["enrollment"]["record"])
    with pytest.raises(ProtocolError):
        Reading.decode(enrollment)
    with pytest.raises(ProtocolError):
        Enrollment.decode(vectors.chain_items()[0][0])
    with pytest.raises(ProtocolError):
        Reading.decode(b"")
