"""staff changes to bookings

Staff moves of a booking (who, when, hours overridden) and the reason a citizen reads. Owned by the staff-changes work.
Written by hand: one new table, booking_change (umic/models/changes.py).

Revision ID: a11c0a000001
Revises: a10c0a000005
Create Date: 2026-12-04 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a11c0a000001'
down_revision = 'a10c0a000005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "booking_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("previous_start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_technician_id", sa.Integer(), nullable=True),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("override_hours", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["booking.id"],
            name=op.f("fk_booking_change_booking_id_booking"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["staff_user.id"],
            name=op.f("fk_booking_change_actor_id_staff_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["previous_technician_id"], ["staff_user.id"],
            name=op.f("fk_booking_change_previous_technician_id_staff_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"], ["staff_user.id"],
            name=op.f("fk_booking_change_technician_id_staff_user"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_change")),
    )
    op.create_index("ix_booking_change_booking_id", "booking_change", ["booking_id"])


def downgrade():
    op.drop_index("ix_booking_change_booking_id", table_name="booking_change")
    op.drop_table("booking_change")
