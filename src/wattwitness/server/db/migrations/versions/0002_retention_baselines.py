"""Retention baselines: what `wattwitness db prune` removed per installation (docs/operations.md §6).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite auto-increments only INTEGER PRIMARY KEY columns (the installations id type of 0001).
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retention_baselines",
        sa.Column("installation_id", ID, nullable=False),
        sa.Column("pruned_before_ts", sa.BigInteger(), nullable=False),
        sa.Column("pruned_total", sa.BigInteger(), nullable=False),
        sa.Column("pruned_verified", sa.BigInteger(), nullable=False),
        sa.Column("last_boot", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["installation_id"],
            ["installations.id"],
            name=op.f("fk_retention_baselines_installation_id_installations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("installation_id", name=op.f("pk_retention_baselines")),
    )


def downgrade() -> None:
    op.drop_table("retention_baselines")
