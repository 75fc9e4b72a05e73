"""app/services/places.py: floor maps checked by content, placement, addresses."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Role
from app.services import places
from app.services.errors import InvalidInput, NotFound, PermissionDenied


def _image(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buffer, kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("plan.png", _image("PNG"), "must be a .jpg file"),
        ("plan", _image("JPEG"), "must be a .jpg file"),
        ("plan.jpg", _image("PNG"), "not a JPEG image"),
        ("plan.jpg", b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024), "at most 2 MB"),
        ("plan.jpg", b"\xff\xd8\xff\xe0garbage", "not a readable JPEG"),
        ("plan.jpg", b"", "not a JPEG image"),
    ],
)
def test_a_floor_map_is_refused_with_its_reason(name, data, message):
    with pytest.raises(InvalidInput, match=message):
        places.check_floor_map(name, data)


@pytest.mark.parametrize("name", ["plan.jpg", "PLAN.JPG", "plan.jpeg"])
def test_a_jpeg_named_jpg_is_accepted(name):
    places.check_floor_map(name, _image("JPEG"))


@pytest.fixture
def floor_setup(create_site, create_floor, create_station, create_user):
    site = create_site("Solna")
    floor = create_floor(site, "Central 1")
    station = create_station(site, "S-1", floor=floor)
    return site, floor, station, create_user(Role.SITE_ADMIN, sites=[site])


def test_storing_a_floor_map_replaces_the_old_one_and_is_audited(floor_setup, tmp_path):
    _site, floor, _station, manager = floor_setup
    first = places.store_floor_map(manager, floor, "a.jpg", _image("JPEG"), tmp_path)
    second = places.store_floor_map(manager, floor, "b.jpg", _image("JPEG"), tmp_path)
    assert second.replaced == first.file_name
    places.remove_map_file(tmp_path, second.replaced)
    assert [p.name for p in places.map_folder(tmp_path).iterdir()] == [second.file_name]
    assert places.floor_map_path(floor, tmp_path).read_bytes() == _image("JPEG")
    assert db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "Floor", AuditEntry.action == "update"
        )
    ).all()


def test_a_refused_map_writes_nothing(floor_setup, tmp_path):
    _site, floor, _station, manager = floor_setup
    with pytest.raises(InvalidInput):
        places.store_floor_map(manager, floor, "a.jpg", _image("PNG"), tmp_path)
    assert floor.map_file is None
    assert not places.map_folder(tmp_path).exists()


def test_support_and_other_sites_may_not_store_floor_maps(
    floor_setup, create_user, create_site, tmp_path
):
    _site, floor, _station, _manager = floor_setup
    for user in (
        create_user(Role.SUPPORT),
        create_user(Role.SITE_ADMIN, sites=[create_site("Kista")]),
    ):
        with pytest.raises(PermissionDenied):
            places.store_floor_map(user, floor, "a.jpg", _image("JPEG"), tmp_path)


def test_placing_needs_a_map_and_a_station_of_the_floor(
    floor_setup, create_station, tmp_path
):
    site, floor, station, manager = floor_setup
    with pytest.raises(InvalidInput, match="no map"):
        places.place_on_floor_map(manager, floor, station.id, 0.5, 0.5)
    places.store_floor_map(manager, floor, "a.jpg", _image("JPEG"), tmp_path)
    loose = create_station(site, "S-2")
    with pytest.raises(NotFound):
        places.place_on_floor_map(manager, floor, loose.id, 0.5, 0.5)
    places.place_on_floor_map(manager, floor, station.id, 0.2, 0.8)
    (placed,) = places.floor_stations(manager, floor)
    assert (placed.x, placed.y, placed.status.value) == (0.2, 0.8, "offline")


def test_without_a_floor_map_stations_are_placed_on_the_site(floor_setup):
    _site, floor, station, manager = floor_setup
    places.place_on_site_map(manager, floor, station.id, 59.36, 18.0)
    assert (station.latitude, station.longitude) == (59.36, 18.0)
    with pytest.raises(InvalidInput, match="latitude"):
        places.place_on_site_map(manager, floor, station.id, 91, 18.0)


def test_a_station_on_a_floor_has_no_address_of_its_own(floor_setup):
    _site, _floor, station, manager = floor_setup
    with pytest.raises(InvalidInput, match="on a floor"):
        places.update_station_address(manager, station, places.Address(street="X 1"))
