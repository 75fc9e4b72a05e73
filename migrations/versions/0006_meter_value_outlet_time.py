"""meter values indexed by outlet and time

A MeterValues message looks for repeats of its samples among the outlet's stored
ones at the same times (a station's retry is stored once). With an index on the
outlet alone that read every value the outlet ever stored, so a message cost more
the longer the outlet had been in use; (outlet, time) finds them directly and serves
lookups by outlet alone, so it replaces that index.

Revision ID: 0006_meter_value_outlet_time
Revises: 0005_schedule
Create Date: 2026-11-25 03:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006_meter_value_outlet_time'
down_revision = '0005_schedule'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meter_value', schema=None) as batch_op:
        batch_op.create_index('ix_meter_value_outlet_sampled', ['outlet_id', 'sampled_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_meter_value_outlet_id'))


def downgrade():
    with op.batch_alter_table('meter_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_value_outlet_id'), ['outlet_id'], unique=False)
        batch_op.drop_index('ix_meter_value_outlet_sampled')
