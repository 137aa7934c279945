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

PostgreSQL, monthly partitions (db/partitions.py): a month that ended before the cut-off, in which some
installation's rows all lie inside its pruned range, is not deleted from row by row. Its rows are judged
by the same walk, and the partition is then rebuilt in one transaction: the rows to keep are copied aside,
the partition is TRUNCATEd (a new empty file; the old one is unlinked at commit, so no dead rows and no
vacuum) and the kept rows go back in. Rows of other installations there (legacy, not in this run, or
with rows above their horizon) are kept whole. Everything else (the current months, readings_before and
readings_after, SQLite) is pruned by chunked DELETE.
"""

from __future__ import annotations

import bisect
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from wattwitness.protocol import ZERO_HASH
from wattwitness.server.db.models import (
    STATUS_VERIFIED,
    UNUSUAL_SQL,
    Anchor,
    Installation,
    Reading,
    RetentionBaseline,
)
from wattwitness.server.db.partitions import Month, ensure_partitions, is_partitioned, monthly_partitions
from wattwitness.server.db.session import Database
from wattwitness.server.ops.errors import OpsError
from wattwitness.server.readings.store import after, before

EDGE_S = 300  # every chart bucket edge is a multiple of this (docs/operations.md §6)
DAY_S = 86_400
CHUNK = 5_000
PAGE = 5_000
KEPT_CHUNK = 100_000  # ids per statement when a rebuilt partition's kept rows are copied

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
            ensure_partitions(session.connection())  # the daily run also keeps the coming months' partitions
            session.commit()
            query = select(Installation.id).order_by(Installation.id)
            if installation_id is not None:
                query = query.where(Installation.id == installation_id)
            ids = list(session.scalars(query))
        if installation_id is not None and not ids:
            raise OpsError(f"no installation {installation_id}")
        plans = [_plan(database, iid, cutoff) for iid in ids]
        months = _compactable(database, [plan for plan in plans if isinstance(plan, _Plan)], cutoff)
        results = [plan if isinstance(plan, PruneResult) else _delete(database, plan, months, chunk)
                   for plan in plans]
        removed = _compact(database, months)
        return [replace(result, deleted=result.deleted + removed.get(result.installation_id, 0))
                for result in results]
    finally:
        database.dispose()


@dataclass
class _Plan:
    """One installation's pruned range, its baseline committed: what its rows are judged against."""

    installation_id: int
    cutoff: int
    horizon: Order
    protected: set[int]
    prefix_max_ts: int


def _plan(database: Database, installation_id: int, cutoff: int) -> _Plan | PruneResult:
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
    return _Plan(installation_id, cutoff, horizon, protected, prefix_max_ts)


def _delete(database: Database, plan: _Plan, months: dict[Month, _Compaction], chunk: int) -> PruneResult:
    """Deletes the plan's deletable rows in chunks, except those in a month that will be compacted: there
    the rows to keep are noted instead (the compaction copies them and drops the rest at once)."""
    mine = sorted((month, compaction) for month, compaction in months.items()
                  if plan.installation_id in compaction.walked)
    starts = [month.start_ts for month, _ in mine]
    pending: list[int] = []
    deleted = 0

    def flush() -> int:
        with database.session() as session:
            outcome = session.execute(delete(Reading).where(Reading.id.in_(pending),
                                                            Reading.status == STATUS_VERIFIED))
            removed = cast(CursorResult[Any], outcome).rowcount or 0
            _count_pruned(session, plan.installation_id, removed)
            session.commit()
        pending.clear()
        return removed

    for reading_id, ts, deletable in _decisions(database, plan):
        index = bisect.bisect_right(starts, ts) - 1
        month, compaction = mine[index] if index >= 0 else (None, None)
        if compaction is not None and month is not None and ts < month.end_ts:
            if not deletable:
                compaction.kept.append(reading_id)
        elif deletable:
            pending.append(reading_id)
            if len(pending) >= chunk:
                deleted += flush()
    if pending:
        deleted += flush()
    return PruneResult(plan.installation_id, plan.cutoff, deleted, None, plan.horizon[0], plan.horizon[1])


def _count_pruned(session: Session, installation_id: int, removed: int) -> None:
    session.execute(update(RetentionBaseline).where(RetentionBaseline.installation_id == installation_id)
                    .values(pruned_total=RetentionBaseline.pruned_total + removed,
                            pruned_verified=RetentionBaseline.pruned_verified + removed))


# ---- PostgreSQL: whole monthly partitions ----------------------------------------------------------


@dataclass
class _Compaction:
    """A monthly partition to rebuild with only the rows prune keeps (PostgreSQL, partitioned readings).

    `walked`: installations whose rows there all lie in their pruned range, with their horizons; their
    rows are judged one by one (`kept` collects the ids to keep). Every other installation's rows in the
    partition are kept whole.
    """

    walked: dict[int, Order]
    kept: array[int] = field(default_factory=lambda: array("q"))  # 8 bytes per id


def _compactable(database: Database, plans: list[_Plan], cutoff: int) -> dict[Month, _Compaction]:
    """Monthly partitions that end before the cut-off and hold rows of at least one installation whose
    rows there are all inside its pruned range. A month that is still written to is never one of them."""
    with database.engine.connect() as connection:
        if not plans or not is_partitioned(connection):
            return {}
        horizons = {plan.installation_id: plan.horizon for plan in plans}
        months: dict[Month, _Compaction] = {}
        for month in monthly_partitions(connection):
            if month.end_ts > cutoff:
                continue
            walked = {}
            for installation_id in list(connection.scalars(text(DISTINCT_INSTALLATIONS.format(partition=month.name)))):
                newest = connection.execute(text(
                    f"SELECT boot, seq FROM {month.name} WHERE installation_id = :i "
                    "ORDER BY boot DESC, seq DESC LIMIT 1"), {"i": installation_id}).one()
                horizon = horizons.get(installation_id)
                if horizon is not None and (newest.boot, newest.seq) <= horizon:
                    walked[installation_id] = horizon
            if walked:
                months[month] = _Compaction(walked)
    return months


# The installations of one partition, one index probe each (a skip scan of its (installation_id, ...) index).
DISTINCT_INSTALLATIONS = """
WITH RECURSIVE ids(id) AS (
    SELECT min(installation_id) FROM {partition}
    UNION ALL
    SELECT (SELECT min(installation_id) FROM {partition} WHERE installation_id > ids.id) FROM ids
    WHERE ids.id IS NOT NULL
)
SELECT id FROM ids WHERE id IS NOT NULL
"""


def _compact(database: Database, months: dict[Month, _Compaction]) -> dict[int, int]:
    """Rebuilds each compactable partition with only its kept rows: TRUNCATE gives the partition a new,
    empty file (the old one is unlinked at commit: no dead rows, no vacuum) and the kept rows go back in.
    Returns the rows removed per installation."""
    removed: Counter[int] = Counter()
    for month, compaction in sorted(months.items()):
        with database.session() as session:
            # Writers of this month wait (readers do not) until the rebuilt partition is committed.
            session.execute(text(f"LOCK TABLE {month.name} IN SHARE MODE"))
            if not _still_walkable(session, month, compaction):
                session.rollback()
                continue
            walked = {"walked": list(compaction.walked)}
            before_counts = _counts(session, month, walked)
            # Other installations' rows, and rows not verified (only verified rows ever go, as with DELETE; the
            # walk protects the others already), then the walked installations' kept rows by id, in chunks.
            session.execute(text(f"CREATE TEMPORARY TABLE readings_kept ON COMMIT DROP AS SELECT * FROM {month.name} "
                                 f"WHERE NOT (installation_id = ANY(:walked)) OR {UNUSUAL_SQL}"), walked)
            for offset in range(0, len(compaction.kept), KEPT_CHUNK):
                session.execute(text(f"INSERT INTO readings_kept SELECT * FROM {month.name} WHERE id = ANY(:ids) "
                                     f"AND installation_id = ANY(:walked) AND NOT ({UNUSUAL_SQL})"),
                                {**walked, "ids": compaction.kept[offset:offset + KEPT_CHUNK].tolist()})
            session.execute(text(f"TRUNCATE {month.name}"))
            session.execute(text(f"INSERT INTO {month.name} SELECT * FROM readings_kept"))
            after_counts = _counts(session, month, walked)
            for installation_id, count in before_counts.items():
                gone = count - after_counts.get(installation_id, 0)
                _count_pruned(session, installation_id, gone)
                removed[installation_id] += gone
            session.commit()
    return dict(removed)


def _counts(session: Session, month: Month, walked: dict[str, list[int]]) -> dict[int, int]:
    return {row[0]: row[1] for row in session.execute(text(
        f"SELECT installation_id, count(*) FROM {month.name} WHERE installation_id = ANY(:walked) "
        "GROUP BY installation_id"), walked)}


def _still_walkable(session: Session, month: Month, compaction: _Compaction) -> bool:
    """Under the partition's lock: no walked installation got a row there above its horizon meanwhile
    (the ingest refuses rows below it), so the walk's verdicts still cover every row of theirs."""
    for installation_id, horizon in compaction.walked.items():
        newest = session.execute(text(f"SELECT boot, seq FROM {month.name} WHERE installation_id = :i "
                                      "ORDER BY boot DESC, seq DESC LIMIT 1"), {"i": installation_id}).first()
        if newest is not None and (newest.boot, newest.seq) > horizon:
            return False
    return True


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


def _decisions(database: Database, plan: _Plan) -> Iterator[tuple[int, int, bool]]:
    """(id, ts, deletable) for every reading of the installation up to the prefix's newest ts: deletable
    when in the prefix, not protected, and its ts is no chart boundary.

    Walks ALL the installation's readings up to the prefix's newest ts in (ts, id) order, in keyset pages
    of short read transactions (deleting between pages is safe: the walk only looks ahead of its cursor
    and remembers the previous distinct ts itself).
    """
    installation_id, horizon, prefix_max_ts = plan.installation_id, plan.horizon, plan.prefix_max_ts
    with database.session() as session:
        next_after = session.scalar(select(func.min(Reading.ts)).where(
            Reading.installation_id == installation_id, Reading.ts > prefix_max_ts))
    decided: list[tuple[int, int, bool]] = []
    group_ts: int | None = None
    group: list[tuple[int, bool]] = []  # (id, candidate: in the prefix and unprotected) sharing group_ts
    previous_ts: int | None = None
    cursor: tuple[int, int] | None = None

    def close_group(next_ts: int | None) -> None:
        if group_ts is None:
            return
        boundary = _edge_boundary(group_ts, previous_ts, next_ts)
        decided.extend((reading_id, group_ts, candidate and not boundary) for reading_id, candidate in group)

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
            group.append((row.id, (row.boot, row.seq) <= horizon and row.id not in plan.protected))
        if page:
            cursor = (page[-1].ts, page[-1].id)
        yield from decided
        decided.clear()
        if len(page) < PAGE:
            break
    close_group(next_after)
    yield from decided
