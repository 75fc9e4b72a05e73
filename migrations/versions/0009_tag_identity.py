"""tags are kept as stations send them; a reader notation per system, site and station

The tag column held every tag as a decimal string (hex input was converted). From
now on a tag is kept exactly as registered and compared case-insensitively through
its key, the upper-cased text, which is unique. Existing tags are decimal strings:
their key is the same text, so they keep working for stations that send decimal
and nothing is duplicated. The notation (exact / hex / decimal) says how a station's
readers send a card's UID; the system default is exact, sites and stations inherit.

Revision ID: 0009_tag_identity
Revises: 0008_ocpp201
Create Date: 2026-12-07 07:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_tag_identity'
down_revision = '0008_ocpp201'
branch_labels = None
depends_on = None

_NOTATION = sa.Enum('exact', 'hex', 'decimal', name='tagnotation', native_enum=False, length=20)


def upgrade():
    op.add_column(
        'rfid_tag',
        sa.Column('tag_key', sa.String(length=20), nullable=False, server_default=''),
    )
    op.execute("UPDATE rfid_tag SET tag_key = upper(tag)")
    op.create_index('ix_rfid_tag_tag_key', 'rfid_tag', ['tag_key'], unique=True)
    op.add_column(
        'system_settings',
        sa.Column('tag_notation', _NOTATION, nullable=False, server_default='exact'),
    )
    op.add_column('site', sa.Column('tag_notation', _NOTATION, nullable=True))
    op.add_column('station', sa.Column('tag_notation', _NOTATION, nullable=True))


def downgrade():
    # Plain drops, not batch mode (see 0007): SQLite 3.35+ drops a column itself.
    op.drop_column('station', 'tag_notation')
    op.drop_column('site', 'tag_notation')
    op.drop_column('system_settings', 'tag_notation')
    op.drop_index('ix_rfid_tag_tag_key', table_name='rfid_tag')
    op.drop_column('rfid_tag', 'tag_key')
