"""Drop the (installation_id, record_hash) index: 88 of the 446 bytes a reading cost on PostgreSQL.

The chain check looks a record up by hash only for the first record of a new boot, whose `prev` names
the last record of an earlier boot: almost always the newest stored record, which the ingest reads
anyway (readings/store.py). Only a record naming anything else (a fork, or a predecessor not stored
yet) still searches by hash, scanning that installation's rows: rare, and each such record is a
security event or a gap. bench/README.md "Storage" has the figures.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_readings_installation_id_record_hash", table_name="readings")


def downgrade() -> None:
    op.create_index("ix_readings_installation_id_record_hash", "readings", ["installation_id", "record_hash"])
