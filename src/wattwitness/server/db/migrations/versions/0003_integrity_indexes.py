"""Partial indexes for the integrity report: readings not plainly verified, and chain restarts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Literal copies (a migration must not change when the models do); the models hold the same text.
UNUSUAL_SQL = "status <> 'verified'"
ZERO_PREV_SQL = {"sqlite": "prev = X'" + "00" * 32 + "'", "postgresql": "prev = '\\x" + "00" * 32 + "'::bytea"}


def upgrade() -> None:
    op.create_index("ix_readings_unusual", "readings", ["installation_id", "status", "boot", "seq"],
                    sqlite_where=sa.text(UNUSUAL_SQL), postgresql_where=sa.text(UNUSUAL_SQL))
    op.create_index("ix_readings_chain_restarts", "readings", ["installation_id", "boot", "seq"],
                    sqlite_where=sa.text(ZERO_PREV_SQL["sqlite"]),
                    postgresql_where=sa.text(ZERO_PREV_SQL["postgresql"]))


def downgrade() -> None:
    op.drop_index("ix_readings_chain_restarts", table_name="readings")
    op.drop_index("ix_readings_unusual", table_name="readings")
