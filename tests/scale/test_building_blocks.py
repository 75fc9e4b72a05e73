"""The parts under the two-gunicorn tests: locks, the command wire format, proxies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click
import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.config import normalise_database_url
from app.scheduler_lock import FileLock, PostgresLock, RedisLock
from app.services import commands
from ocpp_server.routing import decode, encode
from tests.scale.conftest import REDIS, SECRET, _postgres_base


def test_a_lock_file_is_held_by_one_holder_until_released(tmp_path):
    first, second = FileLock(tmp_path / "s.lock"), FileLock(tmp_path / "s.lock")

    assert first.try_acquire() and not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_redis_lock_is_held_by_one_holder_and_refreshed_only_by_it(redis_prefix):
    key = f"{redis_prefix}lock:{uuid.uuid4().hex}"
    first, second = RedisLock(REDIS, key, 10), RedisLock(REDIS, key, 10)

    assert first.try_acquire() and not second.try_acquire()
    assert first.still_held() and not second.still_held()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_postgresql_advisory_lock_is_held_by_one_session_until_released():
    url = normalise_database_url(_postgres_base())
    name = f"test-{uuid.uuid4().hex}"
    first, second = PostgresLock(url, {}, name), PostgresLock(url, {}, name)

    assert first.try_acquire() and not second.try_acquire()
    assert first.still_held()
    first.release()
    assert second.try_acquire()
    second.release()


def test_a_dead_holders_advisory_lock_is_free_again():
    url = normalise_database_url(_postgres_base())
    name = f"test-{uuid.uuid4().hex}"
    first, second = PostgresLock(url, {}, name), PostgresLock(url, {}, name)
    assert first.try_acquire()

    engine = create_engine(url)
    with engine.begin() as connection:  # the server ends the holder's session
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = (:key & 4294967295)"
            ),
            {"key": first.key},
        )
    engine.dispose()

    assert not first.still_held()
    assert second.try_acquire()
    second.release()
    first.release()


@pytest.mark.parametrize(
    "command",
    [
        commands.Reset(hard=True),
        commands.UpdateFirmware(
            "ftp://x/fw.bin", datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
        ),
        commands.SendLocalList(
            3, True, (commands.LocalListEntry("TAG1", "accepted", None, "P"),)
        ),
        commands.SetChargingProfile(1, {"chargingProfileId": 7, "stackLevel": 0}),
    ],
)
def test_a_command_crosses_redis_unchanged(command):
    assert decode(encode(command)) == command


def test_only_command_classes_are_rebuilt_from_the_wire():
    with pytest.raises(KeyError):
        decode({"__type__": "User", "fields": {}})


def test_behind_a_proxy_the_portal_takes_scheme_and_client_from_forwarded_headers(
    tmp_path,
):
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
            "PORTAL_PROXY_HOPS": 1,
        }
    )

    @app.get("/_where")
    def where() -> str:
        from flask import request, url_for

        return f"{request.remote_addr} {url_for('where', _external=True)}"

    answer = app.test_client().get(
        "/_where",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "portal.example.com",
        },
    )

    assert answer.text == "203.0.113.9 https://portal.example.com/_where"


def test_without_proxy_hops_forwarded_headers_are_not_trusted(tmp_path):
    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
        }
    )

    @app.get("/_scheme")
    def scheme() -> str:
        from flask import request

        return request.scheme

    answer = app.test_client().get("/_scheme", headers={"X-Forwarded-Proto": "https"})

    assert answer.text == "http"


def _app_with_scheduler(tmp_path, command: str | None):
    config = {
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
        "SCHEDULER_ENABLED": True,
    }
    if command is None:
        return create_app(config)
    with click.Context(click.Command(command), info_name=command):
        return create_app(config)


def test_a_cli_command_never_starts_the_scheduler(tmp_path):
    app = _app_with_scheduler(tmp_path, "upgrade")

    assert "scheduler" not in app.extensions


def test_the_server_started_by_flask_run_starts_the_scheduler(tmp_path):
    app = _app_with_scheduler(tmp_path, "run")

    assert "scheduler" in app.extensions
    app.extensions["scheduler_lock"].stop()


def test_a_second_portal_on_the_same_instance_folder_waits_for_the_scheduler(
    tmp_path,
):
    first = _app_with_scheduler(tmp_path, None)
    second = _app_with_scheduler(tmp_path, None)

    assert "scheduler" in first.extensions and "scheduler" not in second.extensions
    first.extensions["scheduler_lock"].stop()
    second.extensions["scheduler_lock"].stop()
