"""Search across Swedish, Danish and English spellings: folded and stemmed full-text columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Every document's full-text index is rebuilt from its folded search terms
(`omvarld.store.textsearch`: stemmed in the document's language, then å/ä/æ → a, ö/ø → o,
aa/ae/oe → a/a/o), the same terms on both stores:

* SQLite: the stemmed FTS5 table of 0004 keeps its name and columns and is refilled.
* PostgreSQL: the generated per-language `search_tsv` column of 0001 becomes a plain
  tsvector of the folded terms (a generated column cannot call the stemmer), filled here
  and kept by the store where it saves a document; its GIN index is rebuilt.

Downgrade restores the unfolded stems (SQLite) and the generated column (PostgreSQL).
"""

from alembic import op

from omvarld.store import postgres as postgres_only
from omvarld.store import sqlite as sqlite_only

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sqlite_only.create_stemmed(bind)
        sqlite_only.reindex_stemmed(bind, folded=True)
    elif bind.dialect.name == "postgresql":
        postgres_only.create_terms_fulltext(bind)
        postgres_only.fill_terms(bind, everything=True)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sqlite_only.reindex_stemmed(bind, folded=False)
    elif bind.dialect.name == "postgresql":
        postgres_only.drop_fulltext(bind)
        postgres_only.create_fulltext(bind)
