"""The installation's tree: create, change, move and remove sites, floors, stations, outlets.

Rules of spec §3: a floor needs its site; a station needs a site (and may sit on a
floor of that site); a station has 1-4 outlets numbered 1-4; a node with children
cannot be removed; stations can be moved. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccessPolicy,
    AccessRule,
    Availability,
    ChargingSession,
    Floor,
    FloorPosition,
    Outlet,
    Protocol,
    Role,
    Site,
    Station,
    SystemSettings,
    User,
)
from app.services import audit
from app.services.access import require_role, require_site_manager
from app.services.errors import Conflict, InvalidInput, NotFound

MAX_OUTLETS = 4
_CHARGEBOX_ID_MAX = 48


def get_settings() -> SystemSettings:
    """Return the system settings row, creating it with defaults on first use."""
    settings = db.session.get(SystemSettings, 1)
    if settings is None:
        settings = SystemSettings(id=1)
        db.session.add(settings)
        db.session.flush()
    # Held for the session's life: its identity map holds objects only weakly, so
    # every station message would read the row again. A commit still expires it.
    db.session.info["system_settings"] = settings
    return settings


def _required_name(name: str, missing: object) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(missing)
    return name


def create_site(actor: User | None, name: str, **address: object) -> Site:
    """Create a site; its name is unique. Administrators only."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    name = _required_name(name, _l("The site needs a name."))
    if db.session.scalars(
        select(Site.id).where(func.lower(Site.name) == name.lower())
    ).first():
        raise Conflict(_l("A site named %(name)s already exists.", name=name))
    site = Site(name=name, **address)
    db.session.add(site)
    db.session.flush()
    audit.record_create(actor, site, site_id=site.id)
    return site


def update_site(actor: User, site: Site, **fields: object) -> Site:
    """Change a site's name or address."""
    require_site_manager(actor, site.id)
    before = audit.snapshot(site)
    if "name" in fields:
        name = _required_name(str(fields["name"]), _l("The site needs a name."))
        clash = db.session.scalars(
            select(Site.id).where(
                func.lower(Site.name) == name.lower(), Site.id != site.id
            )
        ).first()
        if clash:
            raise Conflict(_l("A site named %(name)s already exists.", name=name))
        fields["name"] = name
    for key, value in fields.items():
        setattr(site, key, value)
    db.session.flush()
    audit.record_update(actor, site, before, site_id=site.id)
    return site


def delete_site(actor: User, site: Site) -> None:
    """Remove a site that has no floors and no stations. Administrators only."""
    require_role(actor, Role.ADMIN)
    if site.floors:
        raise Conflict(
            _l("The site %(name)s has floors: remove them first.", name=site.name)
        )
    if site.stations:
        raise Conflict(
            _l(
                "The site %(name)s has stations: remove or move them first.",
                name=site.name,
            )
        )
    audit.record_delete(actor, site, audit.snapshot(site))
    db.session.delete(site)
    db.session.flush()


def create_floor(actor: User | None, site: Site | None, name: str) -> Floor:
    """Create a floor in a site; a floor needs its site first."""
    if site is None:
        raise InvalidInput(_l("A floor needs a site: create or choose the site first."))
    if actor is not None:
        require_site_manager(actor, site.id)
    name = _required_name(name, _l("The floor needs a name."))
    if any(floor.name.lower() == name.lower() for floor in site.floors):
        raise Conflict(
            _l(
                "The site %(site)s already has a floor named %(name)s.",
                site=site.name,
                name=name,
            )
        )
    floor = Floor(site=site, name=name)
    db.session.add(floor)
    audit.record_create(actor, floor, site_id=site.id)
    return floor


def update_floor(actor: User, floor: Floor, *, name: str) -> Floor:
    """Rename a floor."""
    require_site_manager(actor, floor.site_id)
    before = audit.snapshot(floor)
    name = _required_name(name, _l("The floor needs a name."))
    if any(
        f.name.lower() == name.lower() and f.id != floor.id for f in floor.site.floors
    ):
        raise Conflict(
            _l(
                "The site %(site)s already has a floor named %(name)s.",
                site=floor.site.name,
                name=name,
            )
        )
    floor.name = name
    db.session.flush()
    audit.record_update(actor, floor, before, site_id=floor.site_id)
    return floor


def delete_floor(actor: User, floor: Floor) -> None:
    """Remove a floor that has no stations."""
    require_site_manager(actor, floor.site_id)
    if floor.stations:
        raise Conflict(
            _l(
                "The floor %(name)s has stations: remove or move them first.",
                name=floor.name,
            )
        )
    audit.record_delete(actor, floor, audit.snapshot(floor), site_id=floor.site_id)
    _delete(floor, (floor.site, "floors"))


@dataclass(frozen=True)
class StationInput:
    """The fields of a new station (spec §8 Station level)."""

    chargebox_id: str
    name: str = ""
    protocol: Protocol = Protocol.OCPP16_JSON
    outlets: int = 1
    # Who may charge here; None: as the floor, site or system says (access_policies).
    access: AccessRule | None = None
    description: str = ""
    availability: Availability = Availability.PUBLIC
    heartbeat_interval: int | None = None


def check_chargebox_id(chargebox_id: str) -> str:
    """Return the chargebox id trimmed, or raise InvalidInput (it goes into URLs)."""
    value = (chargebox_id or "").strip()
    if not value:
        raise InvalidInput(_l("The station needs a chargebox id."))
    if (
        len(value) > _CHARGEBOX_ID_MAX
        or not value.isprintable()
        or any(ch in value for ch in "/?#% ")
    ):
        raise InvalidInput(
            _l("A chargebox id is at most 48 characters without spaces, /, ?, # or %.")
        )
    return value


def _place(site: Site | None, floor: Floor | None) -> Site:
    if floor is not None:
        if site is not None and floor.site_id != site.id:
            raise InvalidInput(
                _l("The floor %(name)s is not in that site.", name=floor.name)
            )
        return floor.site
    if site is None:
        raise InvalidInput(_l("A station needs a site or a floor."))
    return site


def create_station(
    actor: User | None,
    data: StationInput,
    *,
    site: Site | None,
    floor: Floor | None = None,
) -> Station:
    """Create a station with its outlets numbered 1..n, on a site or on a floor."""
    site = _place(site, floor)
    if actor is not None:
        require_site_manager(actor, site.id)
    chargebox_id = check_chargebox_id(data.chargebox_id)
    if db.session.scalars(
        select(Station.id).where(Station.chargebox_id == chargebox_id)
    ).first():
        raise Conflict(
            _l("A station with chargebox id %(id)s already exists.", id=chargebox_id)
        )
    if not 1 <= data.outlets <= MAX_OUTLETS:
        raise InvalidInput(_l("A station has 1 to 4 outlets."))
    settings = get_settings()
    station = Station(
        chargebox_id=chargebox_id,
        name=data.name.strip() or chargebox_id,
        protocol=data.protocol,
        description=data.description,
        availability=data.availability,
        heartbeat_interval=data.heartbeat_interval
        or settings.default_heartbeat_interval,
        site=site,
        floor=floor,
    )
    db.session.add(station)
    db.session.flush()
    audit.record_create(actor, station, site_id=site.id)
    if data.access is not None:
        db.session.add(AccessPolicy(station_id=station.id, rule=data.access))
    for number in range(1, data.outlets + 1):
        create_outlet(actor, station, number=number)
    return station


def update_station(actor: User, station: Station, **fields: object) -> Station:
    """Change a station's settings (name, description, heartbeat, availability…)."""
    if actor.role is not Role.SUPPORT:
        require_site_manager(actor, station.site_id)
    before = audit.snapshot(station)
    if "chargebox_id" in fields:
        chargebox_id = check_chargebox_id(str(fields["chargebox_id"]))
        clash = db.session.scalars(
            select(Station.id).where(
                Station.chargebox_id == chargebox_id, Station.id != station.id
            )
        ).first()
        if clash:
            raise Conflict(
                _l(
                    "A station with chargebox id %(id)s already exists.",
                    id=chargebox_id,
                )
            )
        fields["chargebox_id"] = chargebox_id
    for key, value in fields.items():
        setattr(station, key, value)
    db.session.flush()
    audit.record_update(actor, station, before, site_id=station.site_id)
    return station


def move_station(
    actor: User, station: Station, *, site: Site | None, floor: Floor | None = None
) -> Station:
    """Move a station to another site or floor; its past sessions keep their site."""
    target = _place(site, floor)
    require_site_manager(actor, station.site_id)
    require_site_manager(actor, target.id)
    before = audit.snapshot(station, ["site_id", "floor_id"])
    if (
        station.floor_id != (floor.id if floor else None)
        and station.position is not None
    ):
        db.session.delete(station.position)  # its place on the old floor map
    station.site = target
    station.floor = floor
    db.session.flush()
    after = audit.snapshot(station, ["site_id", "floor_id"])
    audit.record_change(
        actor, "update", station, audit.diff(before, after), site_id=target.id
    )
    return station


def delete_station(actor: User, station: Station) -> None:
    """Remove a station that has no outlets left."""
    require_site_manager(actor, station.site_id)
    if station.outlets:
        raise Conflict(
            _l(
                "The station %(name)s has outlets: remove them first.",
                name=station.name,
            )
        )
    audit.record_delete(
        actor, station, audit.snapshot(station), site_id=station.site_id
    )
    _delete(station, (station.site, "stations"), (station.floor, "stations"))


def create_outlet(
    actor: User | None,
    station: Station | None,
    *,
    number: int | None = None,
    access: AccessRule | None = None,
    connector_type: str = "Type 2",
) -> Outlet:
    """Add an outlet to a station, taking the lowest free number 1-4 unless given."""
    if station is None:
        raise InvalidInput(
            _l("An outlet belongs to a station: choose the station first.")
        )
    if actor is not None:
        require_site_manager(actor, station.site_id)
    used = {outlet.number for outlet in station.outlets}
    if number is None:
        free = [n for n in range(1, MAX_OUTLETS + 1) if n not in used]
        if not free:
            raise Conflict(_l("The station already has 4 outlets."))
        number = free[0]
    if not 1 <= number <= MAX_OUTLETS:
        raise InvalidInput(_l("Outlets are numbered 1 to 4."))
    if number in used:
        raise Conflict(_l("The station already has outlet %(n)d.", n=number))
    outlet = Outlet(
        station=station,
        number=number,
        connector_type=connector_type,
    )
    db.session.add(outlet)
    if access is not None:  # else the outlet follows its station (access_policies)
        db.session.flush()
        db.session.add(AccessPolicy(outlet_id=outlet.id, rule=access))
    audit.record_create(actor, outlet, site_id=station.site_id)
    return outlet


def update_outlet(actor: User, outlet: Outlet, **fields: object) -> Outlet:
    """Change an outlet's connector type or parking."""
    if actor.role is not Role.SUPPORT:
        require_site_manager(actor, outlet.station.site_id)
    before = audit.snapshot(outlet)
    for key, value in fields.items():
        setattr(outlet, key, value)
    db.session.flush()
    audit.record_update(actor, outlet, before, site_id=outlet.station.site_id)
    return outlet


def delete_outlet(actor: User, outlet: Outlet) -> None:
    """Remove an outlet (its past sessions keep their outlet number)."""
    require_site_manager(actor, outlet.station.site_id)
    if db.session.scalars(
        select(ChargingSession.id).where(ChargingSession.outlet_id == outlet.id)
    ).first():
        raise Conflict(
            _l(
                "The outlet %(name)s has charging sessions and is kept for them.",
                name=str(outlet),
            )
        )
    audit.record_delete(
        actor, outlet, audit.snapshot(outlet), site_id=outlet.station.site_id
    )
    _delete(outlet, (outlet.station, "outlets"))


def set_floor_position(
    actor: User, station: Station, x: float, y: float
) -> FloorPosition:
    """Place a station on its floor's map at (x, y), fractions of the map's size."""
    require_site_manager(actor, station.site_id)
    if station.floor_id is None:
        raise InvalidInput(_l("The station is on no floor."))
    if not (0 <= x <= 1 and 0 <= y <= 1):
        raise InvalidInput(_l("The position must lie on the map."))
    if station.position is None:
        station.position = FloorPosition(floor_id=station.floor_id, x=x, y=y)
    else:
        station.position.floor_id, station.position.x, station.position.y = (
            station.floor_id,
            x,
            y,
        )
    db.session.flush()
    return station.position


def find_site(name: str) -> Site:
    """Return the site with this name (case-insensitive) or raise NotFound."""
    site = db.session.scalars(
        select(Site).where(func.lower(Site.name) == name.strip().lower())
    ).first()
    if site is None:
        raise NotFound(_l("No site named %(name)s.", name=name))
    return site


def find_site_by_id(site_id: int) -> Site:
    """Return the site with this id or raise NotFound."""
    site = db.session.get(Site, site_id)
    if site is None:
        raise NotFound(_l("No such site."))
    return site


def find_floor(site: Site, name: str) -> Floor:
    """Return the floor of a site with this name, or raise NotFound."""
    for floor in site.floors:
        if floor.name.lower() == name.strip().lower():
            return floor
    raise NotFound(
        _l("The site %(site)s has no floor named %(name)s.", site=site.name, name=name)
    )


def _delete(obj: object, *parents: tuple[object | None, str]) -> None:
    """Delete a row and refresh the parents' collections that listed it."""
    db.session.delete(obj)
    db.session.flush()
    for parent, collection in parents:
        if parent is not None:
            db.session.expire(parent, [collection])
