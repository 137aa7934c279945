"""The chain checker's outcomes on hand-made histories: gaps, breaks, restarts, resets, late arrivals."""

from __future__ import annotations

from tests import vectors
from wattwitness.protocol import (
    MemoryChainStore,
    Outcome,
    Reading,
    StoredRecord,
    check_chain,
    record_hash,
    sign,
    verify_chain,
)
from wattwitness.protocol.keys import private_key_from_scalar

PRIVATE = private_key_from_scalar(vectors.private_scalar())
PUB = vectors.public_key()
METER = vectors.meter()


def make_chain(specs: list[tuple[int, int, int]], start_prev: bytes = bytes(32)) -> list[tuple[bytes, bytes]]:
    """(boot, seq, energy) triples -> signed, linked records."""
    items, prev = [], start_prev
    for i, (boot, seq, energy) in enumerate(specs):
        record = Reading(METER, boot, seq, 1_750_000_000 + 10 * i, 1000, energy, prev).encode()
        items.append((record, sign(PRIVATE, record)))
        prev = record_hash(record)
    return items


def test_gap_then_late_arrival_closes_it():
    items = make_chain([(1, 1, 10), (1, 2, 20), (1, 3, 30)])
    store = MemoryChainStore()
    outcomes = {}
    for index in (0, 2, 1):
        record = items[index][0]
        verdict = check_chain(store, Reading.decode(record), record)
        outcomes[index] = verdict
        store.add(StoredRecord(Reading.decode(record), record, verdict.hash))
    assert outcomes[2].outcome is Outcome.GAP
    assert outcomes[1].outcome is Outcome.VERIFIED
    assert [s.reading.seq for s in outcomes[1].closes_gaps] == [3]


def test_boot_change_links_and_counter_reset_is_marked():
    items = make_chain([(1, 1, 10), (1, 2, 20), (2, 1, 5), (2, 2, 7)])
    report = verify_chain(items, PUB)
    assert report.summary() == "4 records: 4 verified, 0 invalid, 0 gaps, 0 chain breaks, 1 counter resets"
    assert report.ok
    assert [line for line, _ in report.problems] == [3]


def test_changed_byte_is_named_by_line_and_fails():
    items = make_chain([(1, 1, 10), (1, 2, 20), (1, 3, 30)])
    record, signature = items[1]
    tampered = bytearray(record)
    tampered[40] ^= 1
    items[1] = (bytes(tampered), signature)
    report = verify_chain(items, PUB)
    assert not report.ok
    assert [(line, v.outcome) for line, v in report.problems] == [(2, Outcome.INVALID_SIGNATURE), (3, Outcome.GAP)]


def test_forked_history_is_a_chain_break():
    base = make_chain([(1, 1, 10), (1, 2, 20)])
    fork_record = Reading(METER, 1, 3, 1_750_000_100, 0, 25, bytes(31) + b"\x01").encode()
    items = [*base, (fork_record, sign(PRIVATE, fork_record))]
    report = verify_chain(items, PUB)
    assert report.chain_breaks == 1
    assert not report.ok


def test_chain_restart_is_not_a_break():
    first = make_chain([(1, 1, 10), (1, 2, 20)])
    restarted = make_chain([(2, 1, 30), (2, 2, 40)])  # prev all zero: the device lost its head
    report = verify_chain(first + restarted, PUB)
    assert report.summary() == "4 records: 4 verified, 0 invalid, 0 gaps, 0 chain breaks, 0 counter resets"


def test_future_timestamp_is_rejected():
    items = make_chain([(1, 1, 10)])
    record = items[0][0]
    verdict = check_chain(MemoryChainStore(), Reading.decode(record), record, now=1_750_000_000 - 301)
    assert verdict.outcome is Outcome.FUTURE_TIMESTAMP
    verdict = check_chain(MemoryChainStore(), Reading.decode(record), record, now=1_750_000_000 - 300)
    assert verdict.outcome is Outcome.VERIFIED


def test_wrong_meter_is_named():
    record = Reading(bytes(6), 1, 1, 1_750_000_000, 0, 1).encode()
    items = [*make_chain([(1, 1, 10)]), (record, sign(PRIVATE, record))]
    report = verify_chain(items, PUB, meter=METER)
    assert [(line, v.outcome) for line, v in report.problems] == [(2, Outcome.WRONG_METER)]
