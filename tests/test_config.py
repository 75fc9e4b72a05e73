"""Configuration defaults that depend on the database in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app

SECRET = "test-secret-key-0123456789abcdef"


def _engine_options(url: str, instance: Path, **options: object) -> dict[str, object]:
    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "TESTING": True}
    if options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    app = create_app({**config, "INSTANCE_PATH": str(instance)})
    return dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])


@pytest.mark.parametrize(
    ("url", "pinged"),
    [
        ("postgresql+psycopg://portal@db.example/portal", True),
        ("sqlite:///portal.db", False),
    ],
)
def test_pool_connections_are_pinged_only_on_a_database_server(
    url: str, pinged: bool, tmp_path: Path
) -> None:
    assert _engine_options(url, tmp_path)["pool_pre_ping"] is pinged


def test_an_explicit_pre_ping_setting_wins(tmp_path: Path) -> None:
    options = _engine_options("sqlite:///portal.db", tmp_path, pool_pre_ping=True)

    assert options["pool_pre_ping"] is True
