"""service settings and technicians towns

The service's name and description per language; the towns each technician serves.
Written by hand.

- service.name_es, name_en, description_es, description_en: empty means "as in Catalan"
  (name and description stay the Catalan ones). Existing rows are left as they are: a
  coordinator writes the other languages at /admin/servei/.
- staff_town (staff_id, municipality_id): the towns a technician serves; none means all.

Revision ID: a11c0a000003
Revises: a11c0a000002
Create Date: 2026-12-04 11:02:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a11c0a000003'
down_revision = 'a11c0a000002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service") as batch_op:
        for name in ("name_es", "name_en"):
            batch_op.add_column(
                sa.Column(name, sa.String(length=120), server_default="", nullable=False)
            )
        for name in ("description_es", "description_en"):
            batch_op.add_column(sa.Column(name, sa.Text(), server_default="", nullable=False))
    op.create_table(
        "staff_town",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"],
            name=op.f("fk_staff_town_staff_id_staff_user"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"], ["municipality.id"],
            name=op.f("fk_staff_town_municipality_id_municipality"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staff_id", "municipality_id", name=op.f("pk_staff_town")),
    )
    op.create_index("ix_staff_town_municipality_id", "staff_town", ["municipality_id"])


def downgrade():
    op.drop_index("ix_staff_town_municipality_id", table_name="staff_town")
    op.drop_table("staff_town")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a copy of the table: dropping the old
    # copy would delete or refuse the rows that point at it (foreign keys are enforced).
    with op.batch_alter_table("service", recreate="never") as batch_op:
        for name in ("description_en", "description_es", "name_en", "name_es"):
            batch_op.drop_column(name)
