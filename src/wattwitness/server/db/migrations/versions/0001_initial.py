"""Initial schema: installations, readings, security events, enrollment tokens, anchors, chain cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 07:20:57.263474
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite auto-increments only INTEGER PRIMARY KEY columns.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chain_cursors",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("ledger_address", sa.LargeBinary(length=20), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "ledger_address", name=op.f("pk_chain_cursors")),
    )
    op.create_table(
        "installations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("shelly_mac", sa.LargeBinary(length=6), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("capacity_w", sa.BigInteger(), nullable=True),
        sa.Column("legacy", sa.Boolean(), nullable=False),
        sa.Column("key_storage", sa.String(length=16), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("reading_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installations")),
        sa.UniqueConstraint("public_key", name=op.f("uq_installations_public_key")),
        sa.UniqueConstraint("shelly_mac", name=op.f("uq_installations_shelly_mac")),
    )
    with op.batch_alter_table("installations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_installations_key_id"), ["key_id"], unique=False)

    op.create_table(
        "anchors",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("installation_id", ID, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("ledger_address", sa.LargeBinary(length=20), nullable=False),
        sa.Column("anchor_index", sa.BigInteger(), nullable=False),
        sa.Column("head_boot", sa.BigInteger(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("merkle_root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("energy_mwh", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("submitted_by", sa.LargeBinary(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_anchors_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anchors")),
        sa.UniqueConstraint(
            "chain_id",
            "ledger_address",
            "installation_id",
            "anchor_index",
            name=op.f("uq_anchors_chain_id_ledger_address_installation_id_anchor_index"),
        ),
    )
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.create_index(
            "ix_anchors_installation_id_head", ["installation_id", "head_boot", "head_seq"], unique=False
        )

    op.create_table(
        "enrollment_tokens",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("installation_id", ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_enrollment_tokens_installation_id_installations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrollment_tokens_token_hash")),
    )
    op.create_table(
        "security_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("installation_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_security_events_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
    )
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.create_index("ix_security_events_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_events_installation_id"), ["installation_id"], unique=False)

    op.create_table(
        "readings",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("installation_id", ID, nullable=False),
        sa.Column("boot", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("power_mw", sa.BigInteger(), nullable=False),
        sa.Column("energy_mwh", sa.BigInteger(), nullable=False),
        sa.Column("prev", sa.LargeBinary(length=32), nullable=True),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("record_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cumulative_mwh", sa.BigInteger(), nullable=False),
        sa.Column("anchor_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["anchor_id"], ["anchors.id"], name=op.f("fk_readings_anchor_id_anchors"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_readings_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
        sa.UniqueConstraint("installation_id", "boot", "seq", name=op.f("uq_readings_installation_id_boot_seq")),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_readings_anchor_id"), ["anchor_id"], unique=False)
        batch_op.create_index(
            "ix_readings_installation_id_record_hash", ["installation_id", "record_hash"], unique=False
        )
        batch_op.create_index("ix_readings_installation_id_ts", ["installation_id", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_installation_id_ts")
        batch_op.drop_index("ix_readings_installation_id_record_hash")
        batch_op.drop_index(batch_op.f("ix_readings_anchor_id"))

    op.drop_table("readings")
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_events_installation_id"))
        batch_op.drop_index("ix_security_events_created_at")

    op.drop_table("security_events")
    op.drop_table("enrollment_tokens")
    with op.batch_alter_table("anchors", schema=None) as batch_op:
        batch_op.drop_index("ix_anchors_installation_id_head")

    op.drop_table("anchors")
    with op.batch_alter_table("installations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installations_key_id"))

    op.drop_table("installations")
    op.drop_table("chain_cursors")
