"""availability version

Written by hand.

- availability_version (id, version): one row, created by the first change to the free
  times and raised by every later one (umic/models/availability.py). The citizens' pages
  keep free times in memory per process while this number stays the same.

Revision ID: a12c0a000002
Revises: a12c0a000001
Create Date: 2026-12-04 12:01:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a12c0a000002'
down_revision = 'a12c0a000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "availability_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_version")),
    )


def downgrade():
    op.drop_table("availability_version")
