"""Login and logout views; they call app.services.accounts and commit."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth.forms import LoginForm
from app.extensions import db
from app.models import User
from app.services import accounts, events

bp = Blueprint("auth", __name__)


def load_user(user_id: str) -> User | None:
    """Return the user of a session id "<id>.<session version>", if still valid."""
    ident, _sep, version = user_id.partition(".")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _is_safe_next(target: str | None) -> bool:
    """Accept only a local path as the place to go after login (no open redirect)."""
    if not target:
        return False
    parts = urlsplit(target)
    return (
        not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            events.record_login_failed(form.email.data or "", request.remote_addr)
            db.session.commit()
            flash(_("Wrong e-mail or password."), "error")
        else:
            events.record_login(user, request.remote_addr)
            db.session.commit()
            login_user(user, remember=bool(form.remember.data))
            target = request.args.get("next")
            return redirect(target if _is_safe_next(target) else url_for("admin.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    events.record_logout(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
