"""GET /metrics: Prometheus text format, event metrics of every worker plus database state at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from wattwitness.server.metrics.events import REGISTRY, multiprocess_dir
from wattwitness.server.metrics.state import StateCollector, StateLoader

router = APIRouter(tags=["metrics"])

STATE_LOADER_KEY = "wattwitness_metrics_state_loader"


class _ProcessLocal(Collector):
    """This process's event metrics, for the single-process server."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape(state_loader: StateLoader | None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ProcessLocal())
    if state_loader is not None:
        registry.register(StateCollector(state_loader))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus scrape endpoint, text exposition format 0.0.4 (read by every Prometheus version)."""
    loader: StateLoader | None = getattr(request.app.state, STATE_LOADER_KEY, None)
    return Response(scrape(loader), media_type=CONTENT_TYPE_PLAIN_0_0_4)
