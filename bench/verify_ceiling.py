"""The raw P-256 verify rate of this machine: the ceiling for verified ingest.

Usage: .venv/bin/python -m bench.verify_ceiling [--seconds 3]
Measures one process and one process per core, verifying WW2 records the way the server does
(wattwitness.protocol.verify with the cached public key).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

from bench.report import publish, table
from wattwitness.protocol import Reading, public_key_bytes, sign, verify
from wattwitness.protocol.keys import private_key_from_scalar


def _signed_items(count: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    key = private_key_from_scalar(0x57A77517E55 * 2**64 + 1)
    items = []
    for seq in range(1, count + 1):
        record = Reading(bytes(6), 1, seq, 1_750_000_000 + seq * 10, 1000, seq).encode()
        items.append((record, sign(key, record)))
    return public_key_bytes(key), items


_ITEMS: tuple[bytes, list[tuple[bytes, bytes]]] | None = None


def _prepare(_: object = None) -> None:
    """Signs the items once per process, before the clock starts."""
    global _ITEMS
    if _ITEMS is None:
        _ITEMS = _signed_items(256)


def _verify_for(seconds: float) -> int:
    _prepare()
    assert _ITEMS is not None
    public_key, items = _ITEMS
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for record, signature in items:
            if not verify(public_key, record, signature):
                raise AssertionError("a valid signature failed")
        done += len(items)
    return done


def measure(seconds: float, processes: int) -> float:
    if processes == 1:
        _prepare()
        return _verify_for(seconds) / seconds
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        # Start-up (spawn, imports, signing) is not verification: warm every process before timing.
        pool.map(_prepare, range(processes * 4), chunksize=1)
        start = time.perf_counter()
        counts = pool.map(_verify_for, [seconds] * processes)
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    one = measure(args.seconds, 1)
    all_cores = measure(args.seconds, cores)
    publish("P-256 verify ceiling", table(
        ["processes", "verifies/s", "ratio to 1 process"],
        [[1, f"{one:,.0f}", "1.00"], [cores, f"{all_cores:,.0f}", f"{all_cores / one:.2f}"]],
    ))


if __name__ == "__main__":
    main()
