"""retention and rights

Revision ID: a10c0a000003
Revises: a10c0a000002
Create Date: 2026-12-04 10:02:00

Bookings and case files say when their personal data was blanked (umic.privacy.anonymise).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10c0a000003'
down_revision = 'a10c0a000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_booking_anonymised_at', ['anonymised_at'], unique=False)

    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_case_file_anonymised_at', ['anonymised_at'], unique=False)


def downgrade():
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_file_anonymised_at')
        batch_op.drop_column('anonymised_at')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_anonymised_at')
        batch_op.drop_column('anonymised_at')
