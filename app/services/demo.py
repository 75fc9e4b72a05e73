"""A demo installation shaped like the spec: site Solna, two floors, ten stations."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccessRule,
    Alarm,
    AlarmKind,
    ChargingSession,
    NewsItem,
    OutletStatus,
    Protocol,
    Role,
    Site,
    utcnow,
)
from app.services import accounts, topology

DEMO_PASSWORD = "demo1234"  # noqa: S105 (printed by `demo load`, demo only)
_STATION_IDS = [
    "000003586",
    "000003587",
    "000003590",
    "000003601",
    "000003602",
    "000004082",
    "000004083",
    "000004090",
    "000004112",
    "000004113",
]


def is_empty() -> bool:
    """Tell whether the installation has no sites yet."""
    return not db.session.scalar(select(func.count(Site.id)))


def _user(
    email: str,
    first: str,
    last: str,
    role: Role,
    *,
    site_ids: tuple[int, ...] = (),
    email_at_alarm: bool = False,
    tag: str | None = None,
) -> accounts.UserInput:
    return accounts.UserInput(
        email=email,
        password=DEMO_PASSWORD,
        first_name=first,
        last_name=last,
        role=role,
        site_ids=site_ids,
        email_at_alarm=email_at_alarm,
        tag=tag,
    )


def load_demo(weeks: int = 6, seed: int = 4082) -> dict[str, int]:
    """Create the demo sites, stations, users, sessions and alarms; return counts."""
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data)
    solna = topology.create_site(
        None,
        "Solna",
        street="Centralvägen 1",
        postcode="171 45",
        city="Solna",
        country="Sweden",
        latitude=59.3600,
        longitude=18.0000,
    )
    kista = topology.create_site(
        None,
        "Kista",
        street="Kistagången 12",
        postcode="164 40",
        city="Kista",
        country="Sweden",
        latitude=59.4030,
        longitude=17.9440,
    )
    floors = [
        topology.create_floor(None, solna, "Central 1"),
        topology.create_floor(None, solna, "Central 2"),
    ]
    stations = []
    index_open: dict[int, bool] = {}  # open stations also have anonymous sessions
    for index, chargebox_id in enumerate(_STATION_IDS):
        on_kista = index >= 8
        data = topology.StationInput(
            chargebox_id=chargebox_id,
            name=f"{'Kista' if on_kista else 'Solna'} {index + 1:02d}",
            protocol=Protocol.OCPP15_SOAP if index % 5 == 4 else Protocol.OCPP16_JSON,
            outlets=2 if index % 3 else 1,
            access=AccessRule.OPEN if index % 4 == 3 else None,
        )
        station = topology.create_station(
            None,
            data,
            site=kista if on_kista else solna,
            floor=None if on_kista else floors[index % 2],
        )
        for outlet in station.outlets:
            outlet.status = OutletStatus.AVAILABLE
        stations.append(station)
        index_open[station.id] = data.access is AccessRule.OPEN

    accounts.create_user(
        None,
        _user(
            "site.solna@example.com",
            "Sara",
            "Lind",
            Role.SITE_ADMIN,
            site_ids=(solna.id,),
            email_at_alarm=True,
        ),
    )
    accounts.create_user(
        None,
        _user(
            "site.kista@example.com",
            "Karl",
            "Berg",
            Role.SITE_ADMIN,
            site_ids=(kista.id,),
        ),
    )
    accounts.create_user(None, _user("support@example.com", "Sam", "Ek", Role.SUPPORT))
    drivers = [
        accounts.create_user(
            None,
            _user(
                f"driver{n}@example.com",
                first,
                last,
                Role.EV_USER,
                tag=str(1000000 + n),
            ),
        )
        for n, (first, last) in enumerate(
            [("Anna", "Holm"), ("Erik", "Sjö"), ("Maja", "Strand"), ("Olle", "Dahl")],
            start=1,
        )
    ]
    db.session.flush()

    now = utcnow().replace(microsecond=0)
    sessions = 0
    meters = {
        outlet.id: rng.uniform(1000, 5000) for st in stations for outlet in st.outlets
    }
    for day in range(weeks * 7, 0, -1):
        for station in stations:
            for outlet in station.outlets:
                for _ in range(rng.randint(0, 3)):
                    start = now - timedelta(
                        days=day, hours=rng.randint(0, 20), minutes=rng.randint(0, 59)
                    )
                    duration = timedelta(minutes=rng.randint(20, 420))
                    energy = round(
                        duration.total_seconds() / 3600 * rng.uniform(2.0, 11.0), 3
                    )
                    driver = (
                        rng.choice([*drivers, None])
                        if index_open[station.id]
                        else rng.choice(drivers)
                    )
                    meter_start = meters[outlet.id]
                    meters[outlet.id] += energy
                    db.session.add(
                        ChargingSession(
                            site_id=station.site_id,
                            station_id=station.id,
                            outlet_id=outlet.id,
                            outlet_number=outlet.number,
                            started_at=start,
                            ended_at=start + duration,
                            logged_at=start + duration + timedelta(seconds=2),
                            authentication=1 if driver else 0,
                            tag=driver.tags[0].tag if driver else None,
                            user_id=driver.id if driver else None,
                            meter_start_kwh=round(meter_start, 3),
                            meter_kwh=round(meters[outlet.id], 3),
                            energy_kwh=energy,
                            stop_reason="EVDisconnected",
                        )
                    )
                    sessions += 1

    alarm_station = stations[5]
    outlet = alarm_station.outlets[0]
    db.session.add_all(
        [
            Alarm(
                kind=AlarmKind.CONNECTOR_LOCK_FAILURE,
                subject=f"outlet:{outlet.id}",
                node_name=str(outlet),
                site_id=alarm_station.site_id,
                station_id=alarm_station.id,
                outlet_id=outlet.id,
                description="Connector lock failure",
                raised_at=now - timedelta(hours=5),
            ),
            Alarm(
                kind=AlarmKind.NO_NETWORK,
                subject=f"station:{stations[9].id}",
                node_name=stations[9].chargebox_id,
                site_id=stations[9].site_id,
                station_id=stations[9].id,
                description="No heartbeat for 15 minutes",
                raised_at=now - timedelta(hours=2),
            ),
        ]
    )
    db.session.add(
        NewsItem(
            title="Welcome to Charge Portal",
            body="The demo installation: site Solna with two floors, and Kista.",
        )
    )
    db.session.flush()
    return {
        "sites": 2,
        "floors": 2,
        "stations": len(stations),
        "users": 3 + len(drivers),
        "charging sessions": sessions,
        "alarms": 2,
    }
