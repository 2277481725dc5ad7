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


def upgrade() -> None:
    op.add_column("documents", sa.Column("story_id", sa.Integer, nullable=True))
    op.create_index("ix_documents_story_id", "documents", ["story_id"])
    op.create_table(
        "document_stakeholders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(256), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.UniqueConstraint("document_id", "name"),
    )
    op.create_table(
        "document_references",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "document_id",
            sa.Integer,
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("key", sa.String(128), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("is_own", sa.Boolean, nullable=False),
        sa.UniqueConstraint("document_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("document_references")
    op.drop_table("document_stakeholders")
    op.drop_index("ix_documents_story_id", table_name="documents")
    op.drop_column("documents", "story_id")
