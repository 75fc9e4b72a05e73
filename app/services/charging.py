"""Charging: authorise a tag, start a session, take meter values, stop it (spec §6, §9).

Energy is kept in kWh; stations report Wh or kWh and the adapters say which.
Messages a station queued while offline carry past timestamps and are accepted; a
repeated start or stop of the same session changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import make_transient_to_detached

from app.extensions import db
from app.models import (
    ChargingSession,
    EventKind,
    MeterValue,
    Outlet,
    RfidTag,
    Station,
    utcnow,
)
from app.services import (
    access_policies,
    bulk_rows,
    events,
    schedule,
    signals,
    stations,
    tags,
)

ENERGY_REGISTER = "Energy.Active.Import.Register"


class AuthorizationStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class Authorization:
    status: AuthorizationStatus
    expires_at: datetime | None = None
    parent_tag: str | None = None
    tag: RfidTag | None = None
    # The access policy that refused the tag here (None: accepted, or refused for
    # another reason: a charging window).
    refused_by: access_policies.EffectivePolicy | None = None

    def refusal(self) -> str:
        """Say why the tag was refused, in words ("" when it was not)."""
        if self.status is AuthorizationStatus.ACCEPTED:
            return ""
        if self.refused_by is not None:
            return access_policies.refusal_message(self.refused_by)
        return ""


@dataclass(frozen=True)
class MeterSample:
    """One sampled value in the spec's words; value already in `unit`."""

    sampled_at: datetime
    value: float
    measurand: str = ENERGY_REGISTER
    unit: str = "Wh"
    phase: str = ""
    context: str = ""

    @property
    def kwh(self) -> float | None:
        """The value as kWh when it is an energy register reading, else None."""
        if self.measurand != ENERGY_REGISTER:
            return None
        return self.value / 1000 if self.unit.lower() == "wh" else self.value


@dataclass(frozen=True)
class StartResult:
    session: ChargingSession
    authorization: Authorization


@dataclass(frozen=True)
class StopResult:
    """The ended session (None if unknown) and, when a tag was given, its standing."""

    session: ChargingSession | None
    authorization: Authorization | None


# The statements of the per-message path, built once: building a SELECT and its cache
# key costs more than running it (a MeterValues' repeat check: 180 us built per call,
# 53 us prebuilt; docs/ocpp-performance.md).
_NEW_SESSION = insert(ChargingSession).returning(ChargingSession.id)
_SAME_START = select(ChargingSession).where(
    ChargingSession.station_id == bindparam("station_id"),
    ChargingSession.outlet_number == bindparam("outlet_number"),
    ChargingSession.started_at == bindparam("started_at"),
    ChargingSession.meter_start_kwh == bindparam("meter_start_kwh"),
)
_SAMPLES_AT = select(
    MeterValue.sampled_at,
    MeterValue.measurand,
    MeterValue.phase,
    MeterValue.context,
    MeterValue.value,
).where(
    MeterValue.outlet_id == bindparam("outlet_id"),
    MeterValue.sampled_at.in_(bindparam("times", expanding=True)),
)
_RUNNING_AT = select(ChargingSession).where(
    ChargingSession.station_id.in_(bindparam("station_ids", expanding=True)),
    ChargingSession.ended_at.is_(None),
)


def _check_tag(station: Station, tag_text: str | None) -> Authorization:
    if not tag_text:
        return Authorization(AuthorizationStatus.INVALID)
    tag = tags.find_sent(station, tag_text)
    if tag is None:
        return Authorization(AuthorizationStatus.INVALID)
    return tag_standing(tag, utcnow())


def tag_standing(tag: RfidTag, now: datetime) -> Authorization:
    """Say how a known tag stands, wherever it is used (Authorize, a local list): a
    tag of an inactive user is invalid; a blocked tag, or one whose parent is
    blocked, is blocked; past its own or its parent's expiry it is expired."""
    if tag.user is not None and not tag.user.active:
        return Authorization(AuthorizationStatus.INVALID)
    parent = tag.parent
    if tag.blocked or (parent is not None and parent.blocked):
        return Authorization(AuthorizationStatus.BLOCKED, tag=tag)
    expiry = min(
        (t.expires_at for t in (tag, parent) if t is not None and t.expires_at),
        default=None,
    )
    if expiry is not None and expiry <= now:
        return Authorization(AuthorizationStatus.EXPIRED, expiry, tag=tag)
    return Authorization(
        AuthorizationStatus.ACCEPTED, expiry, parent.tag if parent else None, tag
    )


def authorize(
    station: Station, tag_text: str | None, outlet_number: int | None = None
) -> Authorization:
    """Say whether a tag may charge here (spec §8 Policies, §9).

    The outlet's access policy decides (access_policies): OPEN accepts anyone, an
    unknown or missing tag as an anonymous session; KNOWN a known tag that is not
    blocked, not expired and whose parent tag is not blocked; GROUPS such a tag of
    a member of the policy's groups. Without an outlet (OCPP Authorize names none)
    the tag is accepted if one of the station's outlets admits it. A refusal
    carries the policy that refused (`refused_by`).
    """
    policies = access_policies.station_policies(station)
    if outlet_number and outlet_number in policies:
        candidates = [policies[outlet_number]]
    elif outlet_number or not policies:
        candidates = [access_policies.node_policy(station)]
    else:
        candidates = list(dict.fromkeys(policies.values()))
    checked = _check_tag(station, tag_text)
    valid = checked.tag if checked.status is AuthorizationStatus.ACCEPTED else None
    admitting = next((p for p in candidates if access_policies.admits(p, valid)), None)
    if admitting is None:
        refusing = candidates[0]
        status = (
            AuthorizationStatus.BLOCKED  # known and valid, but not a member here
            if checked.status is AuthorizationStatus.ACCEPTED
            else checked.status
        )
        return Authorization(
            status, checked.expires_at, tag=checked.tag, refused_by=refusing
        )
    if valid is None:  # OPEN: anyone, anonymously
        checked = Authorization(AuthorizationStatus.ACCEPTED)
    if schedule.start_refusal(
        station, outlet_number or None
    ):  # spec §6b: outside its charging window an outlet takes no new session
        return Authorization(AuthorizationStatus.BLOCKED, tag=checked.tag)
    return checked


def _policy_details(authorization: Authorization) -> dict[str, str]:
    """The refusing policy for an event's details (empty when none refused)."""
    if authorization.refused_by is None:
        return {}
    return {"refused_by": authorization.refusal()}


def start_session(
    station: Station,
    outlet_number: int,
    tag_text: str | None,
    meter_start_wh: float,
    started_at: datetime,
    *,
    reservation_id: int | None = None,
) -> StartResult:
    """Record a started session and say whether its tag was accepted.

    The session is recorded even when the tag is refused (the station has started
    and will stop on our answer), so no energy goes unaccounted. A repeat of the
    same start (same outlet, time and meter) returns the first session.
    """
    outlet = stations.outlet_of(station, outlet_number) or stations.outlet_of(
        station, 1
    )
    assert outlet is not None  # outlet 1 always exists or is created
    with db.session.no_autoflush:  # sessions are inserted at once (below)
        existing = db.session.scalars(
            _SAME_START,
            {
                "station_id": station.id,
                "outlet_number": outlet.number,
                "started_at": started_at,
                "meter_start_kwh": meter_start_wh / 1000,
            },
        ).first()
        authorization = authorize(station, tag_text, outlet.number)
    if existing is not None:
        return StartResult(existing, authorization)
    tag = authorization.tag
    user = (
        tag.user
        if tag is not None and authorization.status is AuthorizationStatus.ACCEPTED
        else None
    )
    row = {
        "site_id": station.site_id,
        "station_id": station.id,
        "outlet_id": outlet.id,
        "outlet_number": outlet.number,
        "started_at": started_at,
        "ended_at": None,
        "logged_at": utcnow(),
        "authentication": 1 if user is not None else 0,
        "tag": (tag_text or None) and tag_text[:20],  # type: ignore[index]
        "user_id": user.id if user else None,
        "meter_start_kwh": meter_start_wh / 1000,
        "meter_kwh": meter_start_wh / 1000,
        "energy_kwh": 0.0,
        "stop_reason": "",
        "reservation_id": reservation_id,
    }
    # Its id is the OCPP transaction id, needed now: the row is inserted on its own
    # (a flush would write everything the unit of work holds, message by message),
    # then joins the unit of work as persistent, every column loaded.
    row["id"] = db.session.connection().execute(_NEW_SESSION, row).scalar_one()
    session = ChargingSession(**row)
    make_transient_to_detached(session)
    db.session.add(session)
    events.note_station_event(
        EventKind.STATUS,
        f"{outlet}: charging session {session.id} started",
        station,
        node_name=str(outlet),
        details={
            "tag": tag_text,
            "authorization": authorization.status.value,
            **_policy_details(authorization),
        },
    )
    signals.announce(
        db.session(),
        signals.session_started,
        session_id=session.id,
        station_id=station.id,
        outlet_id=outlet.id,
        site_id=station.site_id,
    )
    return StartResult(session, authorization)


def find_session(station: Station, session_id: int) -> ChargingSession | None:
    """Return the station's session with this id (the OCPP transaction id)."""
    session = db.session.get(ChargingSession, session_id)
    if session is None or session.station_id != station.id:
        return None
    return session


def record_meter_values(
    station: Station,
    outlet_number: int,
    samples: list[MeterSample],
    session_id: int | None = None,
) -> None:
    """Store every sample; an energy register reading updates the running session."""
    outlet = stations.outlet_of(station, outlet_number) if outlet_number else None
    session = find_session(station, session_id) if session_id else None
    if outlet is None and session is not None:
        outlet = session.outlet
    if outlet is None:
        return  # connector 0 (the station's main meter) is not an outlet's session
    stored = _stored_samples(outlet, samples)
    for sample in samples:
        key = _sample_key(sample)
        if key in stored:
            continue  # a retried MeterValues: each sample is stored once (issue #11)
        stored.add(key)
        if (
            outlet.newest_sample_at is None
            or sample.sampled_at > outlet.newest_sample_at
        ):
            outlet.newest_sample_at = sample.sampled_at
        bulk_rows.queue(  # written with the batch's others, one statement
            db.session(),
            MeterValue,
            {
                "session_id": session.id if session else None,
                "outlet_id": outlet.id,
                "sampled_at": sample.sampled_at,
                "measurand": sample.measurand[:60],
                "value": sample.value,
                "unit": sample.unit[:12],
                "phase": sample.phase[:10],
                "context": sample.context[:30],
            },
        )
        reading = sample.kwh
        if (
            session is not None
            and session.ended_at is None
            and reading is not None
            and reading >= session.meter_kwh
        ):
            session.meter_kwh = reading
            session.energy_kwh = round(reading - session.meter_start_kwh, 4)
    signals.announce(
        db.session(),
        signals.meter_values_recorded,
        station_id=station.id,
        outlet_id=outlet.id,
        session_id=session.id if session else None,
    )


def _sample_key(sample: MeterSample) -> tuple[datetime, str, str, str, float]:
    return (
        sample.sampled_at,
        sample.measurand[:60],
        sample.phase[:10],
        sample.context[:30],
        sample.value,
    )


def _stored_samples(
    outlet: Outlet, samples: list[MeterSample]
) -> set[tuple[datetime, str, str, str, float]]:
    """Return the keys of the outlet's samples taken at these samples' times, those
    queued in this unit of work included (written first: bulk_rows).

    A repeat has the time of a stored sample, so samples all newer than the
    outlet's newest stored one (the usual case: a station reports in time order)
    need no look-up."""
    times = {sample.sampled_at for sample in samples}
    newest = outlet.newest_sample_at
    if not times or newest is None or min(times) > newest:
        return set()
    bulk_rows.write(db.session())
    with db.session.no_autoflush:
        rows = db.session.execute(
            _SAMPLES_AT, {"outlet_id": outlet.id, "times": list(times)}
        )
        return {tuple(row) for row in rows}  # type: ignore[misc]


def stop_session(
    station: Station,
    session_id: int,
    meter_stop_wh: float,
    ended_at: datetime,
    *,
    reason: str = "",
    tag_text: str | None = None,
    samples: list[MeterSample] | None = None,
) -> StopResult:
    """End a session: energy = meter stop - meter start. A repeated stop changes nothing.

    A session the portal does not know is logged (the station still gets its
    answer). The tag that stopped it, if any, is authorised for the answer.
    """
    authorization = authorize(station, tag_text) if tag_text else None
    session = find_session(station, session_id)
    if session is None:
        events.note_station_event(
            EventKind.STATUS,
            f"stop of unknown charging session {session_id}",
            station,
        )
        db.session.flush()
        return StopResult(None, authorization)
    if session.ended_at is not None:
        return StopResult(session, authorization)
    if samples:
        record_meter_values(station, session.outlet_number, samples, session.id)
    session.ended_at = ended_at
    session.meter_kwh = meter_stop_wh / 1000
    session.energy_kwh = round(max(0.0, session.meter_kwh - session.meter_start_kwh), 4)
    session.stop_reason = (reason or "")[:40]
    session.logged_at = utcnow()
    events.note_station_event(
        EventKind.STATUS,
        f"{session.outlet}: charging session {session.id} stopped, "
        f"{session.energy_kwh:.3f} kWh",
        station,
        node_name=str(session.outlet),
        details={"reason": reason, "tag": tag_text},
    )
    signals.announce(
        db.session(),
        signals.session_stopped,
        session_id=session.id,
        station_id=station.id,
        outlet_id=session.outlet_id,
        site_id=session.site_id,
        energy_kwh=session.energy_kwh,
    )
    return StopResult(session, authorization)


def running_sessions(station_ids: Collection[int]) -> list[ChargingSession]:
    """The sessions running at these stations, in one statement. Loaded into the
    unit of work, `find_session` then finds them without a statement of its own."""
    if not station_ids:
        return []
    return list(db.session.scalars(_RUNNING_AT, {"station_ids": list(station_ids)}))


def running_session(station: Station, outlet_number: int) -> ChargingSession | None:
    """Return the session currently running on an outlet, if any."""
    return db.session.scalars(
        select(ChargingSession)
        .where(
            ChargingSession.station_id == station.id,
            ChargingSession.outlet_number == outlet_number,
            ChargingSession.ended_at.is_(None),
        )
        .order_by(ChargingSession.started_at.desc())
    ).first()


def attach_tag(
    station: Station, session: ChargingSession, tag_text: str
) -> Authorization:
    """Give a session started without a tag the tag that came later, as a start
    with it would have (OCPP 2.0.1 may start a transaction when the cable is
    plugged in, before a tag is shown); return the tag's standing."""
    authorization = authorize(station, tag_text, session.outlet_number)
    tag = authorization.tag
    user = (
        tag.user
        if tag is not None and authorization.status is AuthorizationStatus.ACCEPTED
        else None
    )
    session.tag = tag_text[:20]
    if user is not None:
        session.user_id = user.id
        session.authentication = 1
    events.record_event(
        EventKind.STATUS,
        f"{session.outlet}: charging session {session.id} authorised later",
        station=station,
        node_name=str(session.outlet),
        details={
            "tag": tag_text,
            "authorization": authorization.status.value,
            **_policy_details(authorization),
        },
    )
    return authorization


def set_meter_start(session: ChargingSession, meter_start_wh: float) -> None:
    """Take a meter start that came after the session's start (the start carried
    no reading); the energy follows from it as at a stop."""
    session.meter_start_kwh = meter_start_wh / 1000
    session.meter_kwh = max(session.meter_kwh, session.meter_start_kwh)
    session.energy_kwh = round(max(0.0, session.meter_kwh - session.meter_start_kwh), 4)
