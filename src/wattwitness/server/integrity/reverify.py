"""Re-verification of what the database holds: every stored row through the protocol library again.

The ingest verified each record once; anyone with write access to the database could have edited a
row since. `GET .../integrity?verify=full` rebuilds each WW2 record from its columns and runs it through
`protocol.check_signed` and `protocol.check_chain` against the installation's registered key and meter,
in (boot, seq) order, and checks the stored `record_hash`. A changed power, energy or time, a swapped,
forged or deleted row, a replaced key: each shows up as a named problem (PROTOCOL.md §4 outcomes).
Legacy rows carry no signature; one whose status claims more than `digest_only` is a problem too.

Rows are read in pages of the unique (installation_id, boot, seq) index, and the chain view kept in
memory is the protocol's indexed `MemoryChainStore`, so the cost is linear in `limit`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from wattwitness.protocol import (
    MemoryChainStore,
    Outcome,
    StoredRecord,
    Verdict,
    check_chain,
    check_signed,
    record_hash,
)
from wattwitness.server.db.models import STATUS_DIGEST_ONLY, STATUS_GAP, Installation, Reading, RetentionBaseline
from wattwitness.server.integrity.schemas import Problem, Verification

PAGE = 2_000
MAX_PROBLEMS = 1_000
# What a stored, untampered WW2 row re-verifies as.
_CLEAN = frozenset({Outcome.VERIFIED, Outcome.COUNTER_RESET})


def _rows(session: Session, installation_id: int, limit: int) -> Iterator[Reading]:
    """The installation's rows in (boot, seq) order, `PAGE` at a time (keyset pagination)."""
    after: tuple[int, int] | None = None
    remaining = limit
    while remaining > 0:
        query = select(Reading).where(Reading.installation_id == installation_id)
        if after is not None:
            boot, seq = after
            query = query.where(or_(Reading.boot > boot, and_(Reading.boot == boot, Reading.seq > seq)))
        page = session.scalars(query.order_by(Reading.boot, Reading.seq).limit(min(PAGE, remaining))).all()
        yield from page
        if len(page) < min(PAGE, remaining):
            return
        remaining -= len(page)
        after = (page[-1].boot, page[-1].seq)
        session.expunge_all()  # keep the identity map from growing with the history


def _pruned_through(session: Session, installation_id: int) -> tuple[int, int] | None:
    """The last chain position whose predecessor retention may have deleted: the first stored row after
    the pruned prefix (docs/operations.md §6). None when nothing was ever pruned."""
    baseline = session.get(RetentionBaseline, installation_id)
    if baseline is None:
        return None
    first_kept = session.execute(
        select(Reading.boot, Reading.seq).where(
            Reading.installation_id == installation_id,
            or_(Reading.boot > baseline.last_boot,
                and_(Reading.boot == baseline.last_boot, Reading.seq > baseline.last_seq)))
        .order_by(Reading.boot, Reading.seq).limit(1)).first()
    return (first_kept.boot, first_kept.seq) if first_kept else (baseline.last_boot, baseline.last_seq)


def reverify(session: Session, installation: Installation, limit: int) -> Verification:
    """Checks up to `limit` stored rows from the start of the chain; `complete` says whether that was all.

    A row that the ingest stored as verified but whose predecessor is missing is a deletion, unless
    retention pruned it: up to the first row after the pruned prefix, such rows are counted as
    `pruned_gaps`, not problems."""
    pruned_through = _pruned_through(session, installation.id)
    pruned_gaps = 0
    store = MemoryChainStore()
    problems: list[Problem] = []
    problem_count = 0
    checked = 0
    meter, public_key = installation.shelly_mac, installation.public_key

    def flag(row: Reading, outcome: str, detail: str) -> None:
        nonlocal problem_count
        problem_count += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(boot=row.boot, seq=row.seq, ts=row.ts, outcome=outcome, detail=detail))

    for row in _rows(session, installation.id, limit + 1):
        if checked == limit:
            return Verification(checked=checked, complete=False, ok=problem_count == 0,
                                problem_count=problem_count, problems=problems, pruned_gaps=pruned_gaps)
        checked += 1
        if row.prev is None or public_key is None:
            if row.status != STATUS_DIGEST_ONLY:
                flag(row, Outcome.DIGEST_ONLY.value,
                     f"a reading without a signed record is stored as {row.status!r}")
            continue
        record = row.record_bytes(meter)
        if row.record_hash is not None and row.record_hash != record_hash(record):
            flag(row, "record_hash_mismatch", "the stored record_hash is not SHA-256 of the stored record")
        result = check_signed(record, row.signature, public_key, meter)
        verdict: Verdict = result if isinstance(result, Verdict) else check_chain(store, result, record)
        if (verdict.outcome is Outcome.GAP and row.status != STATUS_GAP and pruned_through is not None
                and (row.boot, row.seq) <= pruned_through):
            pruned_gaps += 1
        elif verdict.outcome not in _CLEAN:
            flag(row, verdict.outcome.value, verdict.detail)
        if verdict.outcome in (Outcome.VERIFIED, Outcome.COUNTER_RESET, Outcome.GAP) and verdict.reading:
            store.add(StoredRecord(verdict.reading, record, verdict.hash))
    return Verification(checked=checked, complete=True, ok=problem_count == 0, problem_count=problem_count,
                        problems=problems, pruned_gaps=pruned_gaps)
