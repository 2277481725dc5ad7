"""Search and watches: a Swedish-aware (stemmed) full-text index on SQLite, an index on
`documents.updated` (how search notices a changed document cheaply), and the watch
tables (saved searches, their subscribers and matches).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Additive only: a store at 0003 keeps every row, and its documents are indexed in the
stemmed table here, once. Nothing copies `documents` (a copy would drop its triggers).
"""

import sqlalchemy as sa
from alembic import op

from omvarld.store import sqlite as sqlite_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_updated", "documents", ["updated"])
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("query", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime, nullable=False),
        sa.Column("applied", sa.DateTime),
    )
    op.create_table(
        "watch_subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("watch_id", sa.Integer, sa.ForeignKey("watches.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("delivery", sa.String(8), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("sent_through", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("watch_id", "email"),
    )
    op.create_table(
        "watch_matches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("watch_id", sa.Integer, sa.ForeignKey("watches.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("document_id", sa.Integer,
                  sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("matched", sa.DateTime, nullable=False),
        sa.Column("announce", sa.Boolean, nullable=False),
        sa.UniqueConstraint("watch_id", "document_id"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sqlite_only.create_stemmed(bind)
        sqlite_only.reindex_stemmed(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sqlite_only.drop_stemmed(bind)
    for table in ("watch_matches", "watch_subscribers", "watches"):
        op.drop_table(table)
    op.drop_index("ix_documents_updated", table_name="documents")
