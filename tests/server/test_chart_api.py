"""GET /api/v1/readings/{id}/chart through HTTP on SQLite and PostgreSQL, fed real signed WW2 records.

Every scenario checks the same invariant: the buckets add up exactly to `total_energy`, and that is the
energy the meter's counter recorded over the period (counter resets credit nothing for their step).
"""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.conftest import ADMIN_TOKEN
from tests.server.test_energy_history import SignedHistory, enroll, post_all, unix
from wattwitness.server.energy.schemas import EnergyChart
from wattwitness.server.settings import Settings

# The histories below read every minute; a gap is more than 3 minutes without readings.
INTERVAL_S = 60


@pytest.fixture
def server_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, admin_token=ADMIN_TOKEN,
                    background_tasks=False, reading_interval_s=INTERVAL_S)


def chart(client: TestClient, installation_id: int, time_frame: str, at: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/readings/{installation_id}/chart", params={"time_frame": time_frame, "at": at})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert EnergyChart.model_validate(body).model_dump() == body  # exactly the documented shape
    return body


def assert_exact(body: dict[str, Any], expected_mwh: int) -> None:
    values = [point["value_mwh"] for point in body["data_points"]]
    assert sum(values) == body["total_energy_mwh"] == expected_mwh
    assert body["total_energy"] == expected_mwh / 1000
    assert all(point["value"] == point["value_mwh"] / 1000 for point in body["data_points"])
    assert all(value >= 0 for value in values)


@cache
def berlin_dst_history() -> SignedHistory:
    history = SignedHistory()
    history.steady(unix(2026, 3, 28, 23), unix(2026, 3, 29, 22), seed=1)  # spring-forward day
    history.steady(unix(2026, 10, 24, 22), unix(2026, 10, 25, 23), seed=2)  # fall-back day
    return history


def test_berlin_dst_days_have_23_and_25_buckets_that_sum_to_the_counter(client: TestClient) -> None:
    history = berlin_dst_history()
    installation_id = enroll(client, history, "Europe/Berlin")
    post_all(client, history.items)

    spring = chart(client, installation_id, "day", unix(2026, 3, 29, 10))
    assert len(spring["data_points"]) == 23 and spring["timezone"] == "Europe/Berlin"
    assert (spring["period_start"], spring["period_end"]) == (unix(2026, 3, 28, 23), unix(2026, 3, 29, 22))
    assert [p["label"] for p in spring["data_points"][:3]] == ["00:00", "01:00", "03:00"]
    assert not any(p["estimated"] for p in spring["data_points"])
    assert_exact(spring, history.counter_energy(unix(2026, 3, 28, 23), unix(2026, 3, 29, 22)))

    autumn = chart(client, installation_id, "day", unix(2026, 10, 25, 10))
    assert len(autumn["data_points"]) == 25
    assert [p["label"] for p in autumn["data_points"][2:4]] == ["02:00 CEST", "02:00 CET"]
    assert_exact(autumn, history.counter_energy(unix(2026, 10, 24, 22), unix(2026, 10, 25, 23)))

    # An hour on each day: 12 five-minute buckets; readings sit on the edges, so exact too.
    hour = chart(client, installation_id, "hour", unix(2026, 10, 25, 1, 30))  # the second 02:00 (CET)
    assert len(hour["data_points"]) == 12 and hour["period_start"] == unix(2026, 10, 25, 1)
    assert_exact(hour, history.counter_energy(unix(2026, 10, 25, 1), unix(2026, 10, 25, 2)))


@cache
def kolkata_reset_history() -> SignedHistory:
    """A Kolkata day (18:30 UTC to 18:30 UTC) whose meter counter is reset at 06:30 UTC, after a reboot."""
    history = SignedHistory()
    history.energy_mwh = 9_000_000_000  # a meter that has run for years
    history.steady(unix(2026, 6, 1, 18, 30), unix(2026, 6, 2, 6, 30), seed=3)
    history.reboot()
    history.reset_counter(250)
    history.steady(unix(2026, 6, 2, 6, 31), unix(2026, 6, 2, 18, 30), seed=4)
    return history


def test_kolkata_day_with_a_counter_reset(client: TestClient) -> None:
    history = kolkata_reset_history()
    installation_id = enroll(client, history, "Asia/Kolkata")
    results = post_all(client, history.items)
    assert sum(r["outcome"] == "counter_reset" for r in results) == 1

    body = chart(client, installation_id, "day", unix(2026, 6, 2, 0))
    assert len(body["data_points"]) == 24 and body["timezone"] == "Asia/Kolkata"
    assert body["period_start"] == unix(2026, 6, 1, 18, 30) and body["period_end"] == unix(2026, 6, 2, 18, 30)
    assert body["data_points"][0]["label"] == "00:00"
    expected = history.counter_energy(unix(2026, 6, 1, 18, 30), unix(2026, 6, 2, 18, 30))
    assert_exact(body, expected)
    # The reset neither goes negative nor credits the old counter: no bucket exceeds 60 readings' rise.
    assert max(p["value_mwh"] for p in body["data_points"]) <= 61 * 4_000


@cache
def gap_history() -> tuple[SignedHistory, list[int]]:
    """A UTC day read every minute; the readings of 09:00 to 12:00 (exclusive) never reach the server."""
    history = SignedHistory()
    history.steady(unix(2026, 5, 4, 0), unix(2026, 5, 5, 0), seed=5)
    lost = range(unix(2026, 5, 4, 9, 0, 1), unix(2026, 5, 4, 12))
    posted = [i for i, r in enumerate(history.readings) if r.ts not in lost]
    return history, posted


def test_three_hour_gap_spreads_its_energy_over_estimated_buckets(client: TestClient) -> None:
    history, posted = gap_history()
    installation_id = enroll(client, history, "UTC")
    results = post_all(client, [history.items[i] for i in posted])
    assert sum(r["outcome"] == "gap" for r in results) == 1

    body = chart(client, installation_id, "day", unix(2026, 5, 4, 12))
    points = body["data_points"]
    assert [p["estimated"] for p in points[8:13]] == [False, True, True, True, False]
    gap_energy = history.counter_energy(unix(2026, 5, 4, 9), unix(2026, 5, 4, 12), posted)
    thirds = [p["value_mwh"] for p in points[9:12]]
    assert sum(thirds) == gap_energy and max(thirds) - min(thirds) <= 1  # spread evenly, not piled up
    assert_exact(body, history.counter_energy(unix(2026, 5, 4), unix(2026, 5, 5), posted))
    # The counter kept counting during the gap: the day's total is the counter's difference anyway.
    assert body["total_energy_mwh"] == history.readings[-1].energy_mwh - history.readings[0].energy_mwh


@cache
def year_history() -> SignedHistory:
    """2025 in Berlin, read twice a day from local New Year to local New Year (sparse: estimated buckets)."""
    history = SignedHistory()
    history.steady(unix(2024, 12, 31, 23), unix(2025, 12, 31, 23), seed=6, step=12 * 3600, peak=40_000_000)
    return history


def test_year_view_has_12_months_that_sum_to_the_counter(client: TestClient) -> None:
    history = year_history()
    installation_id = enroll(client, history, "Europe/Berlin")
    post_all(client, history.items)
    body = chart(client, installation_id, "year", unix(2025, 7, 1))
    assert [p["label"] for p in body["data_points"]] == [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    assert body["period_start"] == unix(2024, 12, 31, 23) and body["period_end"] == unix(2025, 12, 31, 23)
    assert body["data_points"][3]["timestamp"] == unix(2025, 3, 31, 22)  # April starts in summer time
    assert_exact(body, history.counter_energy(unix(2024, 12, 31, 23), unix(2025, 12, 31, 23)))
    # A month of the same year and the week around a DST change: same invariant, other bucket sets.
    month = chart(client, installation_id, "month", unix(2025, 2, 10))
    assert len(month["data_points"]) == 28
    week = chart(client, installation_id, "week", unix(2025, 3, 30, 12))
    assert len(week["data_points"]) == 7
    total_by_month = sum(chart(client, installation_id, "month", unix(2025, m, 15))["total_energy_mwh"]
                         for m in range(1, 13))
    assert total_by_month == body["total_energy_mwh"]


def test_defaults_are_the_current_day(client: TestClient) -> None:
    installation_id = enroll(client, SignedHistory(), "Asia/Kolkata")
    before = int(time.time())
    response = client.get(f"/api/v1/readings/{installation_id}/chart")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["time_frame"] == "day" and body["period_start"] <= before < body["period_end"]
    assert body["period_end"] - body["period_start"] == 24 * 3600 and body["period_start"] % 3600 == 1800


def test_a_chart_before_any_reading_is_all_zero(client: TestClient) -> None:
    installation_id = enroll(client, SignedHistory(), "Europe/Berlin")
    body = chart(client, installation_id, "week", unix(2026, 1, 7))
    assert body["total_energy_mwh"] == 0 and len(body["data_points"]) == 7


def test_a_chart_is_one_statement_for_all_its_edges(client: TestClient, db: Any) -> None:
    """The installation, then one statement for every edge: as many statements for 13 edges as for 26."""
    history = berlin_dst_history()
    installation_id = enroll(client, history, "Europe/Berlin")
    post_all(client, history.items)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    per_chart = []
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for time_frame in ("hour", "day"):
            statements.clear()
            chart(client, installation_id, time_frame, unix(2026, 10, 25, 10))
            per_chart.append(len(statements))
            assert len([s for s in statements if "cumulative_mwh" in s]) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert per_chart[0] == per_chart[1] <= 4  # (BEGIN,) installation, brackets (, COMMIT)


@pytest.mark.parametrize("params", [{"time_frame": "fortnight"}, {"time_frame": "day", "at": "yesterday"},
                                    {"time_frame": "day", "at": "-5"}, {"time_frame": "year", "at": "10**20"},
                                    {"time_frame": "day", "at": str(10**15)}])
def test_bad_query_is_422_malformed(client: TestClient, params: dict[str, str]) -> None:
    installation_id = enroll(client, SignedHistory(), "UTC")
    response = client.get(f"/api/v1/readings/{installation_id}/chart", params=params)
    assert response.status_code == 422 and response.json()["error"] == "malformed", response.text
    assert response.json()["detail"]


def test_unknown_installation_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/readings/999/chart", params={"time_frame": "day"})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


@pytest.mark.parametrize("endpoint", ["chart", "integrity", "stream"])
def test_an_id_no_database_column_holds_is_422(client: TestClient, endpoint: str) -> None:
    response = client.get(f"/api/v1/readings/{2**70}/{endpoint}")
    assert response.status_code == 422 and response.json()["error"] == "malformed", response.text
