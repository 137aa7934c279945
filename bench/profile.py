"""Sampling profiles of running server workers with py-spy, summarised into where the CPU time goes.

`record(pid, seconds)` samples a process and its children (`py-spy record --subprocesses`, raw collapsed
stacks); `breakdown()` turns the stacks into the share of samples spent inside a few named buckets
(signature verification, chain checks, SQL, HTTP/JSON) and the top functions by self time. The figures
in bench/README.md that explain a missed target come from here, not from guesses.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.harness import ROOT

# Bucket → substrings of a frame ("function (file:line)"); the first bucket a stack matches (innermost
# frame first) takes the sample, so nested work is counted once.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("P-256 verify (cryptography/OpenSSL)", ("verify (wattwitness/protocol/keys.py", "verify (cryptography")),
    ("database driver + waiting on the database", ("psycopg/", "sqlite3", "execute (sqlalchemy/engine/default.py",
                                                   "do_execute", "do_commit", "do_executemany")),
    ("SQLAlchemy ORM/core (Python side)", ("sqlalchemy/",)),
    ("chain rules + ingest service (wattwitness)", ("wattwitness/protocol/", "wattwitness/server/readings/")),
    ("request parsing, validation, JSON (pydantic/fastapi)", ("pydantic", "fastapi/", "json/")),
    ("HTTP server, event loop (uvicorn/starlette/anyio/asyncio)", ("uvicorn/", "starlette/", "anyio/", "asyncio/",
                                                                   "h11/", "httptools")),
]


def available() -> bool:
    return _py_spy() is not None


def _py_spy() -> str | None:
    local = ROOT / ".venv" / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


@dataclass
class Sampler:
    process: subprocess.Popen[bytes]
    output: Path

    def stop(self) -> Counter[str]:
        """Stops sampling (py-spy writes its output on SIGINT) and returns the collapsed stacks."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        stacks: Counter[str] = Counter()
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")
        for line in self.output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[stack] += int(count)
        return stacks


@contextlib.contextmanager
def sampling(pid: int) -> Iterator[Sampler]:
    """Samples `pid` and its subprocesses (100 Hz, on-CPU threads only) until `Sampler.stop()` or the block ends."""
    binary = _py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="ww-bench-prof-") as tmp:
        output = Path(tmp) / "stacks.txt"
        process = subprocess.Popen([binary, "record", "--pid", str(pid), "--subprocesses", "--rate", "100",
                                    "--format", "raw", "--output", str(output), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield Sampler(process, output)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _busy(stack: str) -> bool:
    # Idle workers sit in the event loop's selector; those samples are not CPU time.
    leaf = stack.rsplit(";", 1)[-1]
    return not any(idle in leaf for idle in ("select (selectors.py", "poll (selectors.py", "epoll", "_worker (",
                                             "wait (threading.py", "_wait_for_tstate_lock"))


def breakdown(stacks: Counter[str]) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(busy samples, [(bucket, samples)], [(function, self samples)] top 12) over busy samples only."""
    busy = Counter({s: n for s, n in stacks.items() if _busy(s)})
    total = sum(busy.values())
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for stack, count in busy.items():
        frames = stack.split(";")
        leaves[frames[-1].split(" (")[0] + " (" + _short(frames[-1]) + ")"] += count
        for frame in reversed(frames):
            bucket = next((name for name, keys in BUCKETS if any(k in frame for k in keys)), None)
            if bucket is not None:
                buckets[bucket] += count
                break
        else:
            buckets["other"] += count
    return total, buckets.most_common(), leaves.most_common(12)


def _short(frame: str) -> str:
    location = frame.partition(" (")[2].rstrip(")")
    for marker in ("site-packages/", "lib/python3"):
        if marker in location:
            location = location.split(marker, 1)[1]
    return location


def table_rows(stacks: Counter[str]) -> list[list[str]]:
    total, buckets, _ = breakdown(stacks)
    return [[name, f"{count / total:.0%}" if total else "-"] for name, count in buckets]
