"""Prometheus metrics: event counters the services update through hooks, database state read at scrape time.

Hooks for the code that does the work (one call each):
- `observe_ingest(outcomes, seconds)`: the outcomes of one ingest call and how long checking them took
  (or `count_outcome(outcome, seconds)` per reading);
- `observe_batch(size, outbox_depth_header, installation_id)`: every batch post.
`install(app)` adds GET /metrics and the HTTP request metrics to an app.
"""

from __future__ import annotations

from typing import Any

from wattwitness.server.metrics.events import (
    OUTBOX_DEPTH_HEADER,
    count_outcome,
    observe_batch,
    observe_ingest,
    parse_outbox_depth,
)
from wattwitness.server.metrics.middleware import HttpMetricsMiddleware
from wattwitness.server.metrics.router import STATE_LOADER_KEY, router, scrape
from wattwitness.server.metrics.state import InstallationState, StateCollector, StateLoader

__all__ = [
    "OUTBOX_DEPTH_HEADER", "InstallationState", "StateCollector", "StateLoader", "count_outcome", "install",
    "observe_batch", "observe_ingest", "parse_outbox_depth", "router", "scrape",
]


def install(app: Any, state_loader: StateLoader | None = None) -> None:
    """The app factory's one-line hook: GET /metrics, HTTP request metrics, and database state gauges
    (read through `app.state.db`, the app's Database, unless another loader is given)."""
    app.add_middleware(HttpMetricsMiddleware)
    app.include_router(router)
    if state_loader is None and getattr(app.state, "db", None) is not None:
        from wattwitness.server.metrics.db_state import database_loader

        state_loader = database_loader(app.state.db)
    if state_loader is not None:
        setattr(app.state, STATE_LOADER_KEY, state_loader)
