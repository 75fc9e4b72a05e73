"""The 10 CentralSystemService operations, called by a zeep station built from the
official WSDL against the live portal: what they answer and what they record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
import zeep
from lxml import etree
from sqlalchemy import select
from werkzeug.security import generate_password_hash
from zeep.wsdl import Document

from app.extensions import db
from app.models import (
    AccessRule,
    Alarm,
    AlarmKind,
    AlarmState,
    ChargingSession,
    ConnectPolicy,
    Direction,
    EventKind,
    EventLogEntry,
    MeterValue,
    OcppMessage,
    OutletStatus,
    Protocol,
    RegistrationState,
    RfidTag,
    Role,
    Site,
    Station,
    User,
)
from app.services import topology
from ocpp_server.v15 import central_system
from ocpp_server.v15.dispatch import handler_method_name
from ocpp_server.v15.operations import PortalCentralSystem
from ocpp_server.v15.wsdl import CS_NS, WSA_NS
from tests.ocpp_server.v15.conftest import (
    CS_BINDING,
    STATION_ID,
    StationClient,
    fresh,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TAG = "1001"


def _wsa(envelope: etree._Element, name: str) -> list[str | None]:
    return [e.text for e in envelope.iter(f"{{{WSA_NS}}}{name}")]


def _events(station: Station, kind: EventKind) -> list[str]:
    fresh()
    return list(
        db.session.scalars(
            select(EventLogEntry.message)
            .where(EventLogEntry.station_id == station.id, EventLogEntry.kind == kind)
            .order_by(EventLogEntry.id)
        )
    )


def _messages(chargebox_id: str) -> list[tuple[Direction, str]]:
    fresh()
    rows = db.session.scalars(
        select(OcppMessage)
        .where(OcppMessage.chargebox_id == chargebox_id)
        .order_by(OcppMessage.id)
    )
    return [(row.direction, row.action) for row in rows]


def _active_alarms(kind: AlarmKind) -> list[Alarm]:
    fresh()
    return list(
        db.session.scalars(
            select(Alarm).where(Alarm.kind == kind, Alarm.state == AlarmState.ACTIVE)
        )
    )


# ------------------------------------------------------------------ transport


def test_the_portal_handles_every_operation_of_the_wsdl() -> None:
    assert len(central_system.OPERATIONS) == 10
    for operation in central_system.OPERATIONS:
        assert callable(getattr(PortalCentralSystem, handler_method_name(operation)))


def test_every_reply_carries_action_and_relates_to(cp: StationClient) -> None:
    cp.call("Heartbeat")

    sent, received = cp.last_sent(), cp.last_received()
    assert _wsa(sent, "Action") == ["/Heartbeat"]  # exactly one: zeep adds WSA once
    (message_id,) = _wsa(sent, "MessageID")
    assert _wsa(received, "Action") == ["/HeartbeatResponse"]
    assert _wsa(received, "RelatesTo") == [message_id]
    body = received.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    assert body is not None and body[0].tag == f"{{{CS_NS}}}heartbeatResponse"


def test_requests_and_responses_are_in_the_message_log(cp: StationClient) -> None:
    cp.boot()
    cp.call("Heartbeat")

    fresh()
    rows = list(db.session.scalars(select(OcppMessage).order_by(OcppMessage.id)))
    assert [(r.direction, r.action) for r in rows] == [
        (Direction.IN, "BootNotification"),
        (Direction.OUT, "BootNotification"),
        (Direction.IN, "Heartbeat"),
        (Direction.OUT, "Heartbeat"),
    ]
    (message_id,) = _wsa(cp.last_sent(), "MessageID")
    assert rows[2].unique_id == rows[3].unique_id == message_id
    assert all(r.station_id is not None for r in rows)
    assert "chargePointVendor>ACME<" in rows[0].payload
    assert "heartbeatResponse" in rows[3].payload


# ------------------------------------------------------------------ boot, identity


def test_boot_notification_of_a_known_station(
    cp: StationClient, station: Station
) -> None:
    result = cp.boot(
        chargePointVendor="V" * 20,  # exactly at the WSDL's limit
        chargePointModel="Model-X",
        chargePointSerialNumber="SN-42",
        firmwareVersion="1.2.3",
    )

    assert result.status == "Accepted"
    assert result.heartbeatInterval == 300
    assert abs(result.currentTime - datetime.now(UTC)) < timedelta(seconds=5)
    fresh()
    assert (station.vendor, station.model, station.serial_number) == (
        "V" * 20,
        "Model-X",
        "SN-42",
    )
    assert station.firmware_version == "1.2.3"
    assert station.online and station.endpoint_address == cp.callback
    assert _events(station, EventKind.BOOT) == [
        f"boot: {'V' * 20} Model-X, firmware 1.2.3"
    ]


def test_unknown_identity_is_rejected_with_a_not_registered_alarm(
    make_station_client: Callable[..., StationClient],
) -> None:
    stranger = make_station_client("CB-UNKNOWN")

    assert stranger.boot().status == "Rejected"

    (alarm,) = _active_alarms(AlarmKind.NOT_REGISTERED)
    assert alarm.node_name == "CB-UNKNOWN"
    assert db.session.scalars(select(Station)).all() == []
    assert _messages("CB-UNKNOWN") == [
        (Direction.IN, "BootNotification"),
        (Direction.OUT, "BootNotification"),
    ]


def test_unknown_identity_gets_a_security_fault_for_other_operations(
    make_station_client: Callable[..., StationClient],
) -> None:
    stranger = make_station_client("CB-UNKNOWN")

    with pytest.raises(zeep.exceptions.Fault) as info:
        stranger.call("Heartbeat")

    assert [q.localname for q in info.value.subcodes] == ["SecurityError"]
    assert "CB-UNKNOWN" in info.value.message
    assert len(_active_alarms(AlarmKind.NOT_REGISTERED)) == 1


def test_pending_policy_keeps_an_unknown_station_for_adoption(
    app: object, make_station_client: Callable[..., StationClient]
) -> None:
    topology.get_settings().connect_policy = ConnectPolicy.PENDING
    db.session.commit()
    newcomer = make_station_client("CB-NEW")

    # OCPP 1.5 has no Pending: the station is told Rejected and boots again later
    assert newcomer.boot(chargePointModel="Newbie").status == "Rejected"

    fresh()
    (station,) = db.session.scalars(select(Station)).all()
    assert station.chargebox_id == "CB-NEW"
    assert station.registration is RegistrationState.PENDING
    assert station.protocol is Protocol.OCPP15_SOAP
    assert station.model == "Newbie"
    with pytest.raises(zeep.exceptions.Fault):
        newcomer.call("Heartbeat")


def test_auto_register_policy_accepts_an_unknown_station(
    app: object, make_station_client: Callable[..., StationClient]
) -> None:
    topology.get_settings().connect_policy = ConnectPolicy.AUTO_REGISTER
    db.session.commit()
    newcomer = make_station_client("CB-AUTO")

    assert newcomer.boot().status == "Accepted"

    fresh()
    (station,) = db.session.scalars(select(Station)).all()
    assert station.protocol is Protocol.OCPP15_SOAP
    assert station.endpoint_address == newcomer.callback


# ------------------------------------------------------------------ the other nine


def test_heartbeat(cp: StationClient, station: Station) -> None:
    current_time = cp.call("Heartbeat")

    assert abs(current_time - datetime.now(UTC)) < timedelta(seconds=5)
    fresh()
    assert station.online and station.last_seen_at is not None


def test_status_notification_sets_the_outlet_status(
    cp: StationClient, station: Station
) -> None:
    assert (
        cp.call(
            "StatusNotification", connectorId=2, status="Occupied", errorCode="NoError"
        )
        is None
    )

    fresh()
    outlet = station.outlets[1]
    assert (outlet.number, outlet.status, outlet.error_code) == (
        2,
        OutletStatus.CHARGING,
        "",
    )


def test_status_notification_fault_raises_and_resolves_an_alarm(
    cp: StationClient, station: Station
) -> None:
    cp.call(
        "StatusNotification",
        connectorId=1,
        status="Faulted",
        errorCode="GroundFailure",
        info="RCD tripped",
        timestamp=T0,
        vendorId="ACME",
        vendorErrorCode="E42",
    )

    (alarm,) = _active_alarms(AlarmKind.GROUND_FAILURE)
    assert "RCD tripped" in alarm.description and "E42" in alarm.description
    assert station.outlets[0].status is OutletStatus.FAULTED
    assert station.outlets[0].error_code == "GroundFailure"

    cp.call(
        "StatusNotification",
        connectorId=1,
        status="Available",
        errorCode="NoError",
        timestamp=T0 + timedelta(minutes=1),
    )
    assert _active_alarms(AlarmKind.GROUND_FAILURE) == []
    assert station.outlets[0].status is OutletStatus.AVAILABLE


def test_data_transfer_is_logged(cp: StationClient, station: Station) -> None:
    result = cp.call("DataTransfer", vendorId="ACME", messageId="hello", data="abc")

    assert (result.status, result.data) == ("UnknownVendorId", None)
    assert _events(station, EventKind.DATA_TRANSFER) == [
        "data transfer from vendor ACME"
    ]


def test_firmware_status_notification(cp: StationClient, station: Station) -> None:
    assert cp.call("FirmwareStatusNotification", status="Installed") is None

    fresh()
    assert station.firmware_status == "Installed"
    assert _events(station, EventKind.FIRMWARE) == ["firmware: Installed"]


def test_diagnostics_status_notification(cp: StationClient, station: Station) -> None:
    assert cp.call("DiagnosticsStatusNotification", status="UploadFailed") is None

    fresh()
    assert station.diagnostics_status == "UploadFailed"


# ------------------------------------------------------------------ charging


def test_full_charging_cycle(
    cp: StationClient,
    station: Station,
    create_user: Callable[..., User],
) -> None:
    user = create_user(Role.EV_USER, "driver@example.com", tag=TAG)

    assert cp.boot().status == "Accepted"
    cp.call(
        "StatusNotification", connectorId=1, status="Available", errorCode="NoError"
    )
    assert cp.call("Authorize", idTag=TAG).status == "Accepted"
    started = cp.call(
        "StartTransaction", connectorId=1, idTag=TAG, timestamp=T0, meterStart=1000
    )
    assert started.idTagInfo.status == "Accepted"
    cp.call("StatusNotification", connectorId=1, status="Occupied", errorCode="NoError")
    cp.call(
        "MeterValues",
        connectorId=1,
        transactionId=started.transactionId,
        values=[
            {
                "timestamp": T0 + timedelta(minutes=30),
                "value": [
                    {"_value_1": "4200"},  # unit Wh, energy register: the defaults
                    {"_value_1": "16.0", "unit": "Amp", "measurand": "Current.Import"},
                ],
            }
        ],
    )
    fresh()
    running = db.session.get(ChargingSession, started.transactionId)
    assert running is not None and running.energy_kwh == pytest.approx(3.2)

    stopped = cp.call(
        "StopTransaction",
        transactionId=started.transactionId,
        idTag=TAG,
        timestamp=T0 + timedelta(hours=1),
        meterStop=8300,
        transactionData=[
            {
                "values": [
                    {
                        "timestamp": T0 + timedelta(hours=1),
                        "value": [{"_value_1": "8300", "context": "Transaction.End"}],
                    }
                ]
            }
        ],
    )
    assert stopped.status == "Accepted"  # idTagInfo of the tag that stopped it

    fresh()
    (session,) = db.session.scalars(select(ChargingSession)).all()
    assert session.id == started.transactionId
    assert session.station_id == station.id and session.site_id == station.site_id
    assert session.outlet_number == 1
    assert (session.started_at, session.ended_at) == (T0, T0 + timedelta(hours=1))
    assert session.meter_start_kwh == 1.0 and session.meter_kwh == 8.3
    assert session.energy_kwh == pytest.approx((8300 - 1000) / 1000)
    assert session.authentication == 1 and session.tag == TAG
    assert session.user is not None and session.user.email == user.email
    assert [
        (v.measurand, v.value, v.unit, v.context) for v in session.meter_values
    ] == [
        ("Energy.Active.Import.Register", 4200.0, "Wh", "Sample.Periodic"),
        ("Current.Import", 16.0, "Amp", "Sample.Periodic"),
        ("Energy.Active.Import.Register", 8300.0, "Wh", "Transaction.End"),
    ]
    assert station.outlets[0].status is OutletStatus.CHARGING
    assert [m for m in _messages(station.chargebox_id) if m[0] is Direction.IN] == [
        (Direction.IN, action)
        for action in (
            "BootNotification",
            "StatusNotification",
            "Authorize",
            "StartTransaction",
            "StatusNotification",
            "MeterValues",
            "StopTransaction",
        )
    ]


@pytest.mark.parametrize(
    ("tag_state", "expected"),
    [
        ("unknown", "Invalid"),
        ("blocked", "Blocked"),
        ("expired", "Expired"),
        ("valid", "Accepted"),
    ],
)
def test_rfid_outlet_checks_the_tag(
    cp: StationClient,
    create_user: Callable[..., User],
    tag_state: str,
    expected: str,
) -> None:
    if tag_state != "unknown":
        create_user(Role.EV_USER, tag=TAG)
        tag = db.session.scalars(select(RfidTag).where(RfidTag.tag == TAG)).one()
        tag.blocked = tag_state == "blocked"
        if tag_state == "expired":
            tag.expires_at = datetime.now(UTC) - timedelta(days=1)
        db.session.commit()

    assert cp.call("Authorize", idTag=TAG).status == expected
    started = cp.call(
        "StartTransaction", connectorId=1, idTag=TAG, timestamp=T0, meterStart=0
    )

    assert started.idTagInfo.status == expected
    fresh()
    session = db.session.get(ChargingSession, started.transactionId)
    assert session is not None  # recorded even when refused: the station started
    assert session.authentication == (1 if expected == "Accepted" else 0)


def test_open_outlet_accepts_an_unknown_tag_anonymously(
    site: Site,
    create_station: Callable[..., Station],
    make_station_client: Callable[..., StationClient],
) -> None:
    create_station(
        site,
        "CB-OPEN",
        outlets=1,
        access=AccessRule.OPEN,
        protocol=Protocol.OCPP15_SOAP,
    )
    cp = make_station_client("CB-OPEN")

    assert cp.call("Authorize", idTag="999").status == "Accepted"
    started = cp.call(
        "StartTransaction", connectorId=1, idTag="999", timestamp=T0, meterStart=500
    )
    cp.call(
        "StopTransaction",
        transactionId=started.transactionId,
        timestamp=T0 + timedelta(minutes=10),
        meterStop=2500,
    )

    assert started.idTagInfo.status == "Accepted"
    fresh()
    session = db.session.get(ChargingSession, started.transactionId)
    assert session is not None
    assert (session.authentication, session.user_id) == (0, None)
    assert session.energy_kwh == pytest.approx(2.0)


def test_meter_values_skip_what_is_not_a_number(
    cp: StationClient, station: Station
) -> None:
    cp.call(
        "MeterValues",
        connectorId=2,
        values=[
            {
                "timestamp": T0,
                "value": [
                    {"_value_1": "signed:abc", "format": "SignedData"},
                    {"_value_1": "1.5", "unit": "kWh"},
                ],
            }
        ],
    )

    fresh()
    assert [(v.value, v.unit) for v in db.session.scalars(select(MeterValue))] == [
        (1.5, "kWh")
    ]


def test_stop_of_an_unknown_transaction_is_answered(
    cp: StationClient, station: Station
) -> None:
    assert (
        cp.call("StopTransaction", transactionId=4242, timestamp=T0, meterStop=10)
        is None
    )
    assert "stop of unknown charging session 4242" in _events(station, EventKind.STATUS)


def test_a_station_with_a_password_must_send_it(
    cs_wsdl: Document,
    endpoint: str,
    station: Station,
    make_station_client: Callable[..., StationClient],
) -> None:
    password = "a-long-station-secret"
    station.auth_password_hash = generate_password_hash(password)
    db.session.commit()
    session = requests.Session()
    session.auth = (STATION_ID, password)
    with_password = zeep.Client(
        cs_wsdl, transport=zeep.Transport(session=session)
    ).create_service(CS_BINDING, endpoint)

    assert make_station_client(STATION_ID).boot().status == "Rejected"
    result = with_password.BootNotification(
        chargePointVendor="ACME",
        chargePointModel="M",
        _soapheaders={"ChargeBoxIdentity": STATION_ID},
    )
    session.close()

    assert result.status == "Accepted"
    assert _events(station, EventKind.REJECTED) == [
        "connection refused: wrong or missing password"
    ]
