"""Small helpers shared by the reliability tests."""

from __future__ import annotations

import time


def now() -> int:
    """Unix seconds now (the server rejects records more than 300 s in the future)."""
    return int(time.time())
