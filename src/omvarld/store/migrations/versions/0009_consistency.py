"""Crash-consistent stages and locks owned by a live process.

`documents.linked_hash`: the content hash a document's story was decided for; a document
classified since (labels, stakeholders and references are written together) but not yet
linked is pending for the link stage, which a killed run leaves to the next. `ops_locks`
gains the owner's host and process id, so that a lock whose owner is gone is taken over
at once instead of when it expires.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("linked_hash", sa.String(64)))
    # What is in a story already was linked for the content it was classified from.
    op.execute("UPDATE documents SET linked_hash = classified_hash "
               "WHERE story_id IS NOT NULL")
    op.add_column("ops_locks", sa.Column("host", sa.String(256)))
    op.add_column("ops_locks", sa.Column("pid", sa.Integer))


def downgrade() -> None:
    op.drop_column("ops_locks", "pid")
    op.drop_column("ops_locks", "host")
    op.drop_column("documents", "linked_hash")
