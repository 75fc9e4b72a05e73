"""Who may see which rows: the single scope(stmt, user) used by every read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, false, select
from sqlalchemy.orm import Query

from app.extensions import db
from app.models import (
    Alarm,
    AuditEntry,
    ChargingSession,
    DashboardPanel,
    EventLogEntry,
    Floor,
    FloorPosition,
    MeterValue,
    NewsItem,
    NodeCapacity,
    OcppMessage,
    Outlet,
    OutletAllocation,
    OutletSchedule,
    OutletServiceId,
    RfidTag,
    Role,
    ScheduleRule,
    Site,
    Station,
    StationConfigKey,
    SystemSettings,
    User,
    UserGroup,
    site_grant,
    user_group_tag,
)
from app.services.errors import NotFound, PermissionDenied

T = TypeVar("T")
S = TypeVar("S", bound="Select[Any] | Query[Any]")
Rule = Callable[[Select[Any], User], Select[Any]]


def granted_site_ids(user: User) -> Select[Any]:
    """Return a subquery of the ids of the sites a user has been granted."""
    return select(site_grant.c.site_id).where(site_grant.c.user_id == user.id)


def _granted_station_ids(user: User) -> Select[Any]:
    return select(Station.id).where(Station.site_id.in_(granted_site_ids(user)))


def _granted_outlet_ids(user: User) -> Select[Any]:
    return select(Outlet.id).where(Outlet.station_id.in_(_granted_station_ids(user)))


def _everything(stmt: Select[Any], user: User) -> Select[Any]:
    return stmt


def _by_site(column: Any) -> Rule:
    return lambda stmt, user: stmt.where(column.in_(granted_site_ids(user)))


def _by_station(column: Any) -> Rule:
    return lambda stmt, user: stmt.where(column.in_(_granted_station_ids(user)))


def _by_outlet(column: Any) -> Rule:
    return lambda stmt, user: stmt.where(column.in_(_granted_outlet_ids(user)))


def _schedule_rules(stmt: Select[Any], user: User) -> Select[Any]:
    floors = select(Floor.id).where(Floor.site_id.in_(granted_site_ids(user)))
    return stmt.where(
        ScheduleRule.site_id.in_(granted_site_ids(user))
        | ScheduleRule.floor_id.in_(floors)
        | ScheduleRule.station_id.in_(_granted_station_ids(user))
        | ScheduleRule.outlet_id.in_(_granted_outlet_ids(user))
    )


def _own(column: Any) -> Rule:
    return lambda stmt, user: stmt.where(column == user.id)


def _users_charging_at_granted_sites(stmt: Select[Any], user: User) -> Select[Any]:
    charging_here = select(ChargingSession.user_id).where(
        ChargingSession.site_id.in_(granted_site_ids(user))
    )
    return stmt.where(User.id.in_(charging_here))


# Monitoring data every staff role may read; each role's rules below extend it.
_SITE_ADMIN_RULES: dict[type, Rule] = {
    Site: _by_site(Site.id),
    Floor: _by_site(Floor.site_id),
    Station: _by_site(Station.site_id),
    Outlet: _by_station(Outlet.station_id),
    ChargingSession: _by_site(ChargingSession.site_id),
    MeterValue: _by_outlet(MeterValue.outlet_id),
    Alarm: _by_site(Alarm.site_id),
    EventLogEntry: _by_site(EventLogEntry.site_id),
    AuditEntry: _by_site(AuditEntry.site_id),
    StationConfigKey: _by_station(StationConfigKey.station_id),
    FloorPosition: _by_station(FloorPosition.station_id),
    OcppMessage: _by_station(OcppMessage.station_id),
    OutletServiceId: _by_outlet(OutletServiceId.outlet_id),
    ScheduleRule: _schedule_rules,
    NodeCapacity: lambda stmt, user: stmt.where(
        NodeCapacity.site_id.in_(granted_site_ids(user))
        | NodeCapacity.floor_id.in_(
            select(Floor.id).where(Floor.site_id.in_(granted_site_ids(user)))
        )
    ),
    OutletSchedule: _by_outlet(OutletSchedule.outlet_id),
    OutletAllocation: _by_outlet(OutletAllocation.outlet_id),
    User: _users_charging_at_granted_sites,
    # A site's groups, and the system-wide ones its policies may name (read only).
    UserGroup: lambda stmt, user: stmt.where(
        UserGroup.site_id.in_(granted_site_ids(user)) | UserGroup.site_id.is_(None)
    ),
    # The tag register: tags of the users a site administrator sees (above), and
    # the tags in his sites' groups.
    RfidTag: lambda stmt, user: stmt.where(
        RfidTag.user_id.in_(_users_charging_at_granted_sites(select(User.id), user))
        | RfidTag.id.in_(
            select(user_group_tag.c.tag_id)
            .join(UserGroup, UserGroup.id == user_group_tag.c.group_id)
            .where(UserGroup.site_id.in_(granted_site_ids(user)))
        )
    ),
    NewsItem: _everything,
    SystemSettings: _everything,
    DashboardPanel: _own(DashboardPanel.user_id),
}

_SUPPORT_RULES: dict[type, Rule] = {
    **dict.fromkeys(_SITE_ADMIN_RULES, _everything),
    User: _own(User.id),
    AuditEntry: lambda stmt, user: stmt.where(false()),
    DashboardPanel: _own(DashboardPanel.user_id),
}

_EV_USER_RULES: dict[type, Rule] = {
    ChargingSession: _own(ChargingSession.user_id),
    MeterValue: lambda stmt, user: stmt.where(
        MeterValue.session_id.in_(
            select(ChargingSession.id).where(ChargingSession.user_id == user.id)
        )
    ),
    RfidTag: _own(RfidTag.user_id),
    User: _own(User.id),
    NewsItem: _everything,
    DashboardPanel: _own(DashboardPanel.user_id),
}

_RULES: dict[Role, dict[type, Rule]] = {
    Role.SITE_ADMIN: _SITE_ADMIN_RULES,
    Role.SUPPORT: _SUPPORT_RULES,
    Role.EV_USER: _EV_USER_RULES,
}


def scope(stmt: S, user: User | None, model: type | None = None) -> S:
    """Limit a query of one model to the rows the user may see (spec §1).

    Works on a 2.0 select and on a legacy Query (Flask-Admin's); `model` names
    the model when the statement selects no entity (a count).

    Fails closed: an anonymous user, an inactive one, or a model without a rule
    for the user's role (ExternalService, for instance: administrators only) gets
    no rows, so a new model is a decision, not an accident.
    """
    if user is None or not getattr(user, "active", False):
        return stmt.where(false())  # type: ignore[return-value]
    if user.role is Role.ADMIN:
        return stmt
    entity: Any = model or stmt.column_descriptions[0]["entity"]
    rule = _RULES[user.role].get(entity)
    if rule is None:
        return stmt.where(false())  # type: ignore[return-value]
    return rule(stmt, user)  # type: ignore[arg-type, return-value]


def record_id(ident: Any) -> int:
    """Read a record id as it comes from a URL or form; anything else is NotFound.

    (PostgreSQL, unlike SQLite, refuses to compare an integer key with text.)
    """
    try:
        return int(ident)
    except (TypeError, ValueError):
        raise NotFound(_l("No such record.")) from None


def get_scoped(model: type[T], ident: Any, user: User | None) -> T:
    """Return the row with this id if the user may see it, else raise NotFound."""
    primary_key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    row = db.session.scalars(
        scope(select(model).where(primary_key == record_id(ident)), user)
    ).first()
    if row is None:
        raise NotFound(_l("No such record."))
    return row


def require_role(user: User | None, *roles: Role) -> User:
    """Raise PermissionDenied unless the user has one of the roles."""
    if user is None or not user.active or user.role not in roles:
        raise PermissionDenied(_l("Your role does not allow this."))
    return user


def may_manage_site(user: User, site_id: int | None) -> bool:
    """Tell whether the user may change a site's configuration and topology.

    site_id None is a station not yet placed in a site: administrators only.
    """
    if user.role is Role.ADMIN:
        return True
    if user.role is not Role.SITE_ADMIN or site_id is None:
        return False
    return any(site.id == site_id for site in user.sites)


def require_site_manager(user: User | None, site_id: int | None) -> User:
    """Raise PermissionDenied unless the user may configure the given site."""
    if user is None or not may_manage_site(user, site_id):
        raise PermissionDenied(_l("You may not change this site."))
    return user
