"""The stateless checks of many records (shape, P-256 signature, meter), on every core for big batches.

P-256 verification is the largest share of a batch's CPU time (bench/README.md, "Ingest"), and the
`cryptography` library holds the GIL while it verifies, so threads do not help: a batch of more than
`PARALLEL_FROM` records is cut into chunks checked by a pool of worker processes (one per core, started
on first use through a fork server, so no lock of the server's threads is inherited). Below that, the
pickling and the round trip to the pool cost more than a second core saves. The stateful chain checks
stay in the request's process, in request order.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

from wattwitness.protocol import Verdict, check_signed

PARALLEL_FROM = 1_000
CHUNK = 250
PROCESSES = os.cpu_count() or 1  # read once: os.cpu_count() costs ~70 us, more than a small batch's checks

# (record, signature, public key X||Y, the installation's meter)
Item = tuple[bytes, bytes, bytes, bytes]

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _check_chunk(items: list[Item]) -> list[Verdict | None]:
    # Only refusals travel back: the caller has decoded every record already.
    return [verdict if isinstance(verdict := check_signed(*item), Verdict) else None for item in items]


def refusals(items: list[Item]) -> list[Verdict | None]:
    """For each item in order, `check_signed`'s refusal, or None when the record passed."""
    if len(items) < PARALLEL_FROM or PROCESSES < 2:
        return _check_chunk(items)
    chunks = [items[start:start + CHUNK] for start in range(0, len(items), CHUNK)]
    return [result for chunk in _shared_pool().map(_check_chunk, chunks) for result in chunk]


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("forkserver"))
        return _pool


def warm_up() -> None:
    """Starts the pool's processes in the background (the fork server imports the program once, ~2 s of
    CPU), so that the first big batch after a start does not wait for them."""
    if PROCESSES < 2:
        return
    pool = _shared_pool()
    threading.Thread(target=lambda: list(pool.map(_check_chunk, [[]] * PROCESSES)), daemon=True,
                     name="verification-warm-up").start()


def shutdown() -> None:
    """Stops the pool (the app's lifespan end); a later big batch starts a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
