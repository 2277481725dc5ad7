"""Web sessions that expire and that logout revokes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
