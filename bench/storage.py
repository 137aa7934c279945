"""Bytes per stored reading, all-in (table, indexes, TOAST), on PostgreSQL and SQLite.

Usage: .venv/bin/python -m bench.storage [--readings 1000000] [--db postgresql,sqlite]
Quick run: .venv/bin/python -m bench.storage --readings 100000

The schema is the server's own (its Alembic migrations). The first `--signed` readings (default 2,000)
go through the server's ingest service (`readings.service.ingest`: P-256 verify, chain check, insert),
so they are exactly what ingest stores. The rest are bulk-loaded (COPY on PostgreSQL, executemany on
SQLite) with the same columns and value shapes as the ingest service's insert: real encoded WW2 records
of the same chain, their real SHA-256 `record_hash` and `prev` links, cumulative_mwh, status, created_at;
only their 64 signature bytes are random instead of signed (the same size and entropy; signing a million
records would take minutes and not change a byte of storage). Then PostgreSQL gets VACUUM ANALYZE and is
measured with pg_relation_size per table/index/TOAST; SQLite is checkpointed and measured with dbstat.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
from sqlalchemy import insert, update

from bench.harness import Device, _sign_chain, die_on_sigterm, load, scratch_database
from bench.report import publish, table
from wattwitness.protocol import ZERO_HASH, Reading, public_key_bytes, record_hash
from wattwitness.server.db.migrate import upgrade
from wattwitness.server.db.models import STATUS_CODES, STATUS_VERIFIED, Installation
from wattwitness.server.db.models import Reading as ReadingRow
from wattwitness.server.db.partitions import Month, ensure_partitions
from wattwitness.server.db.session import Database
from wattwitness.server.readings import service

COLUMNS = ("installation_id", "boot", "seq", "ts", "power_mw", "energy_mwh", "prev", "signature", "record_hash",
           "status", "cumulative_mwh", "created_at")
STEP_MWH = 5_556  # 2 kW for 10 s
CHUNK = 20_000


def _bulk_rows(installation_id: int, meter: bytes, start_seq: int, end_seq: int, start_ts: int,
               prev: bytes, raw_status: bool) -> Iterator[tuple[object, ...]]:
    """Rows as the ingest service inserts them (service._ChainWriter.flush), continuing a signed chain; with
    `raw_status` the status is its stored SMALLINT code (COPY bypasses the model's type)."""
    created = datetime.now(UTC)
    status = STATUS_CODES[STATUS_VERIFIED] if raw_status else STATUS_VERIFIED
    for seq in range(start_seq, end_seq + 1):
        power_mw = 2_000_000 + (seq % 360) * 1000
        energy = seq * STEP_MWH
        record = Reading(meter, 1, seq, start_ts + seq * 10, power_mw, energy, prev).encode()
        digest = record_hash(record)
        # cumulative_mwh: the counter started at STEP_MWH with seq 1 and never resets here.
        yield (installation_id, 1, seq, start_ts + seq * 10, power_mw, energy, prev, os.urandom(64), digest,
               status, energy - STEP_MWH, created)
        prev = digest


def _load(url: str, kind: str, readings: int, signed: int) -> None:
    upgrade(url)
    database = Database(url)
    device = Device(42)
    start_ts = int(time.time()) - readings * 10 - 3600
    try:
        with database.engine.begin() as connection:  # PostgreSQL: the loaded months' own partitions
            ensure_partitions(connection, first=Month.of(start_ts))
        with database.scope() as session:
            key = public_key_bytes(device.key())
            session.add(Installation(name="storage bench", shelly_mac=device.meter, public_key=key))
        signed_items = _sign_chain((device.index, min(signed, readings), start_ts))
        with database.scope() as session:
            report = service.ingest(session, [(i["record"], i["signature"]) for i in signed_items],
                                    max_future_s=300)
            if report.count(service.Outcome.VERIFIED) != len(signed_items):
                raise RuntimeError("the ingest service did not verify the benchmark's signed readings")
        with database.scope() as session:
            installation = session.query(Installation).one()
            installation_id = installation.id
        prev = record_hash(bytes.fromhex(signed_items[-1]["record"])) if signed_items else ZERO_HASH
        rows = _bulk_rows(installation_id, device.meter, len(signed_items) + 1, readings, start_ts, prev,
                          raw_status=kind == "postgresql")
        if kind == "postgresql":
            with psycopg.connect(url) as connection, connection.cursor() as cursor, cursor.copy(
                    f"COPY readings ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            with database.engine.begin() as connection:
                chunk: list[dict[str, object]] = []
                for row in rows:
                    chunk.append(dict(zip(COLUMNS, row, strict=True)))
                    if len(chunk) == CHUNK:
                        connection.execute(insert(ReadingRow), chunk)
                        chunk = []
                if chunk:
                    connection.execute(insert(ReadingRow), chunk)
        with database.scope() as session:
            session.execute(update(Installation).values(reading_count=readings))
    finally:
        database.dispose()


# Sums over the partitions of `readings` (pg_partition_tree also answers for a plain table: itself).
TREE = "pg_partition_tree('readings') AS tree JOIN pg_class c ON c.oid = tree.relid"


def _measure_postgresql(url: str) -> tuple[list[tuple[str, int]], int]:
    """Sizes by relation (each summed over the partitions) and the number of leaf tables."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE readings")

        def size(expression: str) -> int:
            return int(connection.execute(f"SELECT coalesce(sum({expression}), 0) FROM {TREE}").fetchone()[0])

        heap = size("pg_relation_size(c.oid)")
        toast = size("CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END")
        parts = [("table (heap)", heap), ("TOAST", toast),
                 ("free space + visibility maps", size("pg_table_size(c.oid)") - heap - toast)]
        for name, index_size in connection.execute(
                "SELECT indexrelid::regclass::text, (SELECT sum(pg_relation_size(relid)) "
                "FROM pg_partition_tree(indexrelid)) FROM pg_index WHERE indrelid = 'readings'::regclass ORDER BY 1"):
            parts.append((f"index {name}", int(index_size)))
        total = size("pg_total_relation_size(c.oid)")
        leaves = int(connection.execute(f"SELECT count(*) FROM {TREE} WHERE tree.isleaf").fetchone()[0])
    if sum(size for _, size in parts) != total:
        parts.append(("(unattributed)", total - sum(size for _, size in parts)))
    return parts, leaves


def _measure_sqlite(path: str) -> tuple[list[tuple[str, int]], int]:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'readings' AND type IN ('table', 'index')")]
        try:
            sizes = dict(connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        except sqlite3.OperationalError as err:  # SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
            raise RuntimeError(f"this SQLite has no dbstat table: {err}") from err
    parts = [("table" if name == "readings" else f"index {name}", sizes.get(name, 0)) for name in names]
    return parts, os.path.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--signed", type=int, default=2_000, help="readings that go through the ingest service")
    parser.add_argument("--db", default="postgresql,sqlite")
    args = parser.parse_args()
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if args.readings < 1 or not set(dbs) <= {"postgresql", "sqlite"}:
        parser.error("--readings must be >= 1; --db: postgresql and/or sqlite")
    die_on_sigterm()
    sections = []
    for kind in dbs:
        load_start = load()
        started = time.perf_counter()
        with scratch_database(kind) as url:
            _load(url, kind, args.readings, args.signed)
            loaded_s = time.perf_counter() - started
            if kind == "postgresql":
                parts, leaves = _measure_postgresql(url)
                total = sum(size for _, size in parts)
                note = f"pg_total_relation_size of the {leaves} tables: months, readings_before, readings_after"
            else:
                parts, file_size = _measure_sqlite(url.removeprefix("sqlite:///"))
                total, note = sum(size for _, size in parts), f"whole file after checkpoint: {file_size:,} bytes"
        rows = [[name, f"{size:,}", f"{size / args.readings:.1f}"] for name, size in parts]
        rows.append([f"**all-in** ({note})", f"**{total:,}**", f"**{total / args.readings:.1f}**"])
        per_year = total / args.readings * 365 * 8640 / 1e6
        sections.append(f"{kind}: {args.readings:,} readings of one installation (loaded in {loaded_s:.0f} s; "
                        f"load avg {load_start} → {load()}); one device-year (3,153,600 readings) at this rate: "
                        f"{per_year:,.0f} MB\n\n" + table(["relation", "bytes", "bytes per reading"], rows))
    publish("storage per reading", "\n\n".join(sections), section="Storage")


if __name__ == "__main__":
    main()
