"""The installation: system settings, sites, floors, stations, outlets and their keys."""

from __future__ import annotations

import enum
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UUIDString, new_uuid, text_enum, utcnow
from app.models.policies import AccessRule
from app.models.users import TagNotation


class Protocol(enum.StrEnum):
    OCPP15_SOAP = "OCPP15_SOAP"
    OCPP16_JSON = "OCPP16_JSON"
    OCPP201_JSON = "OCPP201_JSON"

    @property
    def websocket(self) -> bool:
        """Spoken over the station's own WebSocket (OCPP-J: 1.6 and 2.0.1)."""
        return self is not Protocol.OCPP15_SOAP

    @property
    def smart_charging(self) -> bool:
        """Carries charging profiles (OCPP 1.6 and 2.0.1 smart charging; not 1.5)."""
        return self is not Protocol.OCPP15_SOAP


class Availability(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class ConnectPolicy(enum.StrEnum):
    """Who may connect over OCPP (spec §8 Policies)."""

    KNOWN_ONLY = "known_only"
    PENDING = "pending"
    AUTO_REGISTER = "auto_register"


class RegistrationState(enum.StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"


class OutletStatus(enum.StrEnum):
    """Outlet state in the spec's words; each protocol maps its own names here."""

    AVAILABLE = "available"
    PREPARING = "preparing"
    CHARGING = "charging"
    SUSPENDED = "suspended"
    FINISHING = "finishing"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"
    UNKNOWN = "unknown"


class SystemSettings(Base):
    """The single row of system-wide configuration (spec §8 System level)."""

    __tablename__ = "system_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_name: Mapped[str] = mapped_column(String(120), default="Charge Portal")
    description: Mapped[str] = mapped_column(Text, default="")
    ftp_address: Mapped[str] = mapped_column(String(255), default="")
    connect_policy: Mapped[ConnectPolicy] = mapped_column(
        text_enum(ConnectPolicy), default=ConnectPolicy.KNOWN_ONLY
    )
    default_heartbeat_interval: Mapped[int] = mapped_column(Integer, default=300)
    # Who may charge where no site, floor, station or outlet says (OPEN or KNOWN).
    default_access: Mapped[AccessRule] = mapped_column(
        text_enum(AccessRule), default=AccessRule.KNOWN, server_default="KNOWN"
    )
    offline_threshold: Mapped[int] = mapped_column(Integer, default=900)
    alarm_digest_time: Mapped[time] = mapped_column(Time, default=time(7, 0))
    backup_retention: Mapped[int] = mapped_column(Integer, default=14)
    # When the daily backup is made (spec §10), the portal's local time.
    backup_time: Mapped[time] = mapped_column(
        Time, default=time(2, 30), server_default="02:30:00"
    )
    # How the readers send a card's UID, unless a site or station says otherwise.
    tag_notation: Mapped[TagNotation] = mapped_column(
        text_enum(TagNotation), default=TagNotation.EXACT, server_default="exact"
    )

    def __str__(self) -> str:
        return "System settings"


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    street: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(80), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: as the system says (tags.notation_of).
    tag_notation: Mapped[TagNotation | None] = mapped_column(text_enum(TagNotation))

    floors: Mapped[list[Floor]] = relationship(
        back_populates="site", order_by="Floor.name"
    )
    stations: Mapped[list[Station]] = relationship(
        back_populates="site", order_by="Station.name"
    )

    def __str__(self) -> str:
        return self.name


class Floor(Base):
    __tablename__ = "floor"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # File name of the floor map under the instance folder; None until one is uploaded.
    map_file: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship(back_populates="floors")
    stations: Mapped[list[Station]] = relationship(
        back_populates="floor", order_by="Station.name"
    )

    def __str__(self) -> str:
        return f"{self.site.name} / {self.name}" if self.site else self.name


class Station(Base):
    __tablename__ = "station"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    # The identity the station presents (OCPP chargeBoxIdentity); links it to this row.
    chargebox_id: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    protocol: Mapped[Protocol] = mapped_column(
        text_enum(Protocol), default=Protocol.OCPP16_JSON
    )
    # None only for a station that connected unknown and awaits adoption (Pending).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    floor_id: Mapped[int | None] = mapped_column(ForeignKey("floor.id"), index=True)
    heartbeat_interval: Mapped[int] = mapped_column(Integer, default=300)
    availability: Mapped[Availability] = mapped_column(
        text_enum(Availability), default=Availability.PUBLIC
    )
    registration: Mapped[RegistrationState] = mapped_column(
        text_enum(RegistrationState), default=RegistrationState.ACCEPTED
    )
    # Security profile 1 (HTTP Basic); a hash, never the password.
    auth_password_hash: Mapped[str | None] = mapped_column(String(255))
    # OCPP 1.5: where the station listens for commands (wsa:From of its requests).
    endpoint_address: Mapped[str | None] = mapped_column(String(255))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_at: Mapped[datetime | None]
    vendor: Mapped[str] = mapped_column(String(50), default="")
    model: Mapped[str] = mapped_column(String(50), default="")
    serial_number: Mapped[str] = mapped_column(String(50), default="")
    firmware_version: Mapped[str] = mapped_column(String(50), default="")
    firmware_status: Mapped[str] = mapped_column(String(40), default="")
    diagnostics_status: Mapped[str] = mapped_column(String(40), default="")
    # The address, used when the station is on no floor (spec §8 Station level).
    street: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(80), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: as the site (then the system) says (tags.notation_of).
    tag_notation: Mapped[TagNotation | None] = mapped_column(text_enum(TagNotation))

    site: Mapped[Site | None] = relationship(back_populates="stations")
    floor: Mapped[Floor | None] = relationship(back_populates="stations")
    outlets: Mapped[list[Outlet]] = relationship(
        back_populates="station", order_by="Outlet.number"
    )
    config_keys: Mapped[list[StationConfigKey]] = relationship(
        cascade="all, delete-orphan", order_by="StationConfigKey.key"
    )
    position: Mapped[FloorPosition | None] = relationship(cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"{self.name} ({self.chargebox_id})"


class Outlet(Base):
    """A connector of a station, numbered 1-4 as the station numbers it."""

    __tablename__ = "outlet"
    __table_args__ = (
        UniqueConstraint("station_id", "number"),
        CheckConstraint("number BETWEEN 1 AND 4", name="number_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(UUIDString, unique=True, default=new_uuid)
    station_id: Mapped[int] = mapped_column(ForeignKey("station.id"), index=True)
    number: Mapped[int]
    connector_type: Mapped[str] = mapped_column(String(40), default="Type 2")
    parking: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[OutletStatus] = mapped_column(
        text_enum(OutletStatus), default=OutletStatus.UNKNOWN
    )
    error_code: Mapped[str] = mapped_column(String(40), default="")
    status_at: Mapped[datetime | None]
    #: The newest time of a meter sample stored for the outlet (None: none stored).
    #: A MeterValues whose samples are all newer cannot repeat a stored one, so it
    #: skips the look-up for repeats (charging.record_meter_values).
    newest_sample_at: Mapped[datetime | None]

    station: Mapped[Station] = relationship(back_populates="outlets")

    def __str__(self) -> str:
        return f"{self.station.chargebox_id} Connector: {self.number}"


#: a 1.6 key is at most 50 characters; a 2.0.1 component/variable name is longer
KEY_LENGTH = 200


class StationConfigKey(Base):
    """One configuration key as the station last reported it (OCPP 1.6
    GetConfiguration), or one device model variable of an OCPP 2.0.1 station
    (NotifyReport), named as ocpp_server/v201/translate.py writes it."""

    __tablename__ = "station_config_key"
    __table_args__ = (UniqueConstraint("station_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    value: Mapped[str | None] = mapped_column(String(500))
    readonly: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class FloorPosition(Base):
    """Where a station sits on its floor map, as fractions (0-1) of width and height."""

    __tablename__ = "floor_position"
    __table_args__ = (
        CheckConstraint("x BETWEEN 0 AND 1 AND y BETWEEN 0 AND 1", name="inside_map"),
    )

    station_id: Mapped[int] = mapped_column(
        ForeignKey("station.id", ondelete="CASCADE"), primary_key=True
    )
    floor_id: Mapped[int] = mapped_column(ForeignKey("floor.id", ondelete="CASCADE"))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
