"""report indexes

Written by hand.

The statistics page adds up the case files of a period: by the day they were requested
(per town, channel, month, type and sector) and by the day they were resolved (outcomes,
amounts, the median duration). At 100,000 cases:

- ix_case_file_resolved_at (new): without it both resolution queries read the whole table.
- ix_case_file_requested_at (recreated on PostgreSQL): the same column, now also carrying
  the columns those aggregates read (INCLUDE), so PostgreSQL answers them from the index
  alone instead of visiting a table page per case. ix_case_file_resolved_at carries the
  resolution's columns the same way.

SQLite has no INCLUDE: there both are plain indexes on the date.

Revision ID: a12c0a000001
Revises: a11c0a000003
Create Date: 2026-12-04 12:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a12c0a000001'
down_revision = 'a11c0a000003'
branch_labels = None
depends_on = None

REQUESTED_INCLUDE = ["municipality_id", "channel", "booking_id", "case_type", "sector"]
RESOLVED_INCLUDE = ["requested_at", "outcome", "amount_claimed", "amount_recovered"]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_case_file_requested_at", table_name="case_file")
        op.create_index(
            "ix_case_file_requested_at",
            "case_file",
            ["requested_at"],
            postgresql_include=REQUESTED_INCLUDE,
        )
        op.create_index(
            "ix_case_file_resolved_at",
            "case_file",
            ["resolved_at"],
            postgresql_include=RESOLVED_INCLUDE,
        )
    else:
        op.create_index("ix_case_file_resolved_at", "case_file", ["resolved_at"])


def downgrade():
    op.drop_index("ix_case_file_resolved_at", table_name="case_file")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_case_file_requested_at", table_name="case_file")
        op.create_index("ix_case_file_requested_at", "case_file", ["requested_at"])
