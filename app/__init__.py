"""Charge Portal: the composition root."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import config as default_config
from app.extensions import babel, csrf, db, limiter, login_manager, migrate

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal: config → extensions → auth → admin → OCPP → jobs → API."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PORTAL_INSTANCE_PATH"
    )
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    _configure(app, test_config)

    # Imported here: these modules import `app` themselves.
    import admin_views
    import ocpp_server
    from app import api, auth, cli, ftp_server, jobs, security
    from app.i18n import init_app as init_i18n
    from app.services import load_management, local_lists

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    init_i18n(app, babel)
    auth.init_app(app, login_manager)
    admin_views.init_app(app)
    ocpp_server.init_app(app)
    load_management.init_app(app)  # shares site capacity as sessions come and go
    local_lists.init_app(app)  # keeps the stations' local lists up to date
    jobs.init_app(app)
    ftp_server.init_app(app)
    cli.init_app(app)
    security.init_app(app)
    _register_pages(app)
    api.init_app(app)  # after the pages: it answers unknown /api/ URLs as problems
    _trust_proxies(app)  # outermost: every layer sees the client's scheme and address
    return app


def _configure(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    """Layer the configuration: defaults → instance/config.py → environment → test."""
    app.config.from_object(default_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(default_config.from_environment())
        app.config.from_prefixed_env()
    else:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "portal.db"
        )
    # A database server can restart under the pool's idle connections: test each one
    # on checkout. A SQLite file cannot go away, and there the ping would cost a
    # statement on every unit of work (≈ 9 % of an OCPP message's CPU).
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault(
        "pool_pre_ping", not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    _validate(app.config)


def _trust_proxies(app: Flask) -> None:
    """Behind PORTAL_PROXY_HOPS proxies, take scheme, host and client from X-Forwarded-*."""
    hops = int(app.config["PORTAL_PROXY_HOPS"])
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=hops,
            x_proto=hops,
            x_host=hops,
            x_port=hops,
            x_prefix=hops,
        )


def _instance_secret(instance: Path) -> str:
    """Return the secret key kept in instance/secret_key, creating it once."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _validate(config: Mapping[str, Any]) -> None:
    """Fail fast on a configuration that cannot work."""
    if len(str(config["SECRET_KEY"])) < 16:
        raise RuntimeError("SECRET_KEY must be at least 16 characters")
    url = str(config["SQLALCHEMY_DATABASE_URI"])
    if not url.startswith(("sqlite", "postgresql")):
        raise RuntimeError(f"unsupported database URL {url.split(':', 1)[0]!r}")
    if int(config["PORTAL_PAGE_SIZE"]) < 1:
        raise RuntimeError("PORTAL_PAGE_SIZE must be positive")
    if float(config["SECURITY_IDLE_TIMEOUT_MINUTES"]) <= 0:
        raise RuntimeError("SECURITY_IDLE_TIMEOUT_MINUTES must be positive")
    from app.services.mail import tls_mode

    try:
        tls_mode(config["MAIL_TLS"])
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None


def _register_pages(app: Flask) -> None:
    @app.get("/")
    def index() -> Response:
        if current_user.is_authenticated:
            return redirect(url_for("admin.index"))
        return redirect(url_for("auth.login"))
