"""operations: the alarm digest record and the backup time policy

Revision ID: 0003_operations
Revises: f4e8543961ca
Create Date: 2026-11-24 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_operations'
down_revision = 'f4e8543961ca'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alarm_digest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('sending', 'sent', 'failed', 'nothing', name='digeststate', native_enum=False, length=20), nullable=False),
    sa.Column('alarm_count', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_alarm_digest_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_digest')),
    sa.UniqueConstraint('user_id', 'day', name=op.f('uq_alarm_digest_user_id'))
    )
    with op.batch_alter_table('system_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backup_time', sa.Time(), server_default='02:30:00', nullable=False))


def downgrade():
    with op.batch_alter_table('system_settings', schema=None) as batch_op:
        batch_op.drop_column('backup_time')
    op.drop_table('alarm_digest')
