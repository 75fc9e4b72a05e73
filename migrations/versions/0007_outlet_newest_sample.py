"""the newest meter sample time per outlet

A MeterValues looked for repeats of its samples among the outlet's stored ones on
every message, although a station reports its samples in time order and a repeat
(a retry) has the time of a stored sample. With the newest stored time on the
outlet, a message whose samples are all newer skips that look-up; the others are
checked as before. Filled from the stored samples here.

Revision ID: 0007_outlet_newest_sample
Revises: 0006_meter_value_outlet_time
Create Date: 2026-12-05 08:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_outlet_newest_sample'
down_revision = '0006_meter_value_outlet_time'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outlet', schema=None) as batch_op:
        batch_op.add_column(sa.Column('newest_sample_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE outlet SET newest_sample_at = "
        "(SELECT max(meter_value.sampled_at) FROM meter_value "
        "WHERE meter_value.outlet_id = outlet.id)"
    )


def downgrade():
    # Not in batch mode: on SQLite that copies the table and drops the old one,
    # which the foreign keys to outlet refuse once there is data. SQLite drops a
    # plain column itself (3.35 and later).
    op.drop_column('outlet', 'newest_sample_at')
