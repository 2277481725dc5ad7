"""Operations: alert episodes, run locks, run reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ops_alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("opened", sa.DateTime, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("resolved", sa.DateTime),
    )
    op.create_index("ix_ops_alerts_source_kind", "ops_alerts", ["source", "kind"])
    op.create_table(
        "ops_locks",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("acquired", sa.DateTime, nullable=False),
        sa.Column("expires", sa.DateTime, nullable=False),
    )
    op.create_table(
        "ops_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("flow_run_id", sa.String(64)),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("finished", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("markdown", sa.Text, nullable=False),
    )
    op.create_index("ix_ops_runs_flow", "ops_runs", ["flow"])
    op.create_index("ix_ops_runs_flow_run_id", "ops_runs", ["flow_run_id"])


def downgrade() -> None:
    op.drop_table("ops_runs")
    op.drop_table("ops_locks")
    op.drop_index("ix_ops_alerts_source_kind", "ops_alerts")
    op.drop_table("ops_alerts")
