"""OCPP 2.0.1: a session keeps the station's transaction id; longer key names

An OCPP 2.0.1 station names its transactions itself (a string of up to 36
characters) and numbers its TransactionEvents (seqNo); a session keeps both, and
whether its meter start is still to come. A 2.0.1 device model variable is kept in
the key table under a name longer than a 1.6 key (component/variable, up to 200).
The protocol column takes the new value OCPP201_JSON as it is (text, no check).

Revision ID: 0008_ocpp201
Revises: 0007_outlet_newest_sample
Create Date: 2026-12-07 07:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_ocpp201'
down_revision = '0007_outlet_newest_sample'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('charging_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transaction_ref', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('transaction_seq_no', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('meter_start_pending', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index(
            'ix_charging_session_station_transaction',
            ['station_id', 'transaction_ref'],
            unique=True,
        )
    with op.batch_alter_table('station_config_key', schema=None) as batch_op:
        batch_op.alter_column(
            'key', existing_type=sa.String(length=50), type_=sa.String(length=200),
            existing_nullable=False,
        )


def downgrade():
    # A 2.0.1 station's sessions stay (as plain sessions); its longer variable
    # names do not fit a 1.6 key and go.
    op.execute("DELETE FROM station_config_key WHERE length(key) > 50")
    with op.batch_alter_table('station_config_key', schema=None) as batch_op:
        batch_op.alter_column(
            'key', existing_type=sa.String(length=200), type_=sa.String(length=50),
            existing_nullable=False,
        )
    # Not in batch mode (as 0007): on SQLite a batch copies the table, which the
    # foreign keys to charging_session refuse once there is data.
    op.drop_index('ix_charging_session_station_transaction', table_name='charging_session')
    op.drop_column('charging_session', 'meter_start_pending')
    op.drop_column('charging_session', 'transaction_seq_no')
    op.drop_column('charging_session', 'transaction_ref')
