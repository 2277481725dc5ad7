"""Initial tables: documents, labels, embeddings, crawl runs, digests, feedback; full-text
search in the dialect's own way (SQLite: FTS5 table and triggers; PostgreSQL: a generated
tsvector column per document language and a GIN index).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from omvarld.store import postgres as postgres_only
from omvarld.store import sqlite as sqlite_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False, unique=True),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("source", sa.String(64), nullable=False, index=True),
        sa.Column("publisher", sa.String(256), nullable=False),
        sa.Column("level", sa.String(16), nullable=False, index=True),
        sa.Column("doc_type", sa.String(32), nullable=False, index=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("identifier", sa.String(128)),
        sa.Column("published", sa.Date, index=True),
        sa.Column("deadline", sa.Date, index=True),
        sa.Column("attachments", sa.JSON, nullable=False),
        sa.Column("source_version", sa.String(64)),
        sa.Column("first_seen", sa.DateTime, nullable=False, index=True),
        sa.Column("fetched", sa.DateTime, nullable=False),
        sa.Column("updated", sa.DateTime),
        sa.Column("classified_hash", sa.String(64)),
    )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("area", sa.String(64), nullable=False, index=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("accepted", sa.Boolean, nullable=False, index=True),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.UniqueConstraint("document_id", "area"),
    )
    op.create_table(
        "embeddings",
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("model_id", sa.String(128), primary_key=True),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("finished", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("new", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("errors", sa.JSON, nullable=False),
    )
    op.create_index("ix_crawl_runs_source_started", "crawl_runs", ["source", "started"])
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("week", sa.String(10), nullable=False, unique=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("paths", sa.JSON, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("sent_at", sa.DateTime),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sqlite_only.create_fulltext(bind)
    elif bind.dialect.name == "postgresql":
        postgres_only.create_fulltext(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sqlite_only.drop_fulltext(bind)
    elif bind.dialect.name == "postgresql":
        postgres_only.drop_fulltext(bind)
    for table in ("feedback", "digests", "crawl_runs", "embeddings", "labels", "documents"):
        op.drop_table(table)
