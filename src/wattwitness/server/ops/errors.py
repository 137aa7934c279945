"""The one error type of the operations services: a message an operator can act on, never a traceback."""

from __future__ import annotations


class OpsError(Exception):
    """A backup, restore, upgrade or prune that cannot proceed; `str()` says why and what to do."""
