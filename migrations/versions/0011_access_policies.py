"""access policies: user groups and who may charge per site, floor, station, outlet

An outlet's mode (OPEN / RFID) and the system's default outlet mode become access
policies, one source of truth: the system default becomes `default_access`
(OPEN → OPEN, RFID → KNOWN); an outlet whose mode differs from that default gets
a policy of its own at the outlet (OPEN → OPEN, RFID → KNOWN), the others follow
the system default, so every outlet admits exactly whom it admitted before.
Downgrade writes each outlet's effective rule back as its mode (OPEN → OPEN,
KNOWN and GROUPS → RFID: a group outlet stays closed to strangers).

Revision ID: 0011_access_policies
Revises: 0010_firmware_library
Create Date: 2026-12-07 10:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_access_policies'
down_revision = '0010_firmware_library'
branch_labels = None
depends_on = None

_RULE = sa.Enum('OPEN', 'KNOWN', 'GROUPS', name='accessrule', native_enum=False, length=20)
_MODE = sa.Enum('OPEN', 'RFID', name='outletmode', native_enum=False, length=20)
_ONE_NODE = (
    "(CASE WHEN site_id IS NULL THEN 0 ELSE 1 END) + "
    "(CASE WHEN floor_id IS NULL THEN 0 ELSE 1 END) + "
    "(CASE WHEN station_id IS NULL THEN 0 ELSE 1 END) + "
    "(CASE WHEN outlet_id IS NULL THEN 0 ELSE 1 END) = 1"
)
_NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade():
    op.create_table(
        'user_group',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_user_group_site_id_site'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_group')),
        sa.UniqueConstraint('name', name=op.f('uq_user_group_name')),
    )
    op.create_index(op.f('ix_user_group_site_id'), 'user_group', ['site_id'], unique=False)
    op.create_table(
        'user_group_user',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['user_group.id'], name=op.f('fk_user_group_user_group_id_user_group'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_group_user_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_user_group_user')),
    )
    op.create_index(op.f('ix_user_group_user_user_id'), 'user_group_user', ['user_id'], unique=False)
    op.create_table(
        'user_group_tag',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['user_group.id'], name=op.f('fk_user_group_tag_group_id_user_group'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tag_id'], ['rfid_tag.id'], name=op.f('fk_user_group_tag_tag_id_rfid_tag'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_id', 'tag_id', name=op.f('pk_user_group_tag')),
    )
    op.create_index(op.f('ix_user_group_tag_tag_id'), 'user_group_tag', ['tag_id'], unique=False)
    op.create_table(
        'access_policy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('floor_id', sa.Integer(), nullable=True),
        sa.Column('station_id', sa.Integer(), nullable=True),
        sa.Column('outlet_id', sa.Integer(), nullable=True),
        sa.Column('rule', _RULE, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_ONE_NODE, name=op.f('ck_access_policy_one_node')),
        sa.ForeignKeyConstraint(['floor_id'], ['floor.id'], name=op.f('fk_access_policy_floor_id_floor'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], name=op.f('fk_access_policy_outlet_id_outlet'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_access_policy_site_id_site'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['station_id'], ['station.id'], name=op.f('fk_access_policy_station_id_station'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_policy')),
        sa.UniqueConstraint('floor_id', name=op.f('uq_access_policy_floor_id')),
        sa.UniqueConstraint('outlet_id', name=op.f('uq_access_policy_outlet_id')),
        sa.UniqueConstraint('site_id', name=op.f('uq_access_policy_site_id')),
        sa.UniqueConstraint('station_id', name=op.f('uq_access_policy_station_id')),
    )
    op.create_table(
        'access_policy_group',
        sa.Column('policy_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['user_group.id'], name=op.f('fk_access_policy_group_group_id_user_group'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['policy_id'], ['access_policy.id'], name=op.f('fk_access_policy_group_policy_id_access_policy'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('policy_id', 'group_id', name=op.f('pk_access_policy_group')),
    )
    op.create_index(op.f('ix_access_policy_group_group_id'), 'access_policy_group', ['group_id'], unique=False)

    op.add_column(
        'system_settings',
        sa.Column('default_access', _RULE, nullable=False, server_default='KNOWN'),
    )
    op.execute(
        "UPDATE system_settings SET default_access = "
        "CASE default_outlet_mode WHEN 'OPEN' THEN 'OPEN' ELSE 'KNOWN' END"
    )
    # Outlets whose mode is not the system default keep it as their own policy.
    op.execute(
        "INSERT INTO access_policy (outlet_id, rule, created_at) "
        "SELECT id, CASE mode WHEN 'OPEN' THEN 'OPEN' ELSE 'KNOWN' END, "
        "CURRENT_TIMESTAMP FROM outlet WHERE mode <> COALESCE("
        "(SELECT default_outlet_mode FROM system_settings ORDER BY id LIMIT 1), 'RFID')"
    )
    # Plain drops, not batch mode (see 0007): SQLite 3.35+ drops a column itself.
    op.drop_column('outlet', 'mode')
    op.drop_column('system_settings', 'default_outlet_mode')


def downgrade():
    op.add_column(
        'system_settings',
        sa.Column('default_outlet_mode', _MODE, nullable=False, server_default='RFID'),
    )
    op.add_column('outlet', sa.Column('mode', _MODE, nullable=False, server_default='RFID'))
    op.execute(
        "UPDATE system_settings SET default_outlet_mode = "
        "CASE default_access WHEN 'OPEN' THEN 'OPEN' ELSE 'RFID' END"
    )
    # Each outlet's effective rule: its own policy, its station's, floor's, site's,
    # else the system default.
    op.execute(
        "UPDATE outlet SET mode = CASE COALESCE("
        "(SELECT p.rule FROM access_policy p WHERE p.outlet_id = outlet.id), "
        "(SELECT p.rule FROM access_policy p WHERE p.station_id = outlet.station_id), "
        "(SELECT p.rule FROM access_policy p JOIN station s ON p.floor_id = s.floor_id "
        "WHERE s.id = outlet.station_id), "
        "(SELECT p.rule FROM access_policy p JOIN station s ON p.site_id = s.site_id "
        "WHERE s.id = outlet.station_id), "
        "(SELECT default_access FROM system_settings ORDER BY id LIMIT 1), 'KNOWN') "
        "WHEN 'OPEN' THEN 'OPEN' ELSE 'RFID' END"
    )
    op.drop_column('system_settings', 'default_access')
    op.drop_index(op.f('ix_access_policy_group_group_id'), table_name='access_policy_group')
    op.drop_table('access_policy_group')
    op.drop_table('access_policy')
    op.drop_index(op.f('ix_user_group_tag_tag_id'), table_name='user_group_tag')
    op.drop_table('user_group_tag')
    op.drop_index(op.f('ix_user_group_user_user_id'), table_name='user_group_user')
    op.drop_table('user_group_user')
    op.drop_index(op.f('ix_user_group_site_id'), table_name='user_group')
    op.drop_table('user_group')
