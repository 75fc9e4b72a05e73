"""the local authorisation list of each station as the portal last sent it

One row per station the portal keeps a local list on (its version, whether a
difference waits, whether the station supports local lists at all) and one row per
entry as sent, so that a change to the tags is sent as a Differential update.

Revision ID: 0012_local_lists
Revises: 0011_access_policies
Create Date: 2026-12-07 10:40:00

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_local_lists"
down_revision = "0011_access_policies"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "station_local_list",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("full_needed", sa.Boolean(), nullable=False),
        sa.Column("supported", sa.Boolean(), nullable=False),
        sa.Column("station_version", sa.Integer(), nullable=True),
        sa.Column("station_version_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.String(length=200), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("busy_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["station.id"],
            name=op.f("fk_station_local_list_station_id_station"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_local_list")),
    )
    op.create_index(
        op.f("ix_station_local_list_pending"),
        "station_local_list",
        ["pending"],
        unique=False,
    )
    op.create_table(
        "local_list_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("tag_key", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_tag", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["station_local_list.station_id"],
            name=op.f("fk_local_list_tag_station_id_station_local_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_local_list_tag")),
        sa.UniqueConstraint(
            "station_id", "tag_key", name=op.f("uq_local_list_tag_station_id")
        ),
    )


def downgrade():
    op.drop_table("local_list_tag")
    op.drop_index(
        op.f("ix_station_local_list_pending"), table_name="station_local_list"
    )
    op.drop_table("station_local_list")
