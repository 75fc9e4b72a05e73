"""Where things are: addresses, map positions, floor maps and station placement.

Spec §8: a site has an address and a position on a map; a station on no floor has
its own address; a floor has a floor map (.jpg only, at most 2 MB, checked by its
content) on which its stations are placed; without a floor map, the floor's
stations are placed on the site's map (their geographic position).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from app.extensions import db
from app.models import Floor, Site, Station, User
from app.services import audit, files, navigator, topology
from app.services.access import require_site_manager, scope
from app.services.errors import InvalidInput, NotFound

MAX_MAP_BYTES = 2 * 1024 * 1024
MAP_SUFFIXES = (".jpg", ".jpeg")
JPEG_MAGIC = b"\xff\xd8\xff"
MAP_FOLDER = "floor-maps"
# Pillow refuses absurd pixel counts (decompression bombs) long before this.
MAX_MAP_PIXELS = 50_000_000


@dataclass(frozen=True)
class Address:
    """An address and a position as a person enters them (spec §8 Site, Station)."""

    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def fields(self) -> dict[str, object]:
        return {
            "street": self.street.strip(),
            "postcode": self.postcode.strip(),
            "city": self.city.strip(),
            "country": self.country.strip(),
            "latitude": self.latitude,
            "longitude": self.longitude,
        }


def check_position(latitude: float | None, longitude: float | None) -> None:
    """Raise InvalidInput unless both or neither coordinate is given, on the globe."""
    if (latitude is None) != (longitude is None):
        raise InvalidInput(_l("Give both latitude and longitude, or neither."))
    if latitude is not None and not -90 <= latitude <= 90:
        raise InvalidInput(_l("The latitude lies between -90 and 90."))
    if longitude is not None and not -180 <= longitude <= 180:
        raise InvalidInput(_l("The longitude lies between -180 and 180."))


def update_site_address(actor: User, site: Site, address: Address) -> Site:
    """Change a site's address and position."""
    check_position(address.latitude, address.longitude)
    return topology.update_site(actor, site, **address.fields())


def may_edit_station_address(station: Station) -> bool:
    """Tell whether a station's own address applies: only when it is on no floor."""
    return station.floor_id is None


def update_station_address(actor: User, station: Station, address: Address) -> Station:
    """Change the address of a station on no floor (spec §8 Station Address)."""
    if not may_edit_station_address(station):
        raise InvalidInput(
            _l("The station is on a floor: it has the address of its site.")
        )
    check_position(address.latitude, address.longitude)
    return topology.update_station(actor, station, **address.fields())


# ---------------------------------------------------------------------------
# Floor maps


@dataclass(frozen=True)
class StoredMap:
    """The floor map just stored, and the file it replaced (removed after commit)."""

    file_name: str
    replaced: str | None


def check_floor_map(filename: str, data: bytes) -> None:
    """Raise InvalidInput unless the upload is a JPEG of at most 2 MB named .jpg."""
    if not filename or not filename.lower().endswith(MAP_SUFFIXES):
        raise InvalidInput(_l("A floor map must be a .jpg file."))
    if len(data) > MAX_MAP_BYTES:
        raise InvalidInput(
            _l(
                "The file is %(size).1f MB; a floor map may be at most 2 MB.",
                size=len(data) / (1024 * 1024),
            )
        )
    if not data.startswith(JPEG_MAGIC):
        raise InvalidInput(
            _l("The file is not a JPEG image (its content says otherwise).")
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                raise InvalidInput(_l("The file is not a JPEG image."))
            if image.width * image.height > MAX_MAP_PIXELS:
                raise InvalidInput(_l("The image has too many pixels."))
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise InvalidInput(_l("The file is not a readable JPEG image.")) from None


def map_folder(instance: Path) -> Path:
    """Return the folder of the floor maps under the instance folder."""
    return instance / MAP_FOLDER


def store_floor_map(
    actor: User, floor: Floor, filename: str, data: bytes, instance: Path
) -> StoredMap:
    """Check and store a floor map; the floor then shows it.

    The file is written under a new name and moved into place at once, so no
    half-written map is ever shown; the caller removes the replaced file after
    the commit (remove_map_file) or the new one if the commit fails.
    """
    require_site_manager(actor, floor.site_id)
    check_floor_map(filename, data)
    name = f"{floor.uuid}-{uuid.uuid4().hex}.jpg"
    files.write_atomically(map_folder(instance) / name, data)
    replaced = floor.map_file
    floor.map_file = name
    db.session.flush()
    audit.record_change(
        actor,
        "update",
        floor,
        {"map_file": [replaced, name]},
        site_id=floor.site_id,
    )
    return StoredMap(name, replaced)


def remove_map_file(instance: Path, name: str | None) -> None:
    """Delete a floor map file no floor uses any more."""
    if name:
        (map_folder(instance) / Path(name).name).unlink(missing_ok=True)


def floor_map_path(floor: Floor, instance: Path) -> Path:
    """Return the floor's map file, or raise NotFound when it has none."""
    if not floor.map_file:
        raise NotFound(_l("The floor has no map yet."))
    path = map_folder(instance) / Path(floor.map_file).name
    if not path.is_file():
        raise NotFound(_l("The floor has no map yet."))
    return path


# ---------------------------------------------------------------------------
# Placing stations


@dataclass(frozen=True)
class PlacedStation:
    """A station on the station-positions page: where it is and its icon colour."""

    id: int
    name: str
    chargebox_id: str
    status: navigator.NodeStatus
    x: float | None  # fractions of the floor map's width and height
    y: float | None
    latitude: float | None  # on the site's map, for a floor without a map
    longitude: float | None


def floor_stations(user: User, floor: Floor) -> list[PlacedStation]:
    """Return the floor's stations with their places and colours."""
    stations = db.session.scalars(
        scope(
            select(Station).where(Station.floor_id == floor.id).order_by(Station.name),
            user,
        )
    ).all()
    statuses = navigator.node_statuses(user, [station.id for station in stations])
    return [
        PlacedStation(
            station.id,
            station.name,
            station.chargebox_id,
            statuses.get(f"station:{station.id}", navigator.NodeStatus.OFFLINE),
            station.position.x if station.position else None,
            station.position.y if station.position else None,
            station.latitude,
            station.longitude,
        )
        for station in stations
    ]


def _station_on(floor: Floor, station_id: int) -> Station:
    station = next((s for s in floor.stations if s.id == station_id), None)
    if station is None:
        raise NotFound(_l("The station is not on this floor."))
    return station


def place_on_floor_map(
    actor: User, floor: Floor, station_id: int, x: float, y: float
) -> Station:
    """Place one of the floor's stations on the floor map, audited."""
    if not floor.map_file:
        raise InvalidInput(_l("The floor has no map: place its stations on the site."))
    station = _station_on(floor, station_id)
    before = (station.position.x, station.position.y) if station.position else None
    topology.set_floor_position(actor, station, x, y)
    audit.record_change(
        actor,
        "update",
        station,
        {"floor position": [before and list(before), [round(x, 4), round(y, 4)]]},
        site_id=station.site_id,
    )
    return station


def place_on_site_map(
    actor: User, floor: Floor, station_id: int, latitude: float, longitude: float
) -> Station:
    """Place one of a map-less floor's stations on the site's map (its position)."""
    station = _station_on(floor, station_id)
    check_position(latitude, longitude)
    # Placing is a site's layout, as on the floor map: site managers only.
    require_site_manager(actor, station.site_id)
    return topology.update_station(
        actor, station, latitude=latitude, longitude=longitude
    )
