"""Readings: monthly partitions on PostgreSQL, keys with installation_id and ts, status as SMALLINT.

PostgreSQL: `readings` is rebuilt as a table partitioned by range of `ts` (db/partitions.py: one
partition per UTC month, from the month of the first stored reading to two months ahead, and two
open-ended ones before and after). Every unique key holds the partition key `ts` and the
Citus distribution column `installation_id`: unique (installation_id, ts, id), which is also the
charts' index, and unique (installation_id, boot, seq, ts); `id` gets a plain index for look-ups by id.
The key is a unique index rather than a PRIMARY KEY constraint: pg_restore --clean (PostgreSQL 15)
fails on the partitions' inherited PRIMARY KEY constraints, and the online restore uses it. The rows
are copied, the `readings_id_seq` sequence is kept and owned by the new `id` column (so
pg_get_serial_sequence('readings', 'id') still names it), and the old table is dropped.

Both databases: `status` becomes a SMALLINT code (STATUS_CODES below), the unusual-readings index
predicate follows, and the `anchor_id` index only covers anchored rows. SQLite keeps a plain table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:20:00
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from alembic import op

from wattwitness.server.db.partitions import Month, create_partitions

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Literal copies (a migration must not change when the models do).
STATUS_CODES = {"verified": 0, "gap": 1, "counter_reset": 2, "digest_only": 3}
UNUSUAL_OLD = "status <> 'verified'"
UNUSUAL_NEW = "status <> 0"
ANCHORED = "anchor_id IS NOT NULL"
ZERO_PREV_SQL = {"sqlite": "prev = X'" + "00" * 32 + "'", "postgresql": "prev = '\\x" + "00" * 32 + "'::bytea"}
COLUMNS = ("id", "installation_id", "boot", "seq", "ts", "power_mw", "energy_mwh", "prev", "signature",
           "record_hash", "status", "cumulative_mwh", "anchor_id", "created_at")
OLD_INDEXES = ("ix_readings_installation_id_ts", "ix_readings_anchor_id", "ix_readings_unusual",
               "ix_readings_chain_restarts")
NEW_INDEXES = ("uq_readings_installation_id_ts_id", "ix_readings_id", "uq_readings_installation_id_boot_seq_ts",
               "ix_readings_anchor_id", "ix_readings_unusual", "ix_readings_chain_restarts")
FOREIGN_KEYS = ("fk_readings_installation_id_installations", "fk_readings_anchor_id_anchors")


def _status_case(mapping: dict[str, str]) -> str:
    return "CASE status " + " ".join(f"WHEN {old} THEN {new}" for old, new in mapping.items()) + " END"


NAME_TO_CODE = _status_case({f"'{name}'": str(code) for name, code in STATUS_CODES.items()})
CODE_TO_NAME = _status_case({str(code): f"'{name}'" for name, code in STATUS_CODES.items()})


def _columns(status: sa.types.TypeEngine[Any]) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.BigInteger(), server_default=sa.text("nextval('readings_id_seq'::regclass)"),
                  nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("power_mw", sa.BigInteger(), nullable=False),
        sa.Column("energy_mwh", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.LargeBinary(length=32), nullable=True),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("record_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("status", status, nullable=False),
        sa.Column("cumulative_mwh", sa.BigInteger(), nullable=False),
        sa.Column("anchor_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["anchor_id"], ["anchors.id"], name="fk_readings_anchor_id_anchors",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["installation_id"], ["installations.id"],
                                name="fk_readings_installation_id_installations", ondelete="CASCADE"),
    ]


def _set_aside(old: str, constraints: tuple[str, ...], indexes: tuple[str, ...]) -> None:
    """Renames `readings` to `old` and drops its keys and indexes (their names are taken by the new table)."""
    op.execute(f"ALTER TABLE readings RENAME TO {old}")
    for name in constraints:
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {name}")
    for name in indexes:
        op.execute(f"DROP INDEX {name}")


def _copy_from(old: str, status_expression: str) -> None:
    """Copies every row, then gives the sequence to the new `id` column and drops the old table."""
    columns = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO readings ({columns}) SELECT {columns.replace('status', status_expression)} FROM {old}")
    op.execute("ALTER SEQUENCE readings_id_seq OWNED BY readings.id")
    op.execute(f"DROP TABLE {old}")


def _indexes(unusual: str) -> None:
    op.create_index("ix_readings_anchor_id", "readings", ["anchor_id"], postgresql_where=sa.text(ANCHORED),
                    sqlite_where=sa.text(ANCHORED))
    op.create_index("ix_readings_unusual", "readings", ["installation_id", "status", "boot", "seq"],
                    sqlite_where=sa.text(unusual), postgresql_where=sa.text(unusual))
    op.create_index("ix_readings_chain_restarts", "readings", ["installation_id", "boot", "seq"],
                    sqlite_where=sa.text(ZERO_PREV_SQL["sqlite"]),
                    postgresql_where=sa.text(ZERO_PREV_SQL["postgresql"]))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
        return
    for name in ("ix_readings_anchor_id", "ix_readings_unusual", "ix_readings_chain_restarts"):
        op.drop_index(name, table_name="readings")
    # Codes first (SQLite stores them as text in the VARCHAR column); the type change casts them to integers.
    op.execute(f"UPDATE readings SET status = {NAME_TO_CODE}")
    with op.batch_alter_table("readings") as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=16), type_=sa.SmallInteger(),
                              existing_nullable=False)
    _indexes(UNUSUAL_NEW)


def _upgrade_postgresql() -> None:
    _set_aside("readings_unpartitioned", ("pk_readings", "uq_readings_installation_id_boot_seq", *FOREIGN_KEYS),
               OLD_INDEXES)
    op.create_table("readings", *_columns(sa.SmallInteger()), postgresql_partition_by="RANGE (ts)")
    # Months from the one the server stored its first reading in (server clock: a device's unset clock
    # must not make decades of empty partitions); older `ts` go to readings_before.
    now = int(time.time())
    first_stored = op.get_bind().scalar(sa.text("SELECT min(created_at) FROM readings_unpartitioned"))
    create_partitions(op.get_bind(), min(Month.of(now), Month.of(int(first_stored.timestamp())) if first_stored
                                         else Month.of(now)))
    _copy_from("readings_unpartitioned", NAME_TO_CODE)
    # Keys and indexes after the copy: one build per partition instead of row-by-row maintenance.
    op.create_index("uq_readings_installation_id_ts_id", "readings", ["installation_id", "ts", "id"], unique=True)
    op.create_index("ix_readings_id", "readings", ["id"])
    op.create_index("uq_readings_installation_id_boot_seq_ts", "readings", ["installation_id", "boot", "seq", "ts"],
                    unique=True)
    _indexes(UNUSUAL_NEW)
    op.execute("ANALYZE readings")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
        return
    for name in ("ix_readings_anchor_id", "ix_readings_unusual", "ix_readings_chain_restarts"):
        op.drop_index(name, table_name="readings")
    with op.batch_alter_table("readings") as batch_op:
        batch_op.alter_column("status", existing_type=sa.SmallInteger(), type_=sa.String(length=16),
                              existing_nullable=False)
    # The type change cast the codes to text ('0'); names for them.
    op.execute("UPDATE readings SET status = " + _status_case({f"'{code}'": f"'{name}'"
                                                               for name, code in STATUS_CODES.items()}))
    op.create_index("ix_readings_anchor_id", "readings", ["anchor_id"])
    _old_partial_indexes()


def _old_partial_indexes() -> None:
    op.create_index("ix_readings_unusual", "readings", ["installation_id", "status", "boot", "seq"],
                    sqlite_where=sa.text(UNUSUAL_OLD), postgresql_where=sa.text(UNUSUAL_OLD))
    op.create_index("ix_readings_chain_restarts", "readings", ["installation_id", "boot", "seq"],
                    sqlite_where=sa.text(ZERO_PREV_SQL["sqlite"]),
                    postgresql_where=sa.text(ZERO_PREV_SQL["postgresql"]))


def _downgrade_postgresql() -> None:
    # Dropping the partitioned table later drops its partitions; its index and key names are needed now.
    _set_aside("readings_partitioned", FOREIGN_KEYS, NEW_INDEXES)
    op.create_table("readings", *_columns(sa.String(length=16)), sa.PrimaryKeyConstraint("id", name="pk_readings"),
                    sa.UniqueConstraint("installation_id", "boot", "seq", name="uq_readings_installation_id_boot_seq"))
    _copy_from("readings_partitioned", CODE_TO_NAME)
    op.create_index("ix_readings_anchor_id", "readings", ["anchor_id"])
    op.create_index("ix_readings_installation_id_ts", "readings", ["installation_id", "ts"])
    _old_partial_indexes()
