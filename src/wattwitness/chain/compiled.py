"""Compiled contract artifacts (ABI + bytecode) shipped in the package, produced by `contracts/` `npm run compile`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

ARTIFACT_DIR = Path(__file__).parent / "artifacts"


@cache
def load(name: str) -> dict[str, Any]:
    path = ARTIFACT_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no compiled artifact {path}; run `make contracts` (cd contracts && npm run compile)")
    return json.loads(path.read_text())


def ledger() -> dict[str, Any]:
    return load("WattWitnessLedger")
