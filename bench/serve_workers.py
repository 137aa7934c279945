"""`wattwitness serve --workers N` with a longer uvicorn worker health check, for loaded benchmark machines.

Usage: .venv/bin/python -m bench.serve_workers --port P --workers N (settings from WATTWITNESS_* variables)

uvicorn's supervisor kills a worker that does not answer its health-check ping within 5 s; on a busy
two-core machine a freshly spawned worker needs longer than that to import the application, so
`wattwitness serve --workers 2` restarts its workers forever (measured while writing bench/ingest.py,
see docs/requests-bench.md R1). This is the same start-up as the CLI command (logging, settings check,
migration, the same uvicorn.run call) with only that timeout raised, until the CLI takes the option.
"""

from __future__ import annotations

import argparse

import uvicorn

from wattwitness.cli.server import _migrate, _settings
from wattwitness.logs import configure_logging

WORKER_HEALTHCHECK_S = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    configure_logging()
    settings = _settings()
    _migrate(settings)
    uvicorn.run("wattwitness.server.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_config=None, proxy_headers=True,
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_S)


if __name__ == "__main__":
    main()
