"""privacy requests and audit

The log of every find, export and erasure of one person's data (umic/models/privacy.py).
Written by hand; a new table, so SQLite and PostgreSQL take the same statements.

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
    op.create_table('privacy_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('term_kind', sa.String(length=10), nullable=False),
    sa.Column('term_digest', sa.String(length=64), nullable=False),
    sa.Column('term_mask', sa.String(length=40), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("action IN ('find', 'export', 'erase')", name=op.f('ck_privacy_audit_action_known')),
    sa.CheckConstraint("via IN ('web', 'cli')", name=op.f('ck_privacy_audit_via_known')),
    sa.CheckConstraint("term_kind IN ('email', 'phone')", name=op.f('ck_privacy_audit_term_kind_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['staff_user.id'], name=op.f('fk_privacy_audit_actor_id_staff_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_audit'))
    )
    with op.batch_alter_table('privacy_audit', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_privacy_audit_term_digest', ['term_digest'], unique=False)


def downgrade():
    with op.batch_alter_table('privacy_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_privacy_audit_term_digest')
        batch_op.drop_index('ix_privacy_audit_at')

    op.drop_table('privacy_audit')
