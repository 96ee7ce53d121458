"""mailbox and follow

- case_file.language: the language of a mailbox message, for the e-mails that follow it.

Revision ID: a13c0a000004
Revises: a13c0a000001
Create Date: 2026-12-05 09:04:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = 'a13c0a000004'
down_revision = 'a13c0a000001'
branch_labels = None
depends_on = None


def upgrade():
    # --- mailbox (helper "mailbox"): the language a mailbox message was written in, for the
    # e-mails that follow it (documents asked, reminders); "" for other cases (their booking's
    # language, or the service's).
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), server_default='', nullable=False))
    # --- end mailbox


def downgrade():
    # --- mailbox
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_column('language')
    # --- end mailbox
