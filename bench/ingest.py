"""Verified ingest throughput and latency of `wattwitness serve`, against the machine's P-256 verify ceiling.

Usage: .venv/bin/python -m bench.ingest [--db sqlite,postgresql] [--workers 1,2] [--mode single,batch]
       [--sizes 100,1000,5000] [--seconds 20] [--profile]
Quick run (< 2 min): .venv/bin/python -m bench.ingest --db sqlite --workers 1 --mode batch --sizes 1000

Every signed WW2 record is generated before the clock starts (one linked chain per benchmark device,
signed on every core). For each database and worker count a fresh scratch database and a fresh server
are started with default, durable settings. `single`: N clients, each posting its own
device's chain one record per `POST /api/v1/readings/` (one device per client, because the server
serialises the ingests of one installation). `batch`: clients post `/readings/batch` of the given
size. The clients send pre-encoded requests on raw keep-alive connections (`HttpConnection`), so the
load generator takes little of the cores it shares with the server and PostgreSQL.
Every response is checked (201 / all stored), so the figure counts verified, stored readings.
`--profile` samples the server workers with py-spy during the PostgreSQL runs and prints where the
CPU time went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import profile
from bench.harness import die_on_sigterm, enroll, load, percentile, scratch_database, serve, signed_chains
from bench.report import publish, table
from bench.verify_ceiling import measure

SINGLE_PER_CLIENT = 400
FLOOR_SECONDS = 5.0
BATCHES_PER_CLIENT = {100: 30, 1000: 5, 5000: 2}


@dataclass
class Run:
    db: str
    workers: int
    mode: str
    clients: int
    readings: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    load_start: str = ""
    load_end: str = ""
    profile: Counter[str] | None = None
    health_rate: float | None = None

    @property
    def rate(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0


def _parse_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class HttpConnection:
    """One keep-alive HTTP/1.1 connection sending pre-encoded POSTs: the load generator shares the server's
    two cores, so it must cost far less per request than httpx (which showed up in the server's profile
    as competing load); answers are read in full and checked by the caller."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> HttpConnection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.writer is not None:
            self.writer.close()

    @staticmethod
    def request(host: str, path: str, body: bytes | None = None) -> bytes:
        if body is None:
            return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


def _check(path: str, status: int, body: bytes, per_request: int) -> None:
    if status not in (200, 201):
        raise RuntimeError(f"{path}: {status} {body[:300]!r}")
    if path.endswith("batch"):
        stored = json.loads(body)["stored"]
        if stored != per_request:
            raise RuntimeError(f"batch stored {stored} of {per_request}: {body[:300]!r}")
    elif b'"outcome":"verified"' not in body:
        raise RuntimeError(f"single POST answer is not verified: {body[:300]!r}")


async def _drive(url: str, clients: int, requests: list[list[tuple[str, Any]]],
                 per_request: int, seconds: float) -> tuple[int, float, list[float]]:
    """Each client sends its own list of (path, body) in order on its own connection until the list or
    `seconds` runs out; returns the readings stored, the wall time and the per-request latencies."""
    host, _, port = url.removeprefix("http://").partition(":")
    encoded = [[(path, HttpConnection.request(host, path, json.dumps(body).encode())) for path, body in work]
               for work in requests]
    latencies: list[float] = []
    stored = [0]

    async def client(work: list[tuple[str, bytes]]) -> None:
        async with HttpConnection(host, int(port)) as connection:
            for path, request in work:
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                status, body = await connection.send(request)
                latencies.append(time.perf_counter() - started)
                _check(path, status, body, per_request)
                stored[0] += per_request

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(work) for work in encoded))
    return stored[0], time.perf_counter() - started, latencies


async def _floor(url: str, clients: int, seconds: float) -> float:
    """`GET /health` per second with the same clients: the HTTP stack plus one database round trip, the
    least any request costs on this server (what a single POST is compared with)."""
    host, _, port = url.removeprefix("http://").partition(":")
    request = HttpConnection.request(host, "/health")
    answered = [0]

    async def client() -> None:
        async with HttpConnection(host, int(port)) as connection:
            while time.perf_counter() < deadline:
                status, body = await connection.send(request)
                if status != 200:
                    raise RuntimeError(f"/health: {status} {body[:200]!r}")
                answered[0] += 1

    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client() for _ in range(clients)))
    return answered[0] / seconds


def _run(run: Run, chains: dict[int, list[dict[str, str]]], devices: list[int], size: int, seconds: float,
         profiling: bool) -> Run:
    with scratch_database(run.db) as database_url, serve(database_url, run.workers) as server:
        enroll(server, devices)
        if run.mode == "single":
            work = [[("/api/v1/readings/", item) for item in chains[d]] for d in devices]
        else:
            work = [[("/api/v1/readings/batch", {"readings": chains[d][i:i + size]})
                     for i in range(0, len(chains[d]), size)] for d in devices]
        if run.mode == "single POST":
            run.health_rate = asyncio.run(_floor(server.url, len(devices), FLOOR_SECONDS))
        run.load_start = load()
        if profiling:
            with profile.sampling(server.process.pid) as sampler:
                run.readings, run.seconds, run.latencies = asyncio.run(
                    _drive(server.url, len(devices), work, size, seconds))
                run.profile = sampler.stop()
        else:
            run.readings, run.seconds, run.latencies = asyncio.run(
                _drive(server.url, len(devices), work, size, seconds))
        run.load_end = load()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql,sqlite", help="comma list of postgresql, sqlite")
    parser.add_argument("--workers", default="1,2", help="comma list of server worker counts")
    parser.add_argument("--mode", default="single,batch", help="comma list of single, batch")
    parser.add_argument("--sizes", default="100,1000,5000", help="batch sizes (1..5000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for single POST")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent clients for batches")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="at most this long per run (clients stop sending after it)")
    parser.add_argument("--ceiling-seconds", type=float, default=2.0)
    parser.add_argument("--profile", action="store_true", help="py-spy the server during PostgreSQL runs")
    args = parser.parse_args()
    die_on_sigterm()
    dbs, modes = _parse_list(args.db), _parse_list(args.mode)
    workers = [int(w) for w in _parse_list(args.workers)]
    sizes = [int(s) for s in _parse_list(args.sizes)]
    if not set(dbs) <= {"postgresql", "sqlite"} or not set(modes) <= {"single", "batch"} or \
            not all(1 <= s <= 5000 for s in sizes) or not all(1 <= w <= 16 for w in workers):
        parser.error("--db: postgresql/sqlite; --mode: single/batch; --sizes: 1..5000; --workers: 1..16")
    if args.profile and not profile.available():
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")

    # Devices: single-POST clients get devices 0..C-1; each batch size its own block of devices.
    plans: list[tuple[str, int, list[int], int]] = []  # (mode, size, devices, readings per device)
    if "single" in modes:
        plans.append(("single", 1, list(range(args.clients)), SINGLE_PER_CLIENT))
    for n, size in enumerate(sizes):
        if "batch" in modes:
            base = 1000 * (n + 1)
            per_device = size * BATCHES_PER_CLIENT.get(size, max(2, 3000 // size))
            plans.append(("batch", size, list(range(base, base + args.batch_clients)), per_device))
    started = time.perf_counter()
    chains: dict[int, list[dict[str, str]]] = {}
    for _, _, devices, per_device in plans:
        chains.update(signed_chains(devices, per_device))
    print(f"signed {sum(len(c) for c in chains.values()):,} records in {time.perf_counter() - started:.1f} s")

    cores = os.cpu_count() or 1
    ceiling_load = load()
    ceiling_one = measure(args.ceiling_seconds, 1)
    ceiling_all = measure(args.ceiling_seconds, cores)
    print(f"verify ceiling: {ceiling_one:,.0f}/s (1 process), {ceiling_all:,.0f}/s ({cores} processes)")

    runs: list[Run] = []
    for db in dbs:
        for count in workers:
            for mode, size, devices, _ in plans:
                clients = len(devices)
                run = _run(Run(db, count, "single POST" if mode == "single" else f"batch {size}", clients),
                           chains, devices, size, args.seconds, args.profile and db == "postgresql")
                print(f"{run.db} workers={run.workers} {run.mode}: {run.rate:,.0f} readings/s "
                      f"(p50 {percentile(run.latencies, .5) * 1000:.0f} ms, load {run.load_start}→{run.load_end})")
                runs.append(run)

    rows = [[r.db, r.workers, r.mode, r.clients, f"{r.readings:,}", f"{r.rate:,.0f}",
             f"{percentile(r.latencies, .5) * 1000:,.1f}", f"{percentile(r.latencies, .99) * 1000:,.1f}",
             f"{r.rate / ceiling_all:.0%}", f"{r.health_rate:,.0f}" if r.health_rate else "",
             f"{r.load_start} → {r.load_end}"] for r in runs]
    body = table(["database", "workers", "mode", "clients", "readings", "verified readings/s",
                  "p50 ms/request", "p99 ms/request", "of verify ceiling", "GET /health/s, same clients",
                  "load avg start → end"], rows)
    body += "\n\n" + table(["verify ceiling", "verifies/s", "load avg"],
                           [["1 process", f"{ceiling_one:,.0f}", ceiling_load],
                            [f"{cores} processes", f"{ceiling_all:,.0f}", load()]])
    for run in runs:
        if run.profile:
            total, _, leaves = profile.breakdown(run.profile)
            body += (f"\n\nProfile, {run.db} workers={run.workers} {run.mode} (py-spy, {total:,} busy samples "
                     "over all workers):\n\n" + table(["where the server's CPU time went", "share"],
                                                       profile.table_rows(run.profile)))
            body += "\n\n" + table(["top functions by self time", "samples"],
                                   [[f"`{name}`", count] for name, count in leaves[:8]])
    publish("verified ingest", body, section="Ingest")


if __name__ == "__main__":
    main()
