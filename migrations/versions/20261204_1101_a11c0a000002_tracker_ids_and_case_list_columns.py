"""tracker ids and case list columns

The old tracker's ID on case files; each member of staff's chosen case-list columns.
Written by hand: case_file.tracker_id (the ID the case had in the tracker it was imported
from, indexed: staff search by it) and staff_user.case_list_columns (the case-list columns a
member of staff chose; empty means the default set). Both nullable, nothing to backfill.

Revision ID: a11c0a000002
Revises: a11c0a000001
Create Date: 2026-12-04 11:01:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a11c0a000002'
down_revision = 'a11c0a000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("case_file") as batch_op:
        batch_op.add_column(sa.Column("tracker_id", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_case_file_tracker_id", ["tracker_id"], unique=False)
    with op.batch_alter_table("staff_user") as batch_op:
        batch_op.add_column(sa.Column("case_list_columns", sa.String(length=400), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a copy of the table: dropping the old
    # copy would delete or refuse the rows that point at it (foreign keys are enforced).
    with op.batch_alter_table("staff_user", recreate="never") as batch_op:
        batch_op.drop_column("case_list_columns")
    with op.batch_alter_table("case_file", recreate="never") as batch_op:
        batch_op.drop_index("ix_case_file_tracker_id")
        batch_op.drop_column("tracker_id")
