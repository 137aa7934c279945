"""Event metrics: what happens while requests are served (readings by outcome, verification time, batches).

These are counters and histograms updated by the code that does the work, through the small hook
functions below. With several server workers, set PROMETHEUS_MULTIPROC_DIR (an empty directory, cleared
at each service start) before the server starts: prometheus_client then keeps every worker's values in
files there and /metrics adds them up. Without it the values are this process's own, which is exact for
the default single-process server.

Everything that can be read from the database (last-reading age, anchors and their lag) is computed at
scrape time instead (see `state.py`), so it is correct whichever worker answers the scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from wattwitness.protocol import Outcome

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OUTBOX_DEPTH_HEADER = "X-WattWitness-Outbox-Depth"

# Registered here rather than in prometheus_client's global registry, so importing the server twice (as
# the tests do) never collides, and /metrics shows only WattWitness's own series plus the process ones.
REGISTRY = CollectorRegistry(auto_describe=True)
# CPU, memory and open files of the server process (single-process mode; Linux /proc).
ProcessCollector(namespace="wattwitness", registry=REGISTRY)

READINGS = Counter(
    "wattwitness_readings", "Readings received, by the verifier's outcome (PROTOCOL.md section 4)",
    ["outcome"], registry=REGISTRY,
)
VERIFICATION_SECONDS = Histogram(
    "wattwitness_verification_seconds", "Time to check one signed reading (signature, chain, storage rules)",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "wattwitness_batch_size", "Readings per POST /api/v1/readings/batch",
    buckets=(1, 2, 5, 10, 50, 100, 500, 1000, 2500, 5000), registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "wattwitness_agent_outbox_depth",
    "Unsent readings the agent reported in its last batch (header X-WattWitness-Outbox-Depth)",
    ["installation_id"], registry=REGISTRY, multiprocess_mode="mostrecent",
)
HTTP_REQUESTS = Counter(
    "wattwitness_http_requests", "HTTP requests by method, route template and status",
    ["method", "route", "status"], registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "wattwitness_http_request_seconds", "HTTP request duration by route template",
    ["route"], registry=REGISTRY,
)

# Every outcome starts at zero, so a rate() over a rare outcome (equivocation) exists before it happens.
for _outcome in Outcome:
    READINGS.labels(_outcome.value)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())


def count_outcome(outcome: Outcome | str, seconds: float | None = None) -> None:
    """Hook for the readings service: one call per checked reading, with the time its check took."""
    READINGS.labels(outcome.value if isinstance(outcome, Outcome) else str(outcome)).inc()
    if seconds is not None:
        VERIFICATION_SECONDS.observe(seconds)


def observe_ingest(outcomes: Iterable[Outcome | str], seconds: float) -> None:
    """Hook for the ingest: the outcomes of one request's readings and the time checking them all took.

    Each reading is counted under its outcome, and the verification histogram gets one observation per
    reading of the request's mean time per reading (timing each record alone would cost more than the
    measurement is worth on the hot path)."""
    checked = list(outcomes)
    if not checked:
        return
    per_reading = seconds / len(checked)
    for outcome in checked:
        count_outcome(outcome, per_reading)


def parse_outbox_depth(header_value: str | None) -> int | None:
    """The agent's outbox depth from its header, or None when absent or not a non-negative integer."""
    if header_value is None:
        return None
    text = header_value.strip()
    if not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def observe_batch(size: int, outbox_depth: str | int | None = None, installation_id: int | str | None = None) -> None:
    """Hook for the batch endpoint: the batch's size and, when the agent sent it, its outbox depth."""
    BATCH_SIZE.observe(size)
    depth = outbox_depth if isinstance(outbox_depth, int) else parse_outbox_depth(outbox_depth)
    if depth is not None:
        OUTBOX_DEPTH.labels(str(installation_id) if installation_id is not None else "unknown").set(depth)
