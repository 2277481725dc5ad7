"""The metadata policy documents carry: the responsible ministry or committee, authors, the
diarienummer beside the designation, structured references.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Additive only: nullable columns (JSON lists default to NULL, read as empty), added with a
plain ALTER TABLE as 0002 does, so the full-text triggers on `documents` stay. The
structured references (Riksdagen's `dokreferens`, CELLAR's procedure links) are kept as the
source gave them in `doc_references`; the links stage turns them into rows of
`document_references`, beside the citations it finds in the text.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("subtitle", sa.Text),
    ("subtype", sa.String(64)),
    ("responsible", sa.String(256)),
    ("authors", sa.JSON),
    ("diarienummer", sa.String(64)),
    ("proposals", sa.JSON),
    ("doc_references", sa.JSON),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("documents", sa.Column(name, kind, nullable=True))
    op.create_index("ix_documents_responsible", "documents", ["responsible"])
    op.create_index("ix_documents_diarienummer", "documents", ["diarienummer"])


def downgrade() -> None:
    op.drop_index("ix_documents_diarienummer", table_name="documents")
    op.drop_index("ix_documents_responsible", table_name="documents")
    for name, _ in reversed(COLUMNS):
        op.drop_column("documents", name)
