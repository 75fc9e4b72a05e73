"""Admin screens of the REST API: services' secrets, API tokens, webhook deliveries."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import (
    DeliveryState,
    ExternalService,
    Role,
    WebhookDelivery,
    WebhookEvent,
)
from app.services import api_access


@pytest.fixture
def admin_client(login_as):
    return login_as(Role.ADMIN)


def test_an_administrator_makes_a_token_shown_once_and_revokes_it(admin_client):
    page = admin_client.post("/admin/api_tokens/", data={"name": "ops laptop"}).text
    secret = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert secret.startswith("cpa_")
    assert api_access.authenticate(secret) is not None
    listing = admin_client.get("/admin/api_tokens/").text
    assert "ops laptop" in listing and secret not in listing
    token_id = api_access.own_api_tokens(admin_client.user)[0].id
    admin_client.post(f"/admin/api_tokens/revoke/{token_id}")
    assert api_access.authenticate(secret) is None


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.SITE_ADMIN, Role.EV_USER])
def test_other_roles_see_no_tokens_secrets_or_deliveries(login_as, role):
    client = login_as(role)
    assert client.get("/admin/api_tokens/").status_code == 403
    assert client.get("/admin/webhooks/").status_code == 403
    assert client.post("/admin/services/rotate/1").status_code == 403


def test_an_administrator_sees_each_delivery_and_queues_a_failed_event_again(
    app, admin_client
):
    service = ExternalService(provider="HookCo", url="http://127.0.0.1:9/", active=True)
    db.session.add(service)
    db.session.flush()
    event = WebhookEvent(
        service_id=service.id,
        kind="session.started",
        payload="{}",
        state=DeliveryState.FAILED,
        attempts=1,
        last_status_code=500,
        last_error="HTTP 500 Internal Server Error",
    )
    db.session.add(event)
    db.session.flush()
    db.session.add(
        WebhookDelivery(
            event_id=event.id,
            service_id=service.id,
            attempt=1,
            status_code=500,
            error="HTTP 500 Internal Server Error",
            duration_ms=12,
        )
    )
    db.session.commit()
    listing = admin_client.get("/admin/webhooks/").text
    assert "session.started" in listing and "HookCo" in listing
    details = admin_client.get(f"/admin/webhooks/details/?id={event.id}").text
    assert "HTTP 500 Internal Server Error" in details and "12 ms" in details
    admin_client.post(f"/admin/webhooks/redeliver/{event.id}")
    from app.services import background, webhooks

    background.wait_idle()
    webhooks.shutdown(app)  # no retry timer outlives the test
    db.session.refresh(event)
    # Tried again at once (nobody listens on port 9), and waiting for its next try.
    assert (event.state, event.attempts) == (DeliveryState.PENDING, 1)
    assert len(event.deliveries) == 2 and "Connection" in event.deliveries[-1].error
