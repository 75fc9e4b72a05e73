"""app/services/{settings,integrations,dashboard,station_control}.py (issue 4)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AccessRule,
    AuditEntry,
    ChargingSession,
    ConnectPolicy,
    ExternalService,
    Role,
    utcnow,
)
from app.services import (
    dashboard,
    firmware,
    integrations,
    settings,
    station_control,
)
from app.services.errors import Conflict, InvalidInput, PermissionDenied


def test_server_addresses_follow_the_requests_scheme_and_host():
    plain = settings.server_addresses("http", "portal.local:5000")
    assert plain.ocpp16 == "ws://portal.local:5000/Ocpp/websocket/<chargebox id>"
    assert plain.ocpp15 == "http://portal.local:5000/Ocpp/CentralSystemService15"
    secure = settings.server_addresses("https", "portal.example.com")
    assert secure.ocpp16.startswith("wss://portal.example.com/")
    assert secure.ocpp15.startswith("https://portal.example.com/")


def _policies(**changes):
    values = {
        "connect_policy": ConnectPolicy.PENDING,
        "offline_threshold": 600,
        "default_heartbeat_interval": 120,
        "default_access": AccessRule.OPEN,
        "alarm_digest_time": time(6, 30),
        "backup_retention": 30,
    }
    return settings.Policies(**{**values, **changes})


@pytest.mark.parametrize(
    "bad",
    [
        {"offline_threshold": 59},
        {"default_heartbeat_interval": 5},
        {"backup_retention": 0},
    ],
)
def test_policies_out_of_range_are_refused(app, create_user, bad):
    with pytest.raises(InvalidInput):
        settings.update_policies(create_user(Role.ADMIN), _policies(**bad))


def test_only_administrators_change_system_settings(app, create_user, create_site):
    site_admin = create_user(Role.SITE_ADMIN, sites=[create_site()])
    for user in (create_user(Role.SUPPORT), site_admin):
        with pytest.raises(PermissionDenied):
            settings.update_policies(user, _policies())
    with pytest.raises(PermissionDenied):
        settings.read_settings(site_admin)
    changed = settings.update_policies(create_user(Role.ADMIN), _policies())
    assert changed.default_access is AccessRule.OPEN


def test_services_belong_to_administrators_and_keep_their_secret(app, create_user):
    from app.services import api_access

    admin = create_user(Role.ADMIN)
    with pytest.raises(PermissionDenied):
        integrations.create_service(
            create_user(Role.SUPPORT), integrations.ServiceInput("MapCo")
        )
    service = integrations.create_service(
        admin, integrations.ServiceInput("MapCo", url="https://m.example")
    )
    secret = api_access.rotate_service_secret(admin, service).secret
    with pytest.raises(Conflict):
        integrations.create_service(admin, integrations.ServiceInput("mapco"))
    with pytest.raises(InvalidInput):
        integrations.update_service(
            admin, service, integrations.ServiceInput("MapCo", url="ftp://x")
        )
    integrations.update_service(admin, service, integrations.ServiceInput("MapCo 2"))
    assert service.secret_hash == api_access.hash_token(secret)
    assert integrations.masked(service) == secret[:8] + "…" + integrations.MASK
    with pytest.raises(PermissionDenied):
        api_access.rotate_service_secret(create_user(Role.SUPPORT), service)
    audit = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "ExternalService")
    ).all()
    assert all(secret not in str(entry.changes) for entry in audit)


def test_an_id_at_a_service_belongs_to_one_outlet(
    app, create_site, create_station, create_user
):
    station = create_station(create_site(), outlets=2)
    service = ExternalService(provider="PayCo", active=True)
    db.session.add(service)
    db.session.commit()
    support = create_user(Role.SUPPORT)
    integrations.set_outlet_service_ids(
        support, station.outlets[0], {service.id: "P-1"}
    )
    with pytest.raises(Conflict):
        integrations.set_outlet_service_ids(
            support, station.outlets[1], {service.id: "P-1"}
        )


def test_dashboard_panels_default_and_choice(app, create_user):
    user = create_user(Role.SUPPORT)
    assert dashboard.panels_of(user) == list(dashboard.DEFAULT_PANELS)
    dashboard.set_panels(user, ["news", "news", "charging", "energy"])
    assert [w.value for w in dashboard.panels_of(user)] == [
        "news",
        "news",
        "charging",
        "energy",
    ]
    with pytest.raises(InvalidInput):
        dashboard.set_panels(user, ["news"])
    with pytest.raises(InvalidInput):
        dashboard.set_panels(user, ["news", "news", "news", "weather"])


def test_energy_today_and_this_month_are_summed_in_sql(
    app, create_site, create_station, create_user
):
    from datetime import UTC

    station = create_station(create_site())
    now = utcnow()
    for started, energy in (
        (now - timedelta(minutes=1), 2.5),
        (now - timedelta(days=40), 100),
    ):
        db.session.add(
            ChargingSession(
                site_id=station.site_id,
                station_id=station.id,
                outlet_id=station.outlets[0].id,
                outlet_number=1,
                started_at=started,
                energy_kwh=energy,
            )
        )
    db.session.commit()
    totals = dashboard.energy_totals(create_user(Role.ADMIN), UTC)
    assert (totals.today_kwh, totals.today_sessions) == (2.5, 1)
    assert totals.month_kwh == 2.5
    running = dashboard.charging_now(create_user(Role.SUPPORT))
    assert [r.chargebox_id for r in running] == ["000003586"]
    chart = dashboard.sessions_per_day(create_user(Role.ADMIN), UTC)
    assert len(chart.labels) == 14 and chart.series[0].values[-1] == 1


def test_firmware_images_are_found_only_by_their_token(app, create_user):
    image = firmware.add(create_user(Role.ADMIN), "../../evil fw.bin", b"x")
    assert image.name == "evil_fw.bin"
    assert firmware.served_file(image.token, image.name) is not None
    assert firmware.served_file("short", image.name) is None
    assert firmware.served_file(image.token, "../secret_key") is None
    with pytest.raises(PermissionDenied):
        firmware.add(create_user(Role.SUPPORT), "fw.bin", b"x")


def test_diagnostics_go_to_the_ftp_address_by_default(app, create_user):
    from app.services.topology import get_settings

    get_settings().ftp_address = "ftp://ftp.example.com/diag"
    assert (
        station_control.default_diagnostics_location() == "ftp://ftp.example.com/diag"
    )
