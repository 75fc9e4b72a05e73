"""statistics sort indexes

Every sortable column of the statistics (spec §6) that had no index gets one, so
the first page of a sort over millions of sessions reads a few index entries
instead of sorting the whole table.

Revision ID: f4e8543961ca
Revises: 0001
Create Date: 2026-11-24 15:17:55.808240

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f4e8543961ca'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('charging_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charging_session_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_charging_session_logged_at'), ['logged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_charging_session_meter_kwh'), ['meter_kwh'], unique=False)


def downgrade():
    with op.batch_alter_table('charging_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charging_session_meter_kwh'))
        batch_op.drop_index(batch_op.f('ix_charging_session_logged_at'))
        batch_op.drop_index(batch_op.f('ix_charging_session_ended_at'))
