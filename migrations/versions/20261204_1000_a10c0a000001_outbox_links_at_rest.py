"""outbox links at rest

Revision ID: a10c0a000001
Revises: 8396f04616f9
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10c0a000001'
down_revision = '8396f04616f9'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
