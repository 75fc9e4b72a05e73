"""The station commands of the Control tab: name → service call, and their JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    jsonify,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from admin_views.configuration.forms import COMMAND_WORDS
from app.models import (
    Station,
)
from app.services import (
    commands,
    station_control,
)
from app.services.errors import DomainError, PermissionDenied


def _text(args: dict[str, Any], name: str) -> str:
    return str(args.get(name) or "").strip()


def _number(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DomainError(_("%(name)s must be a number.", name=name)) from None


def _flag(args: dict[str, Any], name: str) -> bool:
    return str(args.get(name)).lower() in (
        "1",
        "true",
        "on",
        "yes",
        "hard",
        "operative",
    )


# name → (user, station, arguments) → CommandResult
_COMMANDS: dict[str, Callable[[Any, Station, dict[str, Any]], Any]] = {
    "reset": lambda user, st, a: station_control.restart(
        user, st, hard=_text(a, "type") == "hard"
    ),
    "availability": lambda user, st, a: station_control.change_availability(
        user, st, _number(a, "outlet"), operative=_flag(a, "operative")
    ),
    "unlock": lambda user, st, a: station_control.unlock_outlet(
        user, st, _number(a, "outlet") or 0
    ),
    "clear_cache": lambda user, st, a: station_control.clear_cache(user, st),
    "trigger": lambda user, st, a: station_control.trigger_message(
        user, st, _text(a, "message"), _number(a, "outlet")
    ),
    "stop": lambda user, st, a: station_control.stop_charging(
        user, st, _number(a, "outlet") or 0
    ),
    "firmware": lambda user, st, a: station_control.update_firmware(
        user, st, _text(a, "location")
    ),
    "firmware_library": lambda user, st, a: (
        station_control.update_firmware_from_library(
            user, st, a.get("image"), _text(a, "via")
        )
    ),
    "diagnostics": lambda user, st, a: station_control.fetch_diagnostics(
        user, st, _text(a, "location")
    ),
    "send_local_list": lambda user, st, a: station_control.send_local_list(user, st),
    "get_local_list_version": lambda user, st, a: (
        station_control.fetch_local_list_version(user, st)
    ),
    "change_configuration": lambda user, st, a: commands.change_configuration(
        user, st, _text(a, "key"), str(a.get("value") or "")
    ),
    "get_configuration": lambda user, st, a: commands.fetch_configuration(user, st),
}


def _result_json(result: commands.CommandResult, **extra: Any) -> Response:
    return jsonify(
        status=result.status.value,
        text=str(COMMAND_WORDS[result.status]),
        detail=result.detail,
        data=result.data,
        **extra,
    )


def _error_json(exc: DomainError) -> tuple[Response, int]:
    code = 403 if isinstance(exc, PermissionDenied) else 400
    return jsonify(status="error", text=str(exc), detail=""), code


def _keys_json(station: Station) -> list[dict[str, Any]]:
    return [
        {"key": row.key, "value": row.value, "readonly": row.readonly}
        for row in station_control.config_keys(current_user, station)
    ]


# ---------------------------------------------------------------------------
