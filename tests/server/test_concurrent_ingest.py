"""Agents posting at the same time (threads, through HTTP) on SQLite and PostgreSQL: no 5xx, nothing lost,
each reading stored once, lifetime totals exactly right."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from tests import vectors
from tests.server.signing import enrollment_body, new_key, signed_chain, vector_key

METER = bytes.fromhex(vectors.ww2()["enrollment"]["meter"])


def test_overlapping_batches_of_one_installation(client: TestClient, enrolled_installation: dict[str, Any]) -> None:
    items = signed_chain(vector_key(), METER, [i * 100 for i in range(120)], start_ts=int(time.time()) - 5000)
    # Four senders with overlapping slices, in different orders: duplicates and late records race.
    slices = [items[0:60], list(reversed(items[30:90])), items[60:120], items[::3]]

    def send(chunk: list[dict[str, str]]) -> list[str]:
        outcomes = []
        for start in range(0, len(chunk), 20):
            response = client.post("/api/v1/readings/batch", json={"readings": chunk[start:start + 20]})
            assert response.status_code == 200, response.text
            outcomes += [r["outcome"] for r in response.json()["results"]]
        return outcomes

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(send, slices))
    assert {o for outcomes in results for o in outcomes} <= {"verified", "gap", "duplicate", "counter_reset"}

    iid = enrolled_installation["id"]
    installation = client.get(f"/api/v1/installations/{iid}").json()
    assert installation["reading_count"] == 120
    assert installation["lifetime_energy_wh"] == 11.9  # 119 steps of 100 mWh
    page = client.get(f"/api/v1/readings/{iid}", params={"limit": 1000}).json()["readings"]
    assert sorted(r["seq"] for r in page) == list(range(1, 121))
    assert {r["status"] for r in page} == {"verified"}
    by_seq = {r["seq"]: r["cumulative_wh"] for r in page}
    assert all(abs(by_seq[seq] - (seq - 1) * 0.1) < 1e-9 for seq in by_seq)


def test_different_installations_in_parallel(client: TestClient, admin_headers: dict[str, str]) -> None:
    keys = [new_key() for _ in range(3)]
    meters = [bytes([0, 0, 0, 0, 1, i]) for i in range(3)]
    for key, meter in zip(keys, meters, strict=True):
        assert client.post("/api/v1/installations/", json=enrollment_body(key, meter),
                           headers=admin_headers).status_code == 201
    chains = [signed_chain(key, meter, [i * 10 for i in range(50)], start_ts=int(time.time()) - 1000)
              for key, meter in zip(keys, meters, strict=True)]

    def send(chain: list[dict[str, str]]) -> list[int]:
        return [client.post("/api/v1/readings/", json=item).status_code for item in chain]

    with ThreadPoolExecutor(max_workers=3) as pool:
        statuses = list(pool.map(send, chains))
    assert statuses == [[201] * 50] * 3
    assert [i["reading_count"] for i in client.get("/api/v1/installations/").json()] == [50, 50, 50]
