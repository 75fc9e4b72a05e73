"""The REST API for external services under /api/v1 (spec §8 Services; docs/api.md).

An entry point like admin_views and ocpp_server: it authenticates the bearer
token, reads and checks the JSON, calls app.services and writes JSON back; errors
are problem+json. The OpenAPI document is generated from the code (flask-smorest,
apispec, marshmallow) at /api/v1/openapi.json; /api/v1/docs shows it (Swagger UI,
served from app/static/vendor). Tokens, not cookies: CSRF does not apply.
"""

from __future__ import annotations

import http
from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from app.api.problems import is_api_path, problem_response
from app.api.schemas import ProblemSchema
from app.extensions import csrf
from app.services import remote_charging, webhooks

PREFIX = "/api/v1"
PROBLEM_JSON = "application/problem+json"


class PortalApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, with problem+json errors kept to the API's own URLs."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """The API blueprint answers its own errors; the admin's pages stay HTML."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _configure(app: Flask) -> None:
    # flask-smorest reads these fixed settings from the app config.
    app.config.update(
        API_TITLE="Charge Portal API",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Start and stop charging by outlet UUID, outlet status for map "
                    "services, charging sessions with their energy. Authenticate "
                    "with `Authorization: Bearer <token>`: a service's secret or an "
                    "administrator's personal API token. Errors are "
                    "application/problem+json. See docs/api.md for webhooks."
                )
            },
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )


def init_app(app: Flask) -> None:
    """Mount the API, its document and docs page, and the webhook machinery."""
    from app.api.views import blp

    _configure(app)
    api = PortalApi(app)
    csrf.exempt(blp)
    api.register_blueprint(blp)
    app.register_blueprint(_pages())
    _answer_unknown_api_urls(app)
    webhooks.init_app(app)
    remote_charging.init_app(app)
    app.extensions["portal_api"] = api


def _pages() -> Blueprint:
    pages = Blueprint(
        "api_pages",
        __name__,
        url_prefix=PREFIX,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )

    @pages.get("/docs")
    def docs() -> str:
        return render_template("api/docs.html")

    return pages


def _answer_unknown_api_urls(app: Flask) -> None:
    """Answer 404/405 under /api/ as problem+json; elsewhere keep the portal's pages.

    No blueprint matches an unknown URL, so the blueprint's own error handler never
    sees it: wrap the app-level handlers instead (registered before this).
    """
    for code, exception in ((404, NotFound), (405, MethodNotAllowed)):
        previous = app.error_handler_spec[None].get(code, {}).get(exception)

        def handler(error: HTTPException, previous: Any = previous) -> Any:
            if is_api_path(request.path):
                return problem_response(error.code or 500, error.description)
            if previous is not None:
                return previous(error)
            return error

        app.register_error_handler(code, handler)
