"""Web security of every response: headers, CSP nonces, cookie flags, error pages.

Bound in create_app after the admin exists (the admin's own inline scripts carry
the same nonce). The login throttle and the idle timeout live in app/auth.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from flask import (
    Flask,
    current_app,
    render_template,
    request,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

# The error pages the portal draws itself (issue #11): never a traceback.
ERROR_CODES = (400, 403, 404, 405, 413, 429, 500)

# Pages that are generated HTML with inline scripts (folium maps shown in an
# iframe): their <script> tags get the request's nonce. They embed no free text
# as HTML (station names are JSON with "</" escaped; admin_views/maps.py).
INLINE_SCRIPT_ENDPOINTS = frozenset({"config.map_page", "config.floor_site_map"})
_NONCE_KEY = "portal.csp_nonce"
_SECURE = re.compile(r";\s*Secure\s*(;|$)", re.IGNORECASE)
_SCRIPT_TAG = re.compile(r"<script(?=[\s>])(?![^>]*\bnonce=)", re.IGNORECASE)


class SecureCookiesOnHttps:
    """WSGI middleware: on a request that came over HTTPS, every cookie is Secure.

    Flask's SESSION_COOKIE_SECURE and Flask-Login's REMEMBER_COOKIE_SECURE are
    fixed switches; this marks the session, remember-me and CSRF cookies Secure
    exactly when the portal is reached over HTTPS (directly, or behind
    PORTAL_PROXY_HOPS trusted proxies that send X-Forwarded-Proto), and keeps
    plain-HTTP development working.
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start(
            status: str, headers: list[tuple[str, str]], *args: Any
        ) -> Any:
            headers = [
                (name, _with_secure(value) if name.lower() == "set-cookie" else value)
                for name, value in headers
            ]
            return start_response(status, headers, *args)

        return self.wsgi_app(environ, secure_start)


def _with_secure(cookie: str) -> str:
    return cookie if _SECURE.search(cookie) else cookie + "; Secure"


def init_app(app: Flask) -> None:
    """Trust the configured proxies, add headers and nonces, draw the error pages."""
    if app.config["SECURITY_SECURE_COOKIES_ON_HTTPS"]:
        app.wsgi_app = SecureCookiesOnHttps(app.wsgi_app)  # type: ignore[method-assign]
    for admin in app.extensions.get("admin", []):
        admin.csp_nonce_generator = csp_nonce  # Flask-Admin's inline scripts
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_secure_response)
    for code in ERROR_CODES:
        app.register_error_handler(code, _error_page)


def csp_nonce() -> str:
    """Return this request's Content-Security-Policy nonce (one per request)."""
    nonce = request.environ.get(_NONCE_KEY)
    if nonce is None:
        nonce = request.environ[_NONCE_KEY] = secrets.token_urlsafe(16)
    return str(nonce)


def content_security_policy(nonce: str) -> str:
    """Return the CSP header: scripts only from the portal or with the nonce."""
    images = " ".join(["'self'", "data:", *current_app.config["SECURITY_CSP_IMG_SRC"]])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # Flask-Admin, Bootstrap widgets and folium set style attributes.
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "connect-src 'self'",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",  # the map pages are iframes of our own pages
        ]
    )


def _secure_response(response: Response) -> Response:
    if request.endpoint in INLINE_SCRIPT_ENDPOINTS and response.mimetype == "text/html":
        response.set_data(
            _SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', response.get_data(True))
        )
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure and current_app.config["SECURITY_HSTS_SECONDS"]:
        headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={int(current_app.config['SECURITY_HSTS_SECONDS'])}",
        )
    return response


def _error_page(error: Exception) -> Response:
    """Draw a friendly error page (in the admin's look for a logged-in person)."""
    if not isinstance(error, HTTPException):
        error = InternalServerError(original_exception=error)
    code = error.code or 500
    if isinstance(error, InternalServerError):
        original = getattr(error, "original_exception", None) or error
        log.error(
            "unhandled error on %s %s",
            request.method,
            request.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        _roll_back()
    if request.accept_mimetypes.best == "application/json" or request.path.startswith(
        "/api/"
    ):
        body = {"type": "about:blank", "title": error.name, "status": code}
        response = current_app.make_response((body, code))
        response.mimetype = "application/problem+json"
        _keep_headers(error, response)
        return response
    html = _render_error(code)
    response = current_app.make_response((html, code))
    _keep_headers(error, response)
    return response


def _keep_headers(error: HTTPException, response: Response) -> None:
    """Keep what the error says about itself (Allow on 405, Retry-After on 429)."""
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value


def _render_error(code: int) -> str:
    if current_user.is_authenticated:
        admins = current_app.extensions.get("admin", [])
        if admins:
            try:
                return str(admins[0].index_view.render("admin/error.html", code=code))
            except Exception:
                # The admin's chrome needs the database; a page must still come.
                log.warning("error page drawn without the admin menu", exc_info=True)
                _roll_back()
    return render_template("error.html", code=code)


def _roll_back() -> None:
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the database itself may be what failed
        log.warning("rollback after an error failed", exc_info=True)
