"""privacy requests and audit

Revision ID: a10c0a000005
Revises: a10c0a000004
Create Date: 2026-12-04 10:04:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10c0a000005'
down_revision = 'a10c0a000004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
