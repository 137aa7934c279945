"""The stateless checks of many records (shape, P-256 signature, meter), on every core for big batches.

P-256 verification is the largest share of a batch's CPU time (bench/README.md, "Ingest"), and the
`cryptography` library holds the GIL while it verifies, so threads do not help: a batch of more than
`PARALLEL_FROM` records is cut into chunks checked by a pool of worker processes, one per core. Below
that, the pickling and the round trip to the pool cost more than a second core saves. The stateful chain
checks stay in the request's process, in request order.

The pool is started with the app (`start`, from its lifespan) by forking the server process before it
has any other thread: the workers inherit the loaded program instead of importing it again (a fork
server or a spawned process re-imports the whole command, ~2 s of CPU each, which a benchmark of two
server workers showed as half a batch cell's time), and no other thread can hold a lock at the fork.
Without a started pool (tests, `WATTWITNESS_VERIFICATION_POOL=false`) every batch is checked in the
request's process.
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
    pool = _pool
    if pool is None or len(items) < PARALLEL_FROM:
        return _check_chunk(items)
    chunks = [items[start:start + CHUNK] for start in range(0, len(items), CHUNK)]
    return [result for chunk in pool.map(_check_chunk, chunks) for result in chunk]


def start() -> None:
    """Forks the pool's processes now (call it before the process starts threads); idempotent."""
    global _pool
    if PROCESSES < 2:
        return
    with _pool_lock:
        if _pool is not None:
            return
        pool = ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("fork"))
        # With fork, the executor launches every process at the first submit, from this thread.
        pool.submit(_check_chunk, []).result()
        _pool = pool


def shutdown() -> None:
    """Stops the pool (the app's lifespan end); batches are then checked in the request's process."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
