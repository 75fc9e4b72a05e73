"""Web security (issue #11): CSRF, login throttling, cookie flags, the idle timeout,
security headers and CSP nonces, friendly error pages, secrets never shown."""

from __future__ import annotations

import logging
import re
import time

import pytest
from flask import abort
from sqlalchemy import select

from app.extensions import db
from app.models import EventKind, EventLogEntry, Role
from tests.conftest import PASSWORD, csrf_token, log_in


def _events(kind: EventKind) -> list[EventLogEntry]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(EventLogEntry)
            .where(EventLogEntry.kind == kind)
            .order_by(EventLogEntry.id)
        )
    )


def _fail_login(client, email: str, address: str = "10.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": "wrong-password-1"},
        environ_base={"REMOTE_ADDR": address},
    )


# -- CSRF ---------------------------------------------------------------------


@pytest.fixture
def csrf_app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


@pytest.fixture
def csrf_client(csrf_app_config, app):
    return app.test_client()


def _csrf_log_in(client, email: str) -> None:
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_login_without_a_csrf_token_is_refused(csrf_client, create_user):
    user = create_user(Role.ADMIN)
    response = csrf_client.post(
        "/login", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "could not read" in response.text
    assert csrf_client.get("/admin/").status_code == 302  # not logged in


def test_admin_form_post_without_a_csrf_token_is_refused(csrf_client, create_user):
    _csrf_log_in(csrf_client, create_user(Role.ADMIN).email)
    response = csrf_client.post(
        "/admin/config/topology/create/site", data={"site-name": "Forged"}
    )
    assert response.status_code == 400
    from app.models import Site

    assert db.session.scalars(select(Site)).all() == []


def test_json_endpoint_post_without_a_csrf_token_is_refused(
    csrf_client, create_user, create_site, create_floor
):
    floor = create_floor(create_site("Solna"))
    _csrf_log_in(csrf_client, create_user(Role.ADMIN).email)
    response = csrf_client.post(
        f"/admin/config/floor/{floor.id}/position",
        json={"station": 1, "x": 0.5, "y": 0.5},
    )
    assert response.status_code == 400


def test_logout_without_a_csrf_token_keeps_the_login(csrf_client, create_user):
    _csrf_log_in(csrf_client, create_user(Role.ADMIN).email)
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/admin/").status_code == 200


# -- Login throttling -----------------------------------------------------------


def test_the_sixth_failed_login_in_a_minute_is_throttled(client, create_user):
    user = create_user(Role.ADMIN)
    statuses = [_fail_login(client, user.email).status_code for _ in range(5)]
    sixth = _fail_login(client, user.email)
    assert statuses == [200] * 5
    assert sixth.status_code == 429
    assert "Too many failed logins" in sixth.text
    assert 'id="login-throttled"' in sixth.text  # on the form, not an error page
    assert int(sixth.headers["Retry-After"]) == 60


def test_a_throttled_account_refuses_even_the_right_password(client, create_user):
    user = create_user(Role.ADMIN)
    for _ in range(5):
        _fail_login(client, user.email)
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_the_account_is_throttled_from_any_address(client, create_user):
    user = create_user(Role.ADMIN)
    for index in range(5):
        _fail_login(client, user.email, address=f"10.0.1.{index}")
    assert _fail_login(client, user.email, address="10.0.2.1").status_code == 429


def test_the_address_is_throttled_for_any_account(client, create_user):
    for index in range(5):
        _fail_login(client, f"nobody{index}@example.com", address="10.9.9.9")
    assert _fail_login(client, "other@example.com", "10.9.9.9").status_code == 429
    assert _fail_login(client, "other@example.com", "10.9.9.8").status_code == 200


def test_successful_logins_are_not_counted(client, create_user):
    user = create_user(Role.ADMIN)
    for _ in range(8):
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        assert response.status_code == 302
        client.post("/logout")


def test_the_throttle_ends_with_its_window(app, client, create_user):
    app.config["SECURITY_LOGIN_LIMIT"] = "2 per 1 second"
    user = create_user(Role.ADMIN)
    _fail_login(client, user.email)
    _fail_login(client, user.email)
    assert _fail_login(client, user.email).status_code == 429
    time.sleep(1.1)
    assert _fail_login(client, user.email).status_code == 200


def test_throttled_and_failed_logins_are_in_the_event_log(client, create_user):
    user = create_user(Role.ADMIN)
    for _ in range(6):
        _fail_login(client, user.email)
    failed = _events(EventKind.LOGIN_FAILED)
    assert len(failed) == 6
    assert failed[-1].details == {"address": "10.0.0.1", "throttled": True}
    assert all("wrong-password-1" not in str(e.details) + e.message for e in failed)


# -- Cookies --------------------------------------------------------------------


def _set_cookies(response) -> dict[str, str]:
    return {
        header.split("=", 1)[0]: header
        for header in response.headers.getlist("Set-Cookie")
    }


def _login_cookies(client, user, **kwargs) -> dict[str, str]:
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "remember": "y"},
        **kwargs,
    )
    assert response.status_code == 302
    return _set_cookies(response)


def test_cookies_are_httponly_and_samesite_lax(client, create_user):
    cookies = _login_cookies(client, create_user(Role.ADMIN))
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]
        assert "Secure" not in cookies[name]  # plain HTTP (development)


def test_cookies_are_secure_over_https(client, create_user):
    cookies = _login_cookies(
        client, create_user(Role.ADMIN), base_url="https://portal.example"
    )
    assert "; Secure" in cookies["session"]
    assert "; Secure" in cookies["remember_token"]


def test_cookies_are_secure_behind_a_trusted_https_proxy(app, app_config, create_user):
    from app import create_app

    user = create_user(Role.ADMIN)
    proxied = create_app({**app_config, "PORTAL_PROXY_HOPS": 1})
    cookies = _login_cookies(
        proxied.test_client(), user, headers={"X-Forwarded-Proto": "https"}
    )
    assert "; Secure" in cookies["session"]


def test_a_forwarded_proto_is_ignored_without_a_trusted_proxy(client, create_user):
    cookies = _login_cookies(
        client, create_user(Role.ADMIN), headers={"X-Forwarded-Proto": "https"}
    )
    assert "Secure" not in cookies["session"]


# -- Idle timeout ---------------------------------------------------------------


def _idle_for(client, seconds: int) -> None:
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - seconds


def test_an_idle_session_is_logged_out(app, client, create_user):
    log_in(client, create_user(Role.ADMIN).email)
    _idle_for(client, 31 * 60)
    response = client.get("/admin/sites/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/sites/")
    page = client.get(response.headers["Location"]).text
    assert "logged out after a while without activity" in page
    assert client.get("/admin/").status_code == 302
    assert _events(EventKind.LOGOUT)[-1].details["reason"] == "idle"


def test_a_session_used_within_the_timeout_stays(client, create_user):
    log_in(client, create_user(Role.ADMIN).email)
    _idle_for(client, 29 * 60)
    assert client.get("/admin/sites/").status_code == 200
    _idle_for(client, 29 * 60)
    assert client.get("/admin/sites/").status_code == 200


def test_the_timeout_is_configurable(app, client, create_user):
    app.config["SECURITY_IDLE_TIMEOUT_MINUTES"] = 5
    log_in(client, create_user(Role.ADMIN).email)
    _idle_for(client, 6 * 60)
    assert client.get("/admin/sites/").status_code == 302


def test_background_polls_do_not_keep_a_session_alive(client, create_user):
    log_in(client, create_user(Role.ADMIN).email)
    _idle_for(client, 20 * 60)
    assert client.get("/admin/navigator/").status_code == 200
    with client.session_transaction() as session:
        assert time.time() - session["last_seen"] >= 20 * 60


# -- Headers and CSP ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/admin/",
        "/admin/sites/",
        "/admin/config/",
        "/no-such-page",
        "/static/portal.css",
        "/Ocpp/CentralSystemService15?wsdl",
    ],
)
def test_every_response_carries_the_security_headers(login_as, path):
    response = login_as(Role.ADMIN).get(path)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'self'" in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "same-origin"


def _nonce(response) -> str:
    return re.search(
        r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]
    ).group(1)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/sites/",
        "/admin/config/?node=system&tab=topology",
        "/admin/users/new/",
        "/login",
    ],
)
def test_every_inline_script_carries_the_responses_nonce(login_as, path):
    response = login_as(Role.ADMIN).get(path)
    nonce = _nonce(response)
    for tag in re.findall(r"<script\b[^>]*>", response.text):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son(click|load|change|submit)=", response.text) or (
        "inline_handlers.js" in response.text
    )


def test_each_response_has_its_own_nonce(login_as):
    client = login_as(Role.ADMIN)
    assert _nonce(client.get("/admin/")) != _nonce(client.get("/admin/"))


def test_map_pages_run_their_scripts_by_nonce_and_keep_names_as_data(
    login_as, create_site, create_floor, create_station
):
    site = create_site("Solna")
    floor = create_floor(site)
    station = create_station(site, "CB-XSS", floor=floor)
    station.name = "</script><script>alert(1)</script>"
    db.session.commit()
    response = login_as(Role.ADMIN).get(f"/admin/config/floor/{floor.id}/site-map")
    nonce = _nonce(response)
    tags = re.findall(r"<script\b[^>]*>", response.text)
    assert tags and all(f'nonce="{nonce}"' in tag for tag in tags)
    assert "<script>alert(1)" not in response.text
    assert "\\u003cscript\\u003ealert(1)" in response.text  # the name, as data


# -- Error pages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (400, "could not read"),
        (403, "Your role does not allow this page"),
        (404, "There is no such page"),
        (405, "cannot be used like that"),
        (413, "larger than the portal accepts"),
        (429, "Too many requests"),
        (500, "could not complete the request"),
    ],
)
def test_errors_get_a_friendly_page_in_the_admin_look(app, login_as, code, words):
    app.add_url_rule(f"/boom/{code}", f"boom{code}", lambda: abort(code))
    response = login_as(Role.ADMIN).get(f"/boom/{code}")
    assert response.status_code == code
    assert words in response.text
    assert 'id="error-page"' in response.text
    assert "navbar" in response.text  # the admin's menu around it
    assert "Traceback" not in response.text


def test_anonymous_visitors_get_the_plain_error_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is no such page" in response.text
    assert "navbar" not in response.text


def test_a_crash_is_a_friendly_500_never_a_traceback(app, login_as, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def crash() -> str:
        raise RuntimeError("secret internals of the crash")

    app.add_url_rule("/crash", "crash", crash)
    with caplog.at_level(logging.ERROR, logger="app.security"):
        response = login_as(Role.ADMIN).get("/crash")
    assert response.status_code == 500
    assert "could not complete the request" in response.text
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text
    assert "secret internals of the crash" in caplog.text  # logged for the operator


def test_json_clients_get_problem_json(login_as):
    response = login_as(Role.ADMIN).get(
        "/no-such-page", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def test_a_405_keeps_its_allow_header(login_as):
    response = login_as(Role.ADMIN).get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


# -- Secrets ----------------------------------------------------------------------


def test_a_station_password_never_appears_in_any_response(
    login_as, create_site, create_floor, create_station, caplog
):
    site = create_site("Solna")
    station = create_station(site, "CB-PW", floor=create_floor(site))
    admin = login_as(Role.ADMIN)
    secret = "Very-secret-station-pw-42"
    with caplog.at_level(logging.DEBUG):
        answer = admin.post(
            f"/admin/config/station/{station.id}/password",
            data={"password": secret},
            follow_redirects=True,
        )
        assert "The station password is set." in answer.text
        paths = [
            f"/admin/config/?node=station:{station.id}",
            f"/admin/stations/details/?id={station.id}",
            "/admin/stations/export/csv/",
            "/admin/stations/export/xlsx/",
            "/admin/audit/",
            "/admin/audit/export/csv/",
            "/admin/events/",
            "/admin/events/export/csv/",
        ]
        bodies = [answer.data]
        for path in paths:
            page = admin.get(path)
            assert page.status_code == 200, path
            bodies.append(page.data)  # read a streamed export before the next request
    assert all(secret.encode() not in body for body in bodies)
    assert secret not in caplog.text
