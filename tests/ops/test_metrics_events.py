"""GET /metrics: event hooks, HTTP metrics, the state collector's contract, and multi-worker aggregation.

The database-backed state (last-reading age, anchors) against the real server is in test_metrics_server.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from wattwitness.protocol import Outcome
from wattwitness.server import metrics
from wattwitness.server.metrics import InstallationState


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, metric: str, **labels: str) -> float:
    return samples(text).get((metric, tuple(sorted(labels.items()))), 0.0)


def _app(loader: metrics.StateLoader | None = None) -> FastAPI:
    app = FastAPI()
    metrics.install(app, loader)

    @app.get("/api/v1/installations/{installation_id}")
    def one(installation_id: int) -> dict[str, int]:
        return {"id": installation_id}

    return app


def test_hooks_count_outcomes_times_and_batches() -> None:
    with TestClient(_app()) as client:
        before = client.get("/metrics").text
        metrics.count_outcome(Outcome.VERIFIED, 0.0004)
        metrics.count_outcome(Outcome.VERIFIED, 0.0006)
        metrics.count_outcome("invalid_signature", 0.0005)
        metrics.observe_batch(120, "3456", installation_id=7)
        metrics.observe_batch(1, "not a number", installation_id=8)
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = response.text
    delta = lambda metric, **labels: value(after, metric, **labels) - value(before, metric, **labels)  # noqa: E731
    assert delta("wattwitness_readings_total", outcome="verified") == 2
    assert delta("wattwitness_readings_total", outcome="invalid_signature") == 1
    # Every outcome is exposed from the start, so alerts on rare ones have a series to watch.
    assert ("wattwitness_readings_total", (("outcome", "equivocation"),)) in samples(after)
    assert delta("wattwitness_verification_seconds_count") == 3
    assert abs(delta("wattwitness_verification_seconds_sum") - 0.0015) < 1e-9
    assert delta("wattwitness_verification_seconds_bucket", le="0.0005") == 2
    assert delta("wattwitness_batch_size_count") == 2
    assert delta("wattwitness_batch_size_sum") == 121
    assert value(after, "wattwitness_agent_outbox_depth", installation_id="7") == 3456
    assert value(after, "wattwitness_process_resident_memory_bytes") > 0
    assert ("wattwitness_agent_outbox_depth", (("installation_id", "8"),)) not in samples(after)


def test_outbox_depth_header_parsing() -> None:
    assert metrics.parse_outbox_depth(" 42 ") == 42
    assert metrics.parse_outbox_depth("0") == 0
    for bad in (None, "", "-1", "1e3", "12.5", "9" * 13):
        assert metrics.parse_outbox_depth(bad) is None


def test_http_requests_are_labelled_by_route_template() -> None:
    with TestClient(_app()) as client:
        before = client.get("/metrics").text
        for installation_id in (1, 2, 3):
            assert client.get(f"/api/v1/installations/{installation_id}").status_code == 200
        assert client.get("/no/such/path").status_code == 404
        after = client.get("/metrics").text
    route = "/api/v1/installations/{installation_id}"
    labels = {"method": "GET", "route": route, "status": "200"}
    assert value(after, "wattwitness_http_requests_total", **labels) - value(
        before, "wattwitness_http_requests_total", **labels) == 3
    assert value(after, "wattwitness_http_requests_total", method="GET", route="unmatched", status="404") >= 1
    assert not any("/api/v1/installations/1" in str(key) for key in samples(after))


def test_state_gauges_and_a_database_that_does_not_answer() -> None:
    states = [
        InstallationState(1, "Roof A", last_reading_ts=1_000, anchors=4, last_anchored_ts=400, unanchored_readings=60),
        InstallationState(2, "Field B", last_reading_ts=None, anchors=0, last_anchored_ts=None, unanchored_readings=0),
    ]
    text = metrics.scrape(lambda: states).decode()
    assert value(text, "wattwitness_database_up") == 1
    assert value(text, "wattwitness_anchors_total", installation_id="1", name="Roof A") == 4
    assert value(text, "wattwitness_anchor_lag_seconds", installation_id="1", name="Roof A") == 600
    assert value(text, "wattwitness_unanchored_readings", installation_id="1", name="Roof A") == 60
    assert value(text, "wattwitness_last_reading_age_seconds", installation_id="1", name="Roof A") > 1_000_000
    assert ("wattwitness_last_reading_age_seconds", (("installation_id", "2"), ("name", "Field B"))) not in \
        samples(text)

    def unreachable() -> list[InstallationState]:
        raise ConnectionRefusedError("database down")

    with TestClient(_app(unreachable)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert value(response.text, "wattwitness_database_up") == 0


WORKER = textwrap.dedent("""
    import sys
    from wattwitness.server import metrics
    for _ in range(int(sys.argv[1])):
        metrics.count_outcome("verified", 0.001)
    metrics.observe_batch(int(sys.argv[1]), sys.argv[2], installation_id=5)
""")


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path) -> None:
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count, depth in (("3", "10"), ("4", "20")):
        subprocess.run([sys.executable, "-c", WORKER, count, depth], env=environment, check=True, timeout=60)
    scrape = subprocess.run(
        [sys.executable, "-c", "from wattwitness.server import metrics; print(metrics.scrape(None).decode())"],
        env=environment, check=True, timeout=60, capture_output=True, text=True,
    ).stdout
    assert value(scrape, "wattwitness_readings_total", outcome="verified") == 7
    assert value(scrape, "wattwitness_batch_size_count") == 2
    assert value(scrape, "wattwitness_agent_outbox_depth", installation_id="5") == 20  # the most recent report


def test_observe_ingest_counts_each_outcome_and_spreads_the_time() -> None:
    before = metrics.scrape(None).decode()
    metrics.observe_ingest([Outcome.VERIFIED, Outcome.VERIFIED, Outcome.DUPLICATE, Outcome.GAP], 0.004)
    metrics.observe_ingest([], 1.0)  # nothing checked: nothing observed
    after = metrics.scrape(None).decode()

    def delta(metric: str, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert delta("wattwitness_readings_total", outcome="verified") == 2
    assert delta("wattwitness_readings_total", outcome="duplicate") == 1
    assert delta("wattwitness_readings_total", outcome="gap") == 1
    assert delta("wattwitness_verification_seconds_count") == 4
    assert abs(delta("wattwitness_verification_seconds_sum") - 0.004) < 1e-9
