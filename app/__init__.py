"""Charge Portal: the composition root."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app import config as default_config
from app.extensions import babel, csrf, db, login_manager, migrate

log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal: config → extensions → auth → admin → OCPP → CLI."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PORTAL_INSTANCE_PATH"
    )
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    _configure(app, test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    from app.i18n import init_app as init_i18n

    init_i18n(app, babel)

    from app import auth

    auth.init_app(app, login_manager)

    import admin_views

    admin_views.init_app(app)

    import ocpp_server

    ocpp_server.init_app(app)

    from app import cli, jobs

    jobs.init_app(app)
    cli.init_app(app)
    _register_pages(app)
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
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    _validate(app.config)


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


def _register_pages(app: Flask) -> None:
    @app.get("/")
    def index() -> Response:
        if current_user.is_authenticated:
            return redirect(url_for("admin.index"))
        return redirect(url_for("auth.login"))

    @app.errorhandler(403)
    def forbidden(_error: Exception) -> tuple[str, int]:
        return render_template("error.html", code=403), 403

    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[str, int]:
        return render_template("error.html", code=404), 404

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_template("error.html", code=500), 500
