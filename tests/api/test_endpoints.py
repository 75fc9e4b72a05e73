"""The API's reads, scope, tokens and limits (spec §8 Services; issue 8 §1, §2, §4)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import OutletStatus, Role
from app.services import api_access, integrations


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_token(admin) -> str:
    secret = api_access.create_api_token(admin, "ops laptop").secret
    db.session.commit()
    return secret


def test_a_map_service_lists_its_outlets_with_place_and_status(
    client, service, station_record
):
    outlet = station_record.outlets[0]
    outlet.status = OutletStatus.AVAILABLE
    station_record.online = True
    db.session.commit()
    page = client.get("/api/v1/outlets", headers=service.headers).get_json()
    assert page["total"] == 1 and page["page"] == 1
    (item,) = page["items"]
    assert item["uuid"] == outlet.uuid and item["id"] == "P-1"
    assert item["connector_type"] == "Type 2" and item["status"] == "available"
    assert item["available"] is True
    assert item["site"]["name"] == "Solna"
    assert item["address"]["street"] == "Gatan 1"
    assert item["position"] == {"latitude": 59.36, "longitude": 18.0}
    assert item["station"]["uuid"] == station_record.uuid


def test_outlets_filter_by_availability_and_status(client, service, station_record):
    busy = client.get(
        "/api/v1/outlets?available=true", headers=service.headers
    ).get_json()
    assert busy["total"] == 0  # the station is offline
    listed = client.get("/api/v1/outlets?status=unknown", headers=service.headers)
    assert listed.get_json()["total"] == 1
    wrong = client.get("/api/v1/outlets?status=nonsense", headers=service.headers)
    assert wrong.status_code == 422
    assert wrong.content_type == "application/problem+json"
    assert "status" in wrong.get_json()["errors"]["query"]


def test_an_outlet_by_the_services_own_id(client, service, station_record):
    answer = client.get("/api/v1/outlets/by-service-id/P-1", headers=service.headers)
    assert answer.get_json()["uuid"] == station_record.outlets[0].uuid
    missing = client.get("/api/v1/outlets/by-service-id/P-2", headers=service.headers)
    assert missing.status_code == 404


def test_station_status_shows_only_the_outlets_the_service_knows(
    client, service, station_record
):
    body = client.get(
        f"/api/v1/stations/{station_record.uuid}", headers=service.headers
    ).get_json()
    assert body["online"] is False and body["name"] == station_record.name
    assert [o["number"] for o in body["outlets"]] == [1]


def test_an_administrators_token_sees_every_outlet(
    client, admin_token, service, station_record
):
    page = client.get("/api/v1/outlets", headers=_bearer(admin_token)).get_json()
    assert page["total"] == 2
    assert all(item["id"] is None for item in page["items"])
    by_id = client.get(
        "/api/v1/outlets/by-service-id/P-1?service=payco", headers=_bearer(admin_token)
    )
    assert by_id.get_json()["uuid"] == station_record.outlets[0].uuid


def test_a_revoked_token_or_a_demoted_administrator_gets_401(
    client, admin, admin_token, create_user
):
    assert (
        client.get("/api/v1/outlets", headers=_bearer(admin_token)).status_code == 200
    )
    (token,) = api_access.own_api_tokens(admin)
    api_access.revoke_api_token(admin, token.id)
    db.session.commit()
    assert (
        client.get("/api/v1/outlets", headers=_bearer(admin_token)).status_code == 401
    )
    other = create_user(Role.ADMIN)
    secret = api_access.create_api_token(other, "x").secret
    other.active = False
    db.session.commit()
    assert client.get("/api/v1/outlets", headers=_bearer(secret)).status_code == 401


def test_an_inactive_or_rotated_service_gets_401(client, admin, service):
    row = db.session.get(integrations.ExternalService, service.id)
    api_access.rotate_service_secret(admin, row)
    db.session.commit()
    assert client.get("/api/v1/outlets", headers=service.headers).status_code == 401


def test_only_administrators_make_api_tokens(create_user, site):
    from app.services.errors import PermissionDenied

    for role in (Role.SUPPORT, Role.SITE_ADMIN, Role.EV_USER):
        with pytest.raises(PermissionDenied):
            api_access.create_api_token(create_user(role, sites=[site]), "mine")


def test_an_administrators_token_must_name_the_tag(client, admin_token, station_record):
    answer = client.post(
        f"/api/v1/outlets/{station_record.outlets[0].uuid}/start",
        headers=_bearer(admin_token),
    )
    assert answer.status_code == 422
    assert answer.get_json()["detail"] == "Give the RFID tag to start charging for."


def test_unknown_fields_and_bad_json_are_clear_problems(
    client, service, station_record
):
    url = f"/api/v1/outlets/{station_record.outlets[0].uuid}/start"
    unknown = client.post(url, headers=service.headers, json={"colour": "red"})
    assert unknown.status_code == 422
    assert "colour" in unknown.get_json()["errors"]["json"]
    broken = client.post(
        url,
        headers={**service.headers, "Content-Type": "application/json"},
        data="{not json",
    )
    assert broken.status_code in (400, 422)
    assert broken.content_type == "application/problem+json"


def test_a_too_large_body_is_refused(client, service, station_record):
    answer = client.post(
        f"/api/v1/outlets/{station_record.outlets[0].uuid}/start",
        headers=service.headers,
        json={"tag": "1" * 40_000},
    )
    assert answer.status_code == 413
    assert answer.content_type == "application/problem+json"


def test_the_rate_limit_counts_per_token(app, client, service, make_service):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    other = make_service("MapCo")
    answers = [client.get("/api/v1/outlets", headers=service.headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].content_type == "application/problem+json"
    assert "Retry-After" in answers[-1].headers
    assert client.get("/api/v1/outlets", headers=other.headers).status_code == 200


def test_a_command_is_seen_only_by_whoever_asked(client, service, make_service):
    other = make_service("MapCo")
    assert (
        client.get(
            "/api/v1/commands/00000000-0000-0000-0000-000000000000",
            headers=other.headers,
        ).status_code
        == 404
    )


def test_unknown_api_urls_are_problems_and_the_portal_keeps_its_pages(client):
    answer = client.get("/api/v1/nothing-here")
    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"
    wrong_method = client.delete("/api/v1/outlets")
    assert wrong_method.status_code == 405
    assert wrong_method.content_type == "application/problem+json"
    assert client.get("/no-such-page").content_type.startswith("text/html")


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_bearer_calls_need_no_csrf_token(csrf_on, client, service, station_record):
    answer = client.post(
        f"/api/v1/outlets/{station_record.outlets[0].uuid}/start",
        headers=service.headers,
        json={},
    )
    assert answer.status_code == 409  # reached the rules: the station is offline


def test_a_logged_in_browser_session_is_no_api_credential(login_as):
    browser = login_as(Role.ADMIN)
    answer = browser.get("/api/v1/outlets")
    assert answer.status_code == 401
    assert answer.content_type == "application/problem+json"
