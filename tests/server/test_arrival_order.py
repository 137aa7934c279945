"""Property: whatever order and batching the records of a chain arrive in, the stored state ends up the
same as in-order arrival: every record verified or counter_reset against its true predecessor, and
lifetime totals equal to the counter's non-negative steps. Through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from tests import vectors
from tests.server.signing import signed_chain, vector_key
from wattwitness.server.db.models import Reading
from wattwitness.server.db.session import Database

METER = bytes.fromhex(vectors.ww2()["enrollment"]["meter"])
# Rises, a reset (meter swapped), rises; reboots at indexes 4 and 9.
ENERGIES = [100, 300, 300, 700, 1_000, 50, 80, 400, 400, 900, 1_300, 1_250]
ITEMS = signed_chain(vector_key(), METER, ENERGIES, start_ts=int(time.time()) - 3600, new_boot_at=[4, 9])
EXPECTED_STATUS = ["verified"] + ["counter_reset" if now < before else "verified"
                                  for before, now in itertools.pairwise(ENERGIES)]
EXPECTED_TOTAL = list(itertools.accumulate([0] + [now - before if now >= before else 0
                                                  for before, now in itertools.pairwise(ENERGIES)]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(ITEMS))), cuts=st.lists(st.integers(1, len(ITEMS) - 1), max_size=4),
       single=st.booleans())
def test_any_arrival_order_converges(client: TestClient, enrolled_installation: dict[str, Any], db: Database,
                                     order: list[int], cuts: list[int], single: bool) -> None:
    with db.scope() as session:
        session.execute(delete(Reading))
    bounds = [0, *sorted(set(cuts)), len(order)]
    for start, end in itertools.pairwise(bounds):
        chunk = [ITEMS[i] for i in order[start:end]]
        if single:
            for item in chunk:
                assert client.post("/api/v1/readings/", json=item).status_code == 201
        else:
            outcomes = [r["outcome"] for r in client.post("/api/v1/readings/batch", json={"readings": chunk})
                        .json()["results"]]
            assert set(outcomes) <= {"verified", "gap", "counter_reset"}
    page = client.get(f"/api/v1/readings/{enrolled_installation['id']}", params={"limit": 100}).json()["readings"]
    stored = sorted(page, key=lambda r: (r["boot"], r["seq"]))
    assert [r["record"] for r in stored] == [item["record"] for item in ITEMS]
    assert [r["status"] for r in stored] == EXPECTED_STATUS
    assert [round(r["cumulative_wh"] * 1000) for r in stored] == EXPECTED_TOTAL
