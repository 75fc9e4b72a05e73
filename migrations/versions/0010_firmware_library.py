"""the firmware library: one store of firmware images, offered over FTP and HTTP

Firmware was kept two ways: images uploaded on a station's Control tab under
instance/firmware/<token>/<name> (served over HTTP), and images administrators put
into the FTP server's firmware folder (FTP_FOLDER/firmware). From now on the FTP
firmware folder is the one store and the table firmware_image lists what is in it.

The data move: every image of the old HTTP store moves into the library folder and
keeps its token, so an address already sent to a station still works (a name that
is taken gets the token's first characters added); every image already in the FTP
folder gets a record of its own. Nothing is deleted. A downgrade drops the table
and leaves every file in the library folder, which the FTP server serves.

Revision ID: 0010_firmware_library
Revises: 0009_tag_identity
Create Date: 2026-12-07 10:40:00

"""

import hashlib
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = "0010_firmware_library"
down_revision = "0009_tag_identity"
branch_labels = None
depends_on = None

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_PARTIAL = ".part"


def upgrade():
    table = op.create_table(
        "firmware_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user.id"],
            name=op.f("fk_firmware_image_uploaded_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firmware_image")),
        sa.UniqueConstraint("name", name=op.f("uq_firmware_image_name")),
        sa.UniqueConstraint("token", name=op.f("uq_firmware_image_token")),
    )
    if context_is_offline():
        return
    rows = move_stored_images(*_folders())
    if rows:
        naive = op.get_bind().dialect.name == "sqlite"
        for row in rows:
            if naive:
                row["uploaded_at"] = row["uploaded_at"].replace(tzinfo=None)
        op.bulk_insert(table, rows)


def downgrade():
    op.drop_table("firmware_image")


def context_is_offline():
    from alembic import context

    return context.is_offline_mode()


def _folders():
    config = current_app.config
    instance = Path(current_app.instance_path)
    ftp_root = Path(config.get("FTP_FOLDER") or instance / "ftp")
    return instance / "firmware", ftp_root / "firmware"


def _record(path, token):
    data = path.read_bytes()
    return {
        "name": path.name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "token": token,
        "uploaded_by_id": None,
        "uploaded_at": datetime.fromtimestamp(path.stat().st_mtime, UTC),
    }


def move_stored_images(legacy, library):
    """Move the old HTTP store into the library folder; return a record per image
    of the library (the moved ones keep their tokens)."""
    library.mkdir(parents=True, exist_ok=True)
    moved = []
    if legacy.is_dir():
        for folder in sorted(legacy.iterdir()):
            if not folder.is_dir() or not _TOKEN.match(folder.name):
                continue
            for image in sorted(folder.iterdir()):
                if not image.is_file() or image.name.endswith(_PARTIAL):
                    continue
                target = library / image.name
                if target.exists():
                    target = library / f"{image.stem}-{folder.name[:8]}{image.suffix}"
                shutil.move(str(image), str(target))
                moved.append(_record(target, folder.name))
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(legacy.iterdir()):
            legacy.rmdir()
    named = {row["name"] for row in moved}
    rows = list(moved)
    for image in sorted(library.iterdir()):
        if (
            image.is_file()
            and not image.name.endswith(_PARTIAL)
            and image.name not in named
        ):
            rows.append(_record(image, secrets.token_urlsafe(24)))
    return rows
