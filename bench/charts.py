"""Energy chart latency over a year of 10 s readings, through HTTP against `wattwitness serve` on PostgreSQL.

Usage: .venv/bin/python -m bench.charts [--days 365] [--installations 1] [--samples 30] [--workers 1]
Quick run: .venv/bin/python -m bench.charts --days 30 --samples 15

A scratch PostgreSQL database gets the server's schema (its migrations) and `--installations`
installations (zone Europe/Zurich, so day charts cross DST), each with `--days` of readings every 10 s
from 2025-01-01 00:00 UTC, generated inside PostgreSQL (INSERT ... SELECT generate_series): a solar day
curve for power, the counter (`energy_mwh`) and `cumulative_mwh` as its running sum, so the chart code
reads real, consistent counter data. `prev`, `record_hash` and `signature` are PLACEHOLDERS of the real
sizes (SHA-256 of the row's number): charts never read them, and signing 3 M records would take longer
than the benchmark. Then the server is started and every time frame (hour, day, week, month, year) is
requested `--samples` times at the start, the middle and the end of the history, after two warm-up
requests; the table gives p50/p95 per frame and position, and the server-side CPU per request (the
server process plus its PostgreSQL backends, utime+stime from /proc): on this shared machine latency
follows the load average, the CPU a request costs does much less. Before the table, the first day charts
after the server started are timed on their own: they include the planning of a new connection.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from bench.harness import die_on_sigterm, load, percentile, scratch_database, serve
from bench.report import publish, table
from wattwitness.server.db.migrate import upgrade
from wattwitness.server.db.models import STATUS_CODES, STATUS_VERIFIED
from wattwitness.server.db.partitions import Month, ensure_partitions
from wattwitness.server.db.session import Database

FRAMES = ("hour", "day", "week", "month", "year")
START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
TARGET_P95_MS = 25.0
TICKS = os.sysconf("SC_CLK_TCK")

# One row per 10 s; power follows a clear-sky day (0 at night, 5 kW at local noon); energy per step is
# power x 10 s in mWh, and the counter is the running sum (window function) starting at 1 kWh.
LOAD_SQL = """
WITH steps AS (
    SELECT n, {start} + n * 10 AS ts,
           greatest(0, round(5000000 * sin(pi() * ((({start} + n * 10 + 3600) % 86400) - 21600) / 43200.0)))::bigint
               AS power_mw
    FROM generate_series(0, {count} - 1) AS n
), counted AS (
    SELECT n, ts, power_mw, sum(power_mw * 10 / 3600) OVER (ORDER BY n) AS produced FROM steps
)
INSERT INTO readings (installation_id, boot, seq, ts, power_mw, energy_mwh, prev, signature, record_hash, status,
                      cumulative_mwh, created_at)
SELECT {installation}, 1, n + 1, ts, power_mw, 1000000 + produced,
       sha256(int8send({installation} * 100000000 + n - 1)),
       sha256(int8send(-n)) || sha256(int8send(-n - 1)),
       sha256(int8send({installation} * 100000000 + n)),
       {verified}, produced - (SELECT min(produced) FROM counted), to_timestamp(ts)
FROM counted ORDER BY n
"""


def _load(url: str, installations: int, days: int) -> float:
    upgrade(url)
    count = days * 8640
    database = Database(url)  # PostgreSQL: the loaded months get their own partitions
    try:
        with database.engine.begin() as connection:
            ensure_partitions(connection, first=Month.of(START))
    finally:
        database.dispose()
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        for index in range(1, installations + 1):
            public_key = bytes([index]) * 64
            connection.execute(
                "INSERT INTO installations (id, name, shelly_mac, public_key, key_id, timezone, capacity_w, legacy, "
                "is_active, reading_count, created_at) VALUES (%s, %s, %s, %s, %s, 'Europe/Zurich', 5000, false, "
                "true, %s, now())", (index, f"chart bench {index}", b"\xc4" + index.to_bytes(5, "big"), public_key,
                                     f"{index:016x}", count))
            connection.execute(LOAD_SQL.format(start=START, count=count, installation=index,
                                               verified=STATUS_CODES[STATUS_VERIFIED]))
        connection.execute("SELECT setval(pg_get_serial_sequence('installations', 'id'), %s)", (installations,))
        connection.execute("VACUUM ANALYZE readings")
    return time.perf_counter() - started


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def _backends(url: str) -> list[int]:
    """The PostgreSQL backends serving the benchmark database (the server's pooled connections)."""
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows]


# A new database connection plans the chart statement afresh (a custom plan over every monthly partition)
# until psycopg has prepared it (5th use) and PostgreSQL has settled on its generic plan (5 uses later).
COLD_REQUESTS = 15


def _cold_start(client: httpx.Client, path: str, at: int) -> list[float]:
    """Latencies (ms) of the first day charts after the server started, before any warm-up."""
    timings = []
    for _ in range(COLD_REQUESTS):
        started = time.perf_counter()
        client.get(path, params={"time_frame": "day", "at": at}).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--installations", type=int, default=1)
    parser.add_argument("--samples", type=int, default=30, help="requests per time frame and position")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.days <= 366 or args.installations < 1 or args.samples < 2:
        parser.error("--days 1..366, --installations >= 1, --samples >= 2")
    die_on_sigterm()
    positions = {"start": START + 3600 * 12, "middle": START + args.days * 86400 // 2,
                 "end": START + args.days * 86400 - 3600 * 12}
    rows: list[list[object]] = []
    worst = 0.0
    with scratch_database("postgresql") as url:
        load_s = _load(url, args.installations, args.days)
        print(f"loaded {args.installations} x {args.days * 8640:,} readings in {load_s:.0f} s")
        with serve(url, args.workers) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            cold = _cold_start(client, f"/api/v1/readings/{args.installations}/chart", positions["middle"])
            for frame in FRAMES:
                for position, at in positions.items():
                    load_start = load()
                    # The installation measured is the last one loaded (the others only make the table bigger).
                    path = f"/api/v1/readings/{args.installations}/chart"
                    params = {"time_frame": frame, "at": at}
                    timings = []
                    for sample in range(args.samples + 2):
                        if sample == 2:  # after the warm-ups, so that the pool's connection exists
                            pids = [*server.worker_pids(), *_backends(url)]
                            cpu_start = _cpu_seconds(pids)
                        started = time.perf_counter()
                        response = client.get(path, params=params)
                        elapsed = time.perf_counter() - started
                        if response.status_code != 200:
                            raise RuntimeError(f"{frame} at {at}: {response.status_code} {response.text[:300]}")
                        if not response.json()["total_energy"] > 0 and frame != "hour":
                            raise RuntimeError(f"{frame} at {at}: no energy in the chart: {response.text[:300]}")
                        if sample >= 2:
                            timings.append(elapsed * 1000)
                    cpu_ms = (_cpu_seconds(pids) - cpu_start) / args.samples * 1000
                    p95 = percentile(timings, .95)
                    worst = max(worst, p95)
                    rows.append([frame, position, f"{percentile(timings, .5):.1f}", f"{p95:.1f}", f"{cpu_ms:.1f}",
                                 len(response.json()["data_points"]), f"{load_start} → {load()}"])
                    print(" | ".join(str(c) for c in rows[-1]))
    verdict = (f"worst p95 {worst:.1f} ms: target p95 <= {TARGET_P95_MS:.0f} ms "
               + ("met" if worst <= TARGET_P95_MS else f"missed by {worst - TARGET_P95_MS:.1f} ms "
                  f"({worst / TARGET_P95_MS:.1f}x)"))
    body = (f"PostgreSQL, {args.installations} installation(s) x {args.days} days of 10 s readings "
            f"({args.installations * args.days * 8640:,} rows, bulk-loaded in {load_s:.0f} s, placeholder signatures), "
            f"server workers: {args.workers}, one sequential client, {args.samples} requests per cell after 2 "
            f"warm-ups; {verdict}. Not in the table: the first {COLD_REQUESTS} day charts after the server "
            f"started (a new connection), {' '.join(f'{ms:.0f}' for ms in cold)} ms.\n\n"
            + table(["time frame", "position in the history", "p50 ms", "p95 ms", "server CPU ms/request",
                     "buckets", "load avg start → end"], rows))
    publish("energy charts over a year", body, section="Charts")


if __name__ == "__main__":
    main()
