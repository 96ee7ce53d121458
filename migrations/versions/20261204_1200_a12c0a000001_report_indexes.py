"""report indexes

Written by hand.

Revision ID: a12c0a000001
Revises: a11c0a000003
Create Date: 2026-12-04 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a12c0a000001'
down_revision = 'a11c0a000003'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
