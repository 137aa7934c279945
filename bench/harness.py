"""What every benchmark starts and cleans up: a scratch database, `wattwitness serve`, enrolled installations.

Each piece is a context manager that undoes itself on failure and on Ctrl-C (the server's process group
is killed, the scratch PostgreSQL database is dropped with FORCE, the temp directory removed), so a
benchmark never leaves processes or databases behind. Signed records come from the protocol library;
signing is spread over a process pool because P-256 signing, not the benchmark, would otherwise dominate.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from wattwitness.protocol import ZERO_HASH, Enrollment, Reading, public_key_bytes, record_hash, sign
from wattwitness.protocol.keys import private_key_from_scalar

ROOT = Path(__file__).resolve().parent.parent
WATTWITNESS = ROOT / ".venv" / "bin" / "wattwitness"
POSTGRES_ADMIN_URL = os.environ.get("WATTWITNESS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "bench-admin-" + secrets.token_hex(12)
PORTS = range(18900, 19000)


def load() -> str:
    """The 1-minute load average, for the tables: figures taken on a busy machine say so."""
    return f"{os.getloadavg()[0]:.1f}"


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def free_port() -> int:
    # Random order: two benchmarks started together must not both probe, free and then take the same port.
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18900-18999")


@contextlib.contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """A fresh, empty database URL: an SQLite file in a temp dir, or a uniquely named PostgreSQL database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ww-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"ww_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        """uvicorn's worker processes (children of the supervisor), or the single process itself."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            pids = [int(p) for p in children.read_text().split()]
        except OSError:
            pids = []
        # With --workers 1 uvicorn serves in-process; with more, the children include a resource tracker.
        workers = [p for p in pids if "multiprocessing.resource_tracker" not in _cmdline(p)]
        return workers or [self.process.pid]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@contextlib.contextmanager
def serve(database_url: str, workers: int = 1, extra_env: dict[str, str] | None = None,
          port: int | None = None) -> Iterator[Server]:
    """`wattwitness serve --workers N` on `port` or a free port of 18900-18999, killed (whole group) on exit."""
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="ww-bench-serve-") as tmp:
        env = {**os.environ, "WATTWITNESS_DATABASE_URL": database_url, "WATTWITNESS_ADMIN_TOKEN": ADMIN_TOKEN,
               "WATTWITNESS_DATA_DIR": tmp, "WATTWITNESS_BACKGROUND_TASKS": "false", **(extra_env or {})}
        log = Path(tmp) / "server.log"
        # One worker: the real CLI command. More: the same start-up with a longer worker health check
        # (bench/serve_workers.py says why).
        command = [str(WATTWITNESS), "serve"] if workers == 1 else [sys.executable, "-m", "bench.serve_workers"]
        with log.open("wb") as out:
            process = subprocess.Popen([*command, "--port", str(port), "--workers", str(workers)],
                                       env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        server = Server(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_healthy(server, workers)
            yield server
        finally:
            stop_group(process, timeout_s=15)


def stop_group(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM to the process's whole group (started with start_new_session), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_healthy(server: Server, workers: int, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited ({server.process.returncode}):\n{server.log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200 and (
                    workers == 1 or len(server.worker_pids()) >= workers):
                # Another process on the port would also answer: ours must still be alive after a moment.
                time.sleep(1.0)
                if server.process.poll() is None:
                    return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health within {timeout_s:.0f} s:\n{server.log.read_text()[-3000:]}")


# ---- signed material ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """A benchmark device: a deterministic P-256 key and meter MAC per index, so workers can rebuild it."""

    index: int

    @property
    def scalar(self) -> int:
        return 0xBE7C4 * 2**128 + self.index + 1

    @property
    def meter(self) -> bytes:
        return b"\xbe\x7c" + self.index.to_bytes(4, "big")

    def key(self):  # type: ignore[no-untyped-def]
        return private_key_from_scalar(self.scalar)

    def enrollment_body(self, name: str) -> dict[str, object]:
        key = self.key()
        record = Enrollment(meter=self.meter, ts=1_750_000_000, public_key=public_key_bytes(key)).encode()
        return {"name": name, "public_key": public_key_bytes(key).hex(), "enrollment_record": record.hex(),
                "enrollment_signature": sign(key, record).hex(), "timezone": "UTC"}


def _sign_chain(job: tuple[int, int, int]) -> list[dict[str, str]]:
    """`count` linked WW2 readings of device `index`, one every 10 s from `start_ts`, counter rising."""
    index, count, start_ts = job
    device = Device(index)
    key = device.key()
    prev, items = ZERO_HASH, []
    for seq in range(1, count + 1):
        power_mw = 2_000_000 + (seq % 360) * 1000
        record = Reading(device.meter, 1, seq, start_ts + seq * 10, power_mw, seq * 5_556, prev).encode()
        items.append({"record": record.hex(), "signature": sign(key, record).hex()})
        prev = record_hash(record)
    return items


def signed_chains(devices: Sequence[int], count: int, start_ts: int | None = None) -> dict[int, list[dict[str, str]]]:
    """Each device's chain of `count` signed readings, signed in parallel on every core."""
    start = start_ts if start_ts is not None else int(time.time()) - count * 10 - 60
    jobs = [(index, count, start) for index in devices]
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        chains = pool.map(_sign_chain, jobs)
    return dict(zip(devices, chains, strict=True))


ENROLL_RETRIES = [0]


def enroll(server: Server, devices: Sequence[int]) -> dict[int, int]:
    """Enrolls each device through the API (admin token, then one-time enrollment token); index → id."""
    ids = {}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for index in devices:
            token = client.post("/api/v1/enrollment-tokens/", headers=admin)
            token.raise_for_status()
            body = Device(index).enrollment_body(f"bench {index}")
            for _ in range(50):
                created = client.post("/api/v1/installations/", json=body,
                                      headers={"Authorization": f"Bearer {token.json()['token']}"})
                if created.status_code != 403:
                    break
                # With several workers the token can reach another worker before its commit is visible
                # (docs/requests-bench.md R2): count it and try again.
                ENROLL_RETRIES[0] += 1
                time.sleep(0.1)
            if created.status_code not in (200, 201):
                raise RuntimeError(f"enrollment of device {index} failed: {created.status_code} {created.text}")
            ids[index] = created.json()["id"]
    return ids


def die_on_sigterm() -> None:
    """SIGTERM behaves like Ctrl-C, so the context managers above clean up on either."""
    def _raise(*_: object) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _raise)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(1)
