"""Digest delivery: one row per week and recipient a digest was sent to.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Additive only (one new table), so a store at 0002 keeps every row. A second send of a
week looks here first and sends nothing unless forced.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_sends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("week", sa.String(10), nullable=False, index=True),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(256), nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.UniqueConstraint("week", "recipient"),
    )


def downgrade() -> None:
    op.drop_table("digest_sends")
