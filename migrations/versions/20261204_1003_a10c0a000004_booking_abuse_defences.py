"""booking abuse defences

One key per e-mail address on every booking (backfilled here), the booking's client network
as a keyed hash (only for a day: nothing to backfill), and two small tables: cap refusals
(kept a day) and when coordinators were last alerted (docs/booking-abuse.md).

Revision ID: a10c0a000004
Revises: a10c0a000003
Create Date: 2026-12-04 10:03:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a10c0a000004'
down_revision = 'a10c0a000003'
branch_labels = None
depends_on = None


def _email_key(address):
    """A frozen copy of umic.core.emails.email_key as it was when this migration was written:
    a migration must not change meaning when the app's code does."""
    value = (address or "").strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return value
    local = local.split("+", 1)[0] or local
    domain = domain.rstrip(".")
    if domain in ("gmail.com", "googlemail.com"):
        domain = "gmail.com"
        local = local.replace(".", "")
    return f"{local}@{domain}"


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('network_key', sa.String(length=32), nullable=True))

    # Backfill: one UPDATE per distinct address (a few thousand at most), in batches of 500.
    booking = sa.table('booking', sa.column('citizen_email', sa.String), sa.column('email_key', sa.String))
    connection = op.get_bind()
    addresses = [row[0] for row in connection.execute(sa.select(booking.c.citizen_email).distinct())]
    update = (
        booking.update()
        .where(booking.c.citizen_email == sa.bindparam('address'))
        .values(email_key=sa.bindparam('key'))
    )
    for first in range(0, len(addresses), 500):
        batch = [{'address': a, 'key': _email_key(a)} for a in addresses[first:first + 500]]
        connection.execute(update, batch)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.alter_column('email_key', server_default=None)
        batch_op.create_index('ix_booking_email_key', ['email_key'], unique=False)
        batch_op.create_index('ix_booking_network_key', ['network_key'], unique=False)
        batch_op.create_index('ix_booking_created_at', ['created_at'], unique=False)

    op.create_table('booking_refusal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_refusal'))
    )
    with op.batch_alter_table('booking_refusal', schema=None) as batch_op:
        batch_op.create_index('ix_booking_refusal_created_at', ['created_at'], unique=False)

    op.create_table('booking_alert',
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('reason', name=op.f('pk_booking_alert'))
    )


def downgrade():
    op.drop_table('booking_alert')
    with op.batch_alter_table('booking_refusal', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_refusal_created_at')
    op.drop_table('booking_refusal')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_created_at')
        batch_op.drop_index('ix_booking_network_key')
        batch_op.drop_index('ix_booking_email_key')
        batch_op.drop_column('network_key')
        batch_op.drop_column('email_key')
