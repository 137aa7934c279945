"""Loads the shared WW2 and legacy vectors (copied from shared/vectors into tests/vectors)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).parent / "vectors"


@cache
def ww2() -> dict[str, Any]:
    return json.loads((VECTOR_DIR / "ww2.json").read_text())


@cache
def legacy() -> dict[str, Any]:
    return json.loads((VECTOR_DIR / "legacy_v1.json").read_text())


def public_key() -> bytes:
    return bytes.fromhex(ww2()["key"]["public"])


def private_scalar() -> int:
    return int(ww2()["key"]["private_scalar_hex"], 16)


def meter() -> bytes:
    return bytes.fromhex(ww2()["enrollment"]["meter"])


def chain_items() -> list[tuple[bytes, bytes]]:
    return [(bytes.fromhex(c["record"]), bytes.fromhex(c["signature"])) for c in ww2()["chain"]]
