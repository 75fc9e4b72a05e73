"""Errors of the REST API as problem details (RFC 9457, application/problem+json)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from flask import Response

from app.services.errors import (
    CommandTimedOut,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StationUnavailable,
)

PROBLEM_JSON = "application/problem+json"

# Each domain error has one status (style.md §6: one error hierarchy).
_STATUS: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (PermissionDenied, 403),
    (Conflict, 409),
    (InvalidInput, 422),
    (StationUnavailable, 409),
    (CommandTimedOut, 504),
]


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def status_of(error: DomainError) -> int:
    """Return the HTTP status a domain error is answered with."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def problem(
    status: int, detail: Any = None, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return a problem body for a status and a message fit for a person."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    detail: Any = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Return a problem+json response."""
    return json_response(problem(status, detail, errors), status, headers)


def json_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> Response:
    """Return a JSON body (problem+json when it is an error)."""
    return Response(
        json.dumps(body),
        status=status,
        mimetype=PROBLEM_JSON if status >= 400 else "application/json",
        headers=headers,
    )
