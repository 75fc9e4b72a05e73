"""Acceptance (issue 8): signed webhooks reach a real local receiver in order, and a
receiver that was down gets them once it is back (retries with backoff)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DeliveryState, WebhookDelivery, WebhookEvent
from app.services import webhooks
from tests.ocpp_server.v16.conftest import eventually


@pytest.fixture
def hooked(make_service, admin, station_record, receiver):
    """HookCo posts to the receiver and knows outlet 1 as "H-1"."""
    from app.services import integrations

    made = make_service("HookCo", url=receiver.url)
    integrations.set_outlet_service_ids(
        admin, station_record.outlets[0], {made.id: "H-1"}
    )
    db.session.commit()
    return made


def test_a_receiver_gets_signed_events_in_order(
    api, hooked, station, station_record, receiver
):
    outlet = station_record.outlets[0]
    session_id = api.post(f"/outlets/{outlet.uuid}/start", hooked).json()["id"]
    station.meter_values(session_id, 1800)
    api.post(f"/sessions/{session_id}/stop", hooked)
    station.status(1, "Available")
    station.status(2, "Faulted")  # an outlet HookCo has no id for: not sent
    events = receiver.wait_for(6)
    assert receiver.kinds() == [
        "outlet.status_changed",  # Available, as the station connected
        "outlet.status_changed",  # Charging, before the station's StartTransaction
        "session.started",
        "session.meter_update",
        "session.stopped",
        "outlet.status_changed",  # Available again
    ]
    assert [e["data"].get("status") for e in events if "status" in e["data"]] == [
        "available",
        "charging",
        "available",
    ]
    kinds = receiver.kinds()
    sequences = [event["sequence"] for event in events]
    assert sequences == sorted(sequences)
    for header, body in receiver.signatures:
        assert webhooks.verify(hooked.signing_secret, header, body)
        assert not webhooks.verify("whsec_wrong", header, body)
    started = events[kinds.index("session.started")]["data"]
    assert started["session"]["id"] == session_id
    assert started["outlet"] == {"uuid": outlet.uuid, "number": 1, "id": "H-1"}
    assert started["started_by_you"] is True
    stopped = events[kinds.index("session.stopped")]["data"]
    assert stopped["session"]["energy_kwh"] == pytest.approx(2.5)
    assert all(event["data"]["outlet"]["id"] == "H-1" for event in events)


def test_a_receiver_that_was_down_gets_the_events_when_it_is_back(
    api, hooked, station, station_record, receiver
):
    connected = list(receiver.wait_for(1))  # Available, as the station connected
    receiver.up = False
    station.status(1, "Preparing")
    station.status(1, "Available")
    eventually(lambda: receiver.refused >= 2, timeout=10)
    assert receiver.events == connected
    receiver.up = True
    events = receiver.wait_for(3)
    assert [e["data"]["status"] for e in events] == [
        "available",
        "preparing",
        "available",
    ]
    log = eventually(
        lambda: db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id)
        ).all()
    )
    assert [row.status_code for row in log][:3] == [204, 503, 503]
    assert log[-1].status_code == 204
    assert eventually(
        lambda: all(
            e.state is DeliveryState.DELIVERED
            for e in db.session.scalars(select(WebhookEvent))
        )
    )


def test_an_event_is_marked_failed_after_the_last_attempt(
    app, api, hooked, station, receiver
):
    app.config["API_WEBHOOK_MAX_ATTEMPTS"] = 2
    receiver.up = False
    station.status(1, "Preparing")
    event = eventually(
        lambda: db.session.scalars(
            select(WebhookEvent).where(WebhookEvent.state == DeliveryState.FAILED)
        ).first(),
        timeout=10,
    )
    assert event is not None and event.attempts == 2
    assert event.last_status_code == 503


def test_a_service_without_a_url_gets_no_events(api, service, station, receiver):
    station.status(1, "Preparing")
    from app.services import background

    background.wait_idle()
    assert db.session.scalars(select(WebhookEvent)).all() == []


def test_the_job_delivers_what_is_due(app, hooked, station_record, receiver):
    from app.models import utcnow

    db.session.add(
        WebhookEvent(
            service_id=hooked.id,
            kind="outlet.status_changed",
            payload='{"type":"outlet.status_changed"}',
            next_attempt_at=utcnow(),
        )
    )
    db.session.commit()
    from app import jobs

    assert jobs.run_job(app, jobs.find_job("webhook-delivery")) == 1
    assert receiver.kinds() == ["outlet.status_changed"]
