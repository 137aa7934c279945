"""Retention: drop raw readings older than a window while every chart and lifetime total stays exact.

The rule (docs/operations.md §6): a chart's value at a bucket edge E is read from two readings only,
the newest with ts <= E and the oldest with ts >= E, and every edge of every time frame is a multiple
of 300 s in UTC. So in the pruned range a reading is kept when its ts is the last ts at or before some
5-minute edge or the first ts at or after one (judged against ALL the installation's readings, so the
kept window's neighbours count too); the other readings are deleted. Also kept, for the integrity view,
anchoring and the installation summary: every reading that is not `verified`, the reading just before
each of them in chain order, chain restarts (prev = 32 zero bytes), the first reading of every boot,
the newest reading, every anchored head, and the last record of the pruned range.

The pruned range is a PREFIX of the chain in (boot, seq) order: every reading before the first one whose
ts is inside the window, and never past the newest anchored head when the installation is anchored (a
reading the relayer has not anchored yet is never pruned). Its last record (boot, seq, ts, hash) is
stored in `retention_baselines` before anything is deleted; the ingest refuses records at or below it
that are not stored, since they can no longer be checked for duplicates or equivocation.

Deletes run in chunks (a few thousand rows per transaction, each updating the baseline's counts in the
same transaction), so a concurrent ingest waits at most for one chunk. `installations.reading_count`
stays the number of readings ever accepted, so the integrity counts do not change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from wattwitness.protocol import ZERO_HASH
from wattwitness.server.db.models import (
    STATUS_VERIFIED,
    Anchor,
    Installation,
    Reading,
    RetentionBaseline,
)
from wattwitness.server.db.session import Database
from wattwitness.server.ops.errors import OpsError
from wattwitness.server.readings.store import after, before

EDGE_S = 300  # every chart bucket edge is a multiple of this (docs/operations.md §6)
DAY_S = 86_400
CHUNK = 5_000
PAGE = 5_000

Order = tuple[int, int]


@dataclass(frozen=True)
class PruneResult:
    installation_id: int
    cutoff_ts: int
    deleted: int  # rows deleted by this run
    skipped: str | None = None  # why nothing was pruned, when nothing could be
    last_boot: int | None = None
    last_seq: int | None = None


def cutoff_for(keep_days: int, now: int | None = None) -> int:
    if keep_days < 1:
        raise OpsError(f"--keep-days must be at least 1 (got {keep_days})")
    return (int(time.time()) if now is None else now) - keep_days * DAY_S


def retention_horizon(session: Session, installation_id: int) -> Order | None:
    """(boot, seq) of the last pruned record, or None when nothing was ever pruned."""
    baseline = session.get(RetentionBaseline, installation_id)
    return (baseline.last_boot, baseline.last_seq) if baseline is not None else None


def prune_database(database_url: str, keep_days: int, now: int | None = None,
                   installation_id: int | None = None, chunk: int = CHUNK) -> list[PruneResult]:
    """Prunes every installation (or one) of the database at `database_url`; commits chunk by chunk."""
    cutoff = cutoff_for(keep_days, now)
    database = Database(database_url)
    try:
        with database.session() as session:
            query = select(Installation.id).order_by(Installation.id)
            if installation_id is not None:
                query = query.where(Installation.id == installation_id)
            ids = list(session.scalars(query))
        if installation_id is not None and not ids:
            raise OpsError(f"no installation {installation_id}")
        return [prune_installation(database, iid, cutoff, chunk) for iid in ids]
    finally:
        database.dispose()


def prune_installation(database: Database, installation_id: int, cutoff: int, chunk: int = CHUNK) -> PruneResult:
    with database.session() as session:
        installation = session.get(Installation, installation_id)
        if installation is None:
            raise OpsError(f"no installation {installation_id}")
        if installation.legacy or installation.public_key is None:
            return PruneResult(installation_id, cutoff, 0, "legacy installation: no chain to keep linkable")
        # The ingest's row lock: no record of this installation is being stored while the horizon moves.
        session.execute(update(Installation).where(Installation.id == installation_id)
                        .values(reading_count=Installation.reading_count))
        horizon = _horizon(session, installation_id, cutoff)
        if horizon is None:
            session.rollback()
            return PruneResult(installation_id, cutoff, 0, "no reading older than the window")
        last = session.scalars(select(Reading).where(Reading.installation_id == installation_id,
                                                     Reading.boot == horizon[0], Reading.seq == horizon[1])).one()
        assert last.record_hash is not None
        baseline = session.get(RetentionBaseline, installation_id)
        if baseline is None:
            baseline = RetentionBaseline(installation_id=installation_id, pruned_total=0, pruned_verified=0)
            session.add(baseline)
        elif (baseline.last_boot, baseline.last_seq) >= horizon:
            session.rollback()
            return PruneResult(installation_id, cutoff, 0, "already pruned up to this window")
        baseline.pruned_before_ts = cutoff
        baseline.last_boot, baseline.last_seq, baseline.last_ts = last.boot, last.seq, last.ts
        baseline.last_hash = last.record_hash
        baseline.updated_at = datetime.now(UTC)
        # Committed first: from here on the ingest refuses unstored records at or below the horizon.
        session.commit()

        protected = _protected_ids(session, installation_id, horizon)
        # The range's last record too: the chain above the horizon keeps its stored predecessor, so a late
        # record between it and the next stored one is still checked against real neighbours.
        protected.add(last.id)
        prefix_max_ts = session.scalar(select(func.max(Reading.ts)).where(
            Reading.installation_id == installation_id, before(horizon, inclusive=True)))
        assert prefix_max_ts is not None
        session.rollback()  # end the read transaction: the deletes below take their own short ones

    deleted = 0
    for ids in _deletable(database, installation_id, horizon, prefix_max_ts, protected, chunk):
        with database.session() as session:
            outcome = session.execute(delete(Reading).where(Reading.id.in_(ids), Reading.status == STATUS_VERIFIED))
            removed = cast(CursorResult[Any], outcome).rowcount or 0
            session.execute(update(RetentionBaseline).where(RetentionBaseline.installation_id == installation_id)
                            .values(pruned_total=RetentionBaseline.pruned_total + removed,
                                    pruned_verified=RetentionBaseline.pruned_verified + removed))
            session.commit()
        deleted += removed
    return PruneResult(installation_id, cutoff, deleted, None, horizon[0], horizon[1])


def _horizon(session: Session, installation_id: int, cutoff: int) -> Order | None:
    """The last record of the prunable prefix: before the first record (chain order) inside the window,
    and not past the newest anchored head when the installation has anchors."""
    first_kept = session.execute(
        select(Reading.boot, Reading.seq).where(Reading.installation_id == installation_id, Reading.ts >= cutoff)
        .order_by(Reading.boot, Reading.seq).limit(1)).first()
    conditions = [Reading.installation_id == installation_id]
    if first_kept is not None:
        conditions.append(before((first_kept.boot, first_kept.seq)))
    anchored = session.execute(
        select(Anchor.head_boot, Anchor.head_seq).where(Anchor.installation_id == installation_id)
        .order_by(Anchor.head_boot.desc(), Anchor.head_seq.desc()).limit(1)).first()
    if anchored is not None:
        conditions.append(before((anchored.head_boot, anchored.head_seq), inclusive=True))
    last = session.execute(select(Reading.boot, Reading.seq).where(*conditions)
                           .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1)).first()
    return (last.boot, last.seq) if last is not None else None


def _protected_ids(session: Session, installation_id: int, horizon: Order) -> set[int]:
    """Readings of the prefix the integrity view, the summary and anchoring still need (module docstring)."""
    mine = Reading.installation_id == installation_id
    in_prefix = before(horizon, inclusive=True)
    protected: set[int] = set()
    # Not verified: in the prefix, or the first record after it (its predecessor is the prefix's last).
    unusual = [(row.id, row.boot, row.seq) for row in session.execute(
        select(Reading.id, Reading.boot, Reading.seq).where(mine, in_prefix, Reading.status != STATUS_VERIFIED))]
    following = session.execute(select(Reading.id, Reading.boot, Reading.seq, Reading.status)
                                .where(mine, after(horizon)).order_by(Reading.boot, Reading.seq).limit(1)).first()
    if following is not None and following.status != STATUS_VERIFIED:
        unusual.append((following.id, following.boot, following.seq))
    for reading_id, boot, seq in unusual:
        protected.add(reading_id)
        previous = session.scalar(select(Reading.id).where(mine, before((boot, seq)))
                                  .order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1))
        if previous is not None:
            protected.add(previous)
    protected.update(session.scalars(select(Reading.id).where(mine, in_prefix, Reading.prev == ZERO_HASH)))
    # First record of every boot (chain starts, the summary's boot_started_at) and the newest record.
    firsts = select(Reading.boot, func.min(Reading.seq).label("seq")).where(mine, in_prefix).group_by(Reading.boot)
    protected.update(session.scalars(select(Reading.id).where(
        mine, tuple_(Reading.boot, Reading.seq).in_(firsts))))
    newest = session.scalar(select(Reading.id).where(mine).order_by(Reading.boot.desc(), Reading.seq.desc()).limit(1))
    if newest is not None:
        protected.add(newest)
    heads = select(Anchor.head_boot, Anchor.head_seq).where(Anchor.installation_id == installation_id)
    protected.update(session.scalars(select(Reading.id).where(mine, tuple_(Reading.boot, Reading.seq).in_(heads))))
    return protected


def _edge_boundary(ts: int, previous_ts: int | None, next_ts: int | None) -> bool:
    """Whether a reading time is the last at or before some 5-minute edge, or the first at or after one."""
    last_before_edge = next_ts is None or -(-ts // EDGE_S) * EDGE_S < next_ts
    first_after_edge = previous_ts is None or (ts // EDGE_S) * EDGE_S > previous_ts
    return last_before_edge or first_after_edge


def _deletable(database: Database, installation_id: int, horizon: Order, prefix_max_ts: int,
               protected: set[int], chunk: int) -> Iterator[list[int]]:
    """Ids to delete, in chunks: prefix readings whose ts is no chart boundary and that are not protected.

    Walks ALL the installation's readings up to the prefix's newest ts in (ts, id) order, in keyset pages
    of short read transactions (deleting between pages is safe: the walk only looks ahead of its cursor
    and remembers the previous distinct ts itself).
    """
    with database.session() as session:
        next_after = session.scalar(select(func.min(Reading.ts)).where(
            Reading.installation_id == installation_id, Reading.ts > prefix_max_ts))
    pending: list[int] = []
    group_ts: int | None = None
    group: list[int] = []  # deletable candidates (prefix, unprotected) sharing group_ts
    previous_ts: int | None = None
    cursor: tuple[int, int] | None = None

    def close_group(next_ts: int | None) -> None:
        if group_ts is not None and group and not _edge_boundary(group_ts, previous_ts, next_ts):
            pending.extend(group)

    while True:
        query = select(Reading.id, Reading.ts, Reading.boot, Reading.seq).where(
            Reading.installation_id == installation_id, Reading.ts <= prefix_max_ts)
        if cursor is not None:
            query = query.where(tuple_(Reading.ts, Reading.id) > tuple_(*cursor))
        with database.session() as session:
            page = list(session.execute(query.order_by(Reading.ts, Reading.id).limit(PAGE)))
        for row in page:
            if row.ts != group_ts:
                close_group(row.ts)
                if group_ts is not None:
                    previous_ts = group_ts
                group_ts, group = row.ts, []
            if (row.boot, row.seq) <= horizon and row.id not in protected:
                group.append(row.id)
        if page:
            cursor = (page[-1].ts, page[-1].id)
        while len(pending) >= chunk:
            yield pending[:chunk]
            del pending[:chunk]
        if len(page) < PAGE:
            break
    close_group(next_after)
    while pending:
        yield pending[:chunk]
        del pending[:chunk]
