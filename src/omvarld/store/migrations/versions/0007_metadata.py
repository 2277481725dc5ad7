"""The metadata policy documents carry: the responsible ministry or committee, authors, the
diarienummer beside the designation, structured references.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
