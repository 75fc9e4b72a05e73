"""Languages: English by default, Swedish complete; chosen per user, else by browser."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_login import current_user

TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str | None:
    """Return the user's chosen language, else the browser's best supported one."""
    from flask import current_app

    languages = current_app.config["PORTAL_LANGUAGES"]
    chosen = getattr(current_user, "language", None) if current_user else None
    if chosen in languages:
        return chosen
    if request:
        return request.accept_languages.best_match(languages)
    return None


def init_app(app: Flask, babel: Babel) -> None:
    """Bind Flask-Babel with our catalogues and the locale selector."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )
    app.jinja_env.globals["get_locale"] = get_locale
