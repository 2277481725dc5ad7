"""PostgreSQL: pgvector where the extension is installed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

On PostgreSQL, enable pgvector if the server has it and the role may create it, add the
`embedding vector` column to `embeddings` (filled from the float32 blobs) and an HNSW
(cosine) index for the project's embedding size. Where the extension is missing nothing
changes and semantic search stays exact. On SQLite nothing changes at all. The store runs
the same check again at every open (`omvarld.store.postgres.ensure_vectors`), so a
server that gains the extension later switches to the index without a new revision.
"""

from alembic import op

from omvarld.store import postgres as postgres_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgres_only.ensure_vectors(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgres_only.drop_vectors(bind)
