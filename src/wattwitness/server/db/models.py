"""SQLAlchemy 2 models. Integers in mW/mWh, bytes for keys, hashes and signatures, UTC everywhere.

A WW2 reading is stored as its fields (integer columns) plus `prev` and `signature`; the 74 record
bytes are rebuilt with `protocol.Reading` when needed (`Reading.record_bytes`), so nothing is stored
twice. `record_hash` is kept because the chain check compares hashes (a new boot's first record names its
predecessor by hash); it has no index of its own (migration 0004 says why).

`cumulative_mwh` is the installation's lifetime production up to and including a reading: the sum of
the non-negative counter steps along (boot, seq) order, where a counter decrease credits nothing and
starts a new baseline. Energy between two readings is the difference of their `cumulative_mwh`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from wattwitness.protocol import Reading as SignedReading
from wattwitness.protocol import record_hash
from wattwitness.protocol.outcomes import Outcome

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identity-like serials.
BigId = BigInteger().with_variant(Integer, "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite returns naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Reading.status values.
STATUS_VERIFIED = Outcome.VERIFIED.value
STATUS_GAP = Outcome.GAP.value
STATUS_COUNTER_RESET = Outcome.COUNTER_RESET.value
STATUS_DIGEST_ONLY = Outcome.DIGEST_ONLY.value
READING_STATUSES = (STATUS_VERIFIED, STATUS_GAP, STATUS_COUNTER_RESET, STATUS_DIGEST_ONLY)
# How each status is stored (a SMALLINT; migration 0005 holds a literal copy). Raw SQL and COPY write these codes.
STATUS_CODES = {STATUS_VERIFIED: 0, STATUS_GAP: 1, STATUS_COUNTER_RESET: 2, STATUS_DIGEST_ONLY: 3}
# Index predicates, as SQL text shared by the models, the migration and the queries that must match them.
UNUSUAL_SQL = f"status <> {STATUS_CODES[STATUS_VERIFIED]}"
ZERO_PREV_SQL = {"sqlite": "prev = X'" + "00" * 32 + "'", "postgresql": "prev = '\\x" + "00" * 32 + "'::bytea"}
ANCHORED_SQL = "anchor_id IS NOT NULL"


class StatusCode(TypeDecorator[str]):
    """A reading status stored as its SMALLINT code (2 bytes, not a 9-byte string); Python sees the string."""

    impl = SmallInteger
    cache_ok = True
    _names: ClassVar[dict[int, str]] = {code: name for name, code in STATUS_CODES.items()}

    def process_bind_param(self, value: str | None, dialect: Dialect) -> int | None:
        return None if value is None else STATUS_CODES[value]

    def process_result_value(self, value: int | None, dialect: Dialect) -> str | None:
        return None if value is None else self._names[value]


class Installation(Base):
    __tablename__ = "installations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    shelly_mac: Mapped[bytes] = mapped_column(LargeBinary(6), unique=True)
    # X||Y; null only for legacy installations (the original firmware cannot sign).
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(64), unique=True)
    key_id: Mapped[str | None] = mapped_column(String(16), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    capacity_w: Mapped[int | None] = mapped_column(BigInteger)
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    # "secure_element" or "software" when the enrolling party said so (PROTOCOL.md §1 wants it marked).
    key_storage: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Kept in step with the readings table by the ingest (one row update per request, which also
    # serialises concurrent ingests of one installation).
    reading_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Reading(Base):
    __tablename__ = "readings"
    # Keys (migration 0005, docs/scaling.md): on PostgreSQL `readings` is range-partitioned by month of `ts`
    # (db/partitions.py) and every unique key holds `ts` (the partition key) and `installation_id` (the
    # distribution column for Citus): unique (installation_id, ts, id), which is also the charts' index, and
    # unique (installation_id, boot, seq, ts). (boot, seq) cannot be globally unique there: the ingest
    # enforces it under the installation row lock, and the index with ts catches the likeliest slip, the
    # same record stored twice. The key is a unique index, not a PRIMARY KEY constraint: pg_restore --clean
    # (ops/backup.py) cannot drop the partitions' inherited PRIMARY KEY constraints (PostgreSQL 15).
    # `id` is the ORM identity on both databases (session.get(Reading, id)); on PostgreSQL it has a plain
    # index. SQLite keeps a plain table: `id` is its INTEGER PRIMARY KEY (the rowid, SQLite's only
    # auto-increment), (installation_id, boot, seq) a real constraint, (installation_id, ts) an index.
    # Items marked ddl_if exist on that database only (tests/ops/test_migrations.py compares accordingly).
    __table_args__ = (
        Index("uq_readings_installation_id_ts_id", "installation_id", "ts", "id",
              unique=True).ddl_if(dialect="postgresql"),
        Index("ix_readings_id", "id").ddl_if(dialect="postgresql"),
        Index("uq_readings_installation_id_boot_seq_ts", "installation_id", "boot", "seq", "ts",
              unique=True).ddl_if(dialect="postgresql"),
        UniqueConstraint("installation_id", "boot", "seq").ddl_if(dialect="sqlite"),
        Index("ix_readings_installation_id_ts", "installation_id", "ts").ddl_if(dialect="sqlite"),
        # Only anchored readings need this index (the FK's ON DELETE SET NULL looks rows up by anchor_id).
        Index("ix_readings_anchor_id", "anchor_id",
              sqlite_where=text(ANCHORED_SQL), postgresql_where=text(ANCHORED_SQL)),
        # The integrity report lists the few readings that are not plainly verified; partial indexes keep
        # that a range read (3 M rows: 15-23 s without, ~35 ms with) at almost no storage cost, since
        # nearly every row is verified. The predicates are literals the report's queries repeat exactly.
        Index("ix_readings_unusual", "installation_id", "status", "boot", "seq",
              sqlite_where=text(UNUSUAL_SQL), postgresql_where=text(UNUSUAL_SQL)),
        Index("ix_readings_chain_restarts", "installation_id", "boot", "seq",
              sqlite_where=text(ZERO_PREV_SQL["sqlite"]), postgresql_where=text(ZERO_PREV_SQL["postgresql"])),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    # Legacy readings have no boot/seq: boot 0 and seq counting up in arrival order.
    boot: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    ts: Mapped[int] = mapped_column(BigInteger)
    power_mw: Mapped[int] = mapped_column(BigInteger)
    energy_mwh: Mapped[int] = mapped_column(BigInteger)
    prev: Mapped[bytes | None] = mapped_column(LargeBinary(32))  # null for legacy
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))  # legacy: the firmware's 64 "signature" bytes
    record_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))  # null for legacy
    status: Mapped[str] = mapped_column(StatusCode())
    cumulative_mwh: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_id: Mapped[int | None] = mapped_column(ForeignKey("anchors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    anchor: Mapped[Anchor | None] = relationship(lazy="raise")

    @property
    def is_legacy(self) -> bool:
        return self.prev is None

    def signed_reading(self, meter: bytes) -> SignedReading:
        """The protocol value of a WW2 reading (the meter is the installation's)."""
        if self.prev is None:
            raise ValueError("a legacy reading has no WW2 record")
        return SignedReading(meter, self.boot, self.seq, self.ts, self.power_mw, self.energy_mwh, self.prev)

    def record_bytes(self, meter: bytes) -> bytes:
        return self.signed_reading(meter).encode()


class SecurityEvent(Base):
    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    installation_id: Mapped[int | None] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"),
                                                        index=True)
    kind: Mapped[str] = mapped_column(String(32))  # the Outcome's name
    detail: Mapped[str] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # SHA-256 of the token: a database reader cannot enroll with what it reads.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    installation_id: Mapped[int | None] = mapped_column(ForeignKey("installations.id", ondelete="SET NULL"))


class Anchor(Base):
    __tablename__ = "anchors"
    __table_args__ = (
        UniqueConstraint("chain_id", "ledger_address", "installation_id", "anchor_index"),
        Index("ix_anchors_installation_id_head", "installation_id", "head_boot", "head_seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    ledger_address: Mapped[bytes] = mapped_column(LargeBinary(20))
    anchor_index: Mapped[int] = mapped_column(BigInteger)
    head_boot: Mapped[int] = mapped_column(BigInteger)
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    merkle_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    count: Mapped[int] = mapped_column(BigInteger)
    energy_mwh: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    submitted_by: Mapped[bytes | None] = mapped_column(LargeBinary(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RetentionBaseline(Base):
    """What `wattwitness db prune` removed from one installation (server/ops/prune.py, docs/operations.md §6).

    The pruned range is a prefix of the chain in (boot, seq) order, up to and including the `last_*`
    record (which may itself have been kept as a chart boundary). Its hash lets the first record after
    the range still link to a known predecessor; `pruned_total` counts the deleted rows (all verified).
    """

    __tablename__ = "retention_baselines"

    installation_id: Mapped[int] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    pruned_before_ts: Mapped[int] = mapped_column(BigInteger)
    pruned_total: Mapped[int] = mapped_column(BigInteger, default=0)
    pruned_verified: Mapped[int] = mapped_column(BigInteger, default=0)
    last_boot: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ChainCursor(Base):
    """How far the chain listener has read a ledger's events."""

    __tablename__ = "chain_cursors"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ledger_address: Mapped[bytes] = mapped_column(LargeBinary(20), primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger, default=0)


def stored_hash(row: Reading, meter: bytes) -> bytes:
    """A WW2 row's record hash (the stored column, or recomputed from the rebuilt record)."""
    return row.record_hash if row.record_hash is not None else record_hash(row.record_bytes(meter))
