"""visit bookings

Reserved for this issue's work; empty until it needs a change of schema.

Revision ID: a13c0a000003
Revises: a13c0a000002
Create Date: 2026-12-05 09:03:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a13c0a000003'
down_revision = 'a13c0a000002'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
