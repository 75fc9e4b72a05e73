"""Logging in and out (Flask-Login); sessions end when the password changes,
after an idle timeout, and failed logins are throttled."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from app.auth.idle import check_idle
from app.auth.routes import bp, load_user


def init_app(app: Flask, login_manager: LoginManager) -> None:
    """Register the auth blueprint and the user loader."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    app.register_blueprint(bp)
    app.before_request(check_idle)
