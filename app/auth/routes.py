"""Login and logout views; they call app.services.accounts and commit."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth import idle, throttle
from app.auth.forms import LoginForm
from app.extensions import db
from app.models import EventKind, User
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
    """Log a person in; failed logins are counted and throttled (issue #11)."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email, address = form.email.data or "", request.remote_addr
        if throttle.is_throttled(email, address):
            events.record_event(
                EventKind.LOGIN_FAILED,
                f"throttled login for {email[:254]}",
                details={"address": address, "throttled": True},
            )
            db.session.commit()
            message = _(
                "Too many failed logins. Please wait %(seconds)d seconds and try "
                "again.",
                seconds=throttle.retry_after_seconds(),
            )
            page = render_template("auth/login.html", form=form, error=message)
            return Response(
                page,
                status=429,
                headers={"Retry-After": str(throttle.retry_after_seconds())},
            )
        user = accounts.authenticate(email, form.password.data or "")
        if user is None:
            throttle.count_failure(email, address)
            events.record_login_failed(email, address)
            db.session.commit()
            flash(_("Wrong e-mail or password."), "error")
        else:
            events.record_login(user, address)
            db.session.commit()
            login_user(user, remember=bool(form.remember.data))
            idle.start()
            target = request.args.get("next")
            return redirect(target if _is_safe_next(target) else url_for("admin.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Log out (a POST with the CSRF token, so no page can log a person out)."""
    events.record_logout(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))
