"""Links between documents: stakeholders named, references cited, near-duplicate stories.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Additive only: two new tables and one nullable column, so a store at 0001 keeps every row.
The column is added with a plain ALTER TABLE, never a batch copy of `documents`: a copy
would drop the full-text triggers that 0001 put on the table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _per_document(name: str, *columns: sa.Column, unique: str) -> None:
    """A table of rows that belong to one document (deleted with it), one per `unique`."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        *columns,
        sa.UniqueConstraint("document_id", unique),
    )


def upgrade() -> None:
    op.add_column("documents", sa.Column("story_id", sa.Integer, nullable=True))
    op.create_index("ix_documents_story_id", "documents", ["story_id"])
    _per_document(
        "document_stakeholders",
        sa.Column("name", sa.String(256), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        unique="name",
    )
    _per_document(
        "document_references",
        sa.Column("key", sa.String(128), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("is_own", sa.Boolean, nullable=False),
        unique="key",
    )


def downgrade() -> None:
    op.drop_table("document_references")
    op.drop_table("document_stakeholders")
    op.drop_index("ix_documents_story_id", table_name="documents")
    op.drop_column("documents", "story_id")
