"""Serves the built dashboard (src/wattwitness/server/static) at `/`, with SPA fallback to index.html.

API paths (`/api`, `/docs`, `/health`, `/metrics`, `/openapi.json`) are never answered from here.
Without a build, pages say so with a short 200 HTML page instead of failing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from wattwitness.server.errors import NotFound

DEFAULT_STATIC_DIR = Path(__file__).parent / "static"
RESERVED_PREFIXES = ("api", "docs", "redoc", "health", "metrics", "openapi.json")

NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>WattWitness</title></head>
<body><h1>WattWitness</h1><p>The dashboard is not built. Run <code>make frontend</code>
(or <code>npm run build</code> in <code>frontend/</code>). The API is at <a href="/docs">/docs</a>.</p></body></html>
"""


def dashboard_router(static_dir: Path | None) -> APIRouter:
    root = (static_dir or DEFAULT_STATIC_DIR).resolve()
    router = APIRouter(include_in_schema=False)

    @router.get("/{path:path}")
    def dashboard(path: str) -> Response:
        first = path.split("/", 1)[0]
        if first in RESERVED_PREFIXES:
            raise NotFound(f"no route for /{path}")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT)
        if path:
            candidate = (root / path).resolve()
            # Only files inside the build directory; `..` tricks fall through to index.html.
            if candidate.is_file() and candidate.is_relative_to(root):
                headers = {"Cache-Control": "public, max-age=31536000, immutable"} if first == "assets" else {}
                return FileResponse(candidate, headers=headers)
            if first == "assets":
                raise NotFound(f"no dashboard asset {path}")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return router
