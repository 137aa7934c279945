"""The chart's database lookup on SQLite and PostgreSQL gives exactly the list lookup's brackets, in one statement.

Readings are stored directly (the lookup reads only installation_id, ts and cumulative_mwh), with many
sharing a timestamp, and a second installation's readings interleaved that must never leak in.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import event

from wattwitness.server.db.models import Reading
from wattwitness.server.db.session import Database
from wattwitness.server.energy.counter import Bracket, CounterPoint, ListLookup
from wattwitness.server.energy.service import DbCounterLookup


def store(db: Database, installation_id: int, points: list[CounterPoint]) -> None:
    with db.scope() as session:
        session.add_all(
            Reading(installation_id=installation_id, boot=1, seq=seq, ts=point.ts, power_mw=0, energy_mwh=0,
                    prev=bytes(32), signature=bytes(64), record_hash=seq.to_bytes(32, "big"), status="verified",
                    cumulative_mwh=point.cumulative_mwh)
            for seq, point in enumerate(points, start=1))


def history(rng: random.Random, count: int) -> list[CounterPoint]:
    """Timestamps 0-60 s apart (a third of them repeated, some stepping back) and a few outages of three
    days (probes that skip a long stretch without readings), the counter never falling."""
    points, ts, cumulative = [], 1_000, 0
    for _ in range(count):
        ts += rng.choice([0, 0, 10, 10, 60, -20] * 10 + [3 * 86_400])
        cumulative += rng.choice([0, 5, 1_000])
        points.append(CounterPoint(ts, cumulative))
    return points


def test_db_lookup_matches_the_list_lookup_in_one_statement(
        db: Database, enrolled_installation: dict[str, Any], legacy_installation: dict[str, Any]) -> None:
    rng = random.Random(7)
    mine, other = enrolled_installation["id"], legacy_installation["id"]
    points = history(rng, 300)
    # Stored out of order, as when late records fill a gap: ties must not fall out of insertion order.
    store(db, mine, rng.sample(points, len(points)))
    store(db, other, [CounterPoint(p.ts + 5, p.cumulative_mwh * 3 + 1) for p in history(rng, 300)])
    first, last = min(p.ts for p in points), max(p.ts for p in points)
    # Before the first reading, on readings (shared timestamps included), between them, after the last.
    edges = [first - 100, first, *sorted(rng.sample(range(first, last), 60)), last, last + 100]
    edges += [p.ts for p in rng.sample(points, 20)]

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with db.scope() as session:
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            found = DbCounterLookup(session, mine).brackets(edges)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    assert found == ListLookup(points).brackets(edges)
    assert len([s for s in statements if "cumulative_mwh" in s]) == 1
    by_edge = dict(zip(edges, found, strict=True))
    assert by_edge[first - 100].before is None and by_edge[last + 100].after is None


def test_an_installation_without_readings_has_empty_brackets(
        db: Database, enrolled_installation: dict[str, Any], legacy_installation: dict[str, Any]) -> None:
    store(db, legacy_installation["id"], [CounterPoint(100, 5), CounterPoint(200, 9)])
    with db.scope() as session:
        found = DbCounterLookup(session, enrolled_installation["id"]).brackets([50, 150, 250])
    assert found == ListLookup([]).brackets([50, 150, 250]) == [Bracket(None, None)] * 3
