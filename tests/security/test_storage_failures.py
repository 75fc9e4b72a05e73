"""A disk that is full or not writable: a clear error, nothing half-written (issue #11)."""

from __future__ import annotations

import io
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from app.extensions import db
from app.models import AuditEntry, FirmwareImage, Role
from app.services import files, firmware, places
from app.services.errors import StorageUnavailable


def _jpeg(size: tuple[int, int] = (400, 300)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


@contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """Let no file grow past `limit` bytes: a write beyond it fails (EFBIG) midway,
    as on a disk that fills up during the write."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_write_that_fails_midway_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "maps" / "plan.jpg"
    with _file_size_limit(1024), pytest.raises(StorageUnavailable) as raised:
        files.write_atomically(target, b"x" * 10_000)
    assert "disk is full or not writable" in str(raised.value)
    assert list((tmp_path / "maps").iterdir()) == []


def test_an_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "maps"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StorageUnavailable):
        files.write_atomically(blocker / "plan.jpg", b"data")
    assert blocker.read_text() == "a file where the folder should be"


@pytest.fixture
def floor(create_site, create_floor):
    return create_floor(create_site("Solna"))


def test_a_floor_map_upload_to_a_full_disk_changes_nothing(app, login_as, floor):
    client = login_as(Role.ADMIN)
    audit_rows = db.session.query(AuditEntry).count()
    image = _jpeg()
    assert len(image) > 4096
    with _file_size_limit(4096):
        response = client.post(
            f"/admin/config/floor/{floor.id}/map",
            data={"floor_map": (io.BytesIO(image), "plan.jpg")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
    assert response.status_code == 200
    assert "disk is full or not writable" in response.text
    db.session.rollback()
    db.session.refresh(floor)
    assert floor.map_file is None
    assert db.session.query(AuditEntry).count() == audit_rows
    folder = places.map_folder(Path(app.instance_path))
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_firmware_upload_to_an_unwritable_folder_changes_nothing(app, login_as):
    client = login_as(Role.ADMIN)
    folder = firmware.library_folder()
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.is_dir():
        folder.rmdir()
    folder.write_text("not a folder")
    response = client.post(
        "/admin/firmware/",
        data={"image": (io.BytesIO(b"\x7fELF firmware"), "fw.bin")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "disk is full or not writable" in client.get(response.location).text
    assert folder.read_text() == "not a folder"
    assert db.session.query(FirmwareImage).count() == 0
