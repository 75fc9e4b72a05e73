"""The OpenAPI document is generated from the code, valid, and the live API keeps
to it: a bounded schemathesis run finds no server error (issue 8)."""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate

from app.services import background


def test_the_document_is_served_and_valid(api, live_server):
    document = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10).json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = document["paths"]
    assert "/api/v1/outlets/{outlet_uuid}/start" in paths
    start = paths["/api/v1/outlets/{outlet_uuid}/start"]["post"]
    assert {"201", "202", "404", "401"} <= set(start["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in start["parameters"])
    reference = start["responses"]["404"]["$ref"].rsplit("/", 1)[-1]
    assert (
        "application/problem+json"
        in (document["components"]["responses"][reference]["content"])
    )


def test_the_docs_page_uses_the_portals_own_assets(live_server):
    page = requests.get(f"{live_server.url}/api/v1/docs", timeout=10).text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "//cdn" not in page and "unpkg" not in page
    script = requests.get(
        f"{live_server.url}/static/vendor/swagger-ui/swagger-ui-bundle.js", timeout=10
    )
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text


@pytest.mark.parametrize("authenticated", [True, False])
def test_schemathesis_finds_no_server_error(
    live_server, service, station_record, authenticated
):
    """Every operation, bounded: at most 25 examples each, well under 60 s; the
    answers also keep to the document (status, content type, body schema)."""
    live_server.app.config["API_RATE_LIMIT"] = "10000 per minute"  # not what is tested
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    headers = service.headers if authenticated else {}
    started = time.monotonic()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call(base_url=live_server.url, headers=headers, timeout=10)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code}"
                )
            # Also schemathesis's own checks: documented status, content type, body.
            try:
                case.validate_response(response)
            except (AssertionError, BaseExceptionGroup) as failure:
                failures.append(f"{case.method} {case.formatted_path}: {failure}")

        check()
    background.wait_idle()
    assert failures == []
    assert time.monotonic() - started < 60
