"""staff sessions

Revision ID: a10c0a000002
Revises: a10c0a000001
Create Date: 2026-12-04 10:01:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10c0a000002'
down_revision = 'a10c0a000001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
