"""The portal's station handler: each OCPP 1.6 message → one service call → commit.

Runs in a handler thread (ocpp_server/v16/loop.py BatchExecutor) inside an app
context. The messages that queued up while the thread was busy come as one batch
(`run_batch`) and are one unit of work: the services flush, this commits once, and
only then are they answered. When any message of a batch fails, the batch is rolled
back and its messages are run again one by one, each its own unit of work, so a
failure still rolls back only its own message and answers InternalError (the
station sends it again) while the others are stored. When the database itself fails
(down, or locked past its timeout), every message of the batch answers InternalError
at once: run one by one, each would wait for the database again.

Per connection it remembers when the station's last-seen time was last written
(`_seen`): a Heartbeat inside `stations.LAST_SEEN_RESOLUTION` of that is answered
without touching the database (the coalesced heartbeat of issue 10). Every other
message is persisted before its answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask
from ocpp.exceptions import InternalError, SecurityError
from ocpp.v16 import call_result
from sqlalchemy.exc import DBAPIError, OperationalError

from app.extensions import db
from app.models import ChargingSession, Station, utcnow
from app.services import charging, stations
from ocpp_server.v16 import translate
from ocpp_server.websocket.calls import CallContext, Payload, StationCall
from ocpp_server.websocket.loop import Outcome

log = logging.getLogger(__name__)
T = TypeVar("T")


class PortalStationHandler:
    """Implements handlers.StationHandler with app.services."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        # chargebox id -> last_seen_at as committed, while the station is online
        self._seen: dict[str, datetime] = {}
        # per thread: the batch it runs (_Batch), if any
        self._local = threading.local()

    def run_batch(self, calls: Sequence[StationCall]) -> list[Outcome]:
        if len(calls) > 1:
            with self._app.app_context():
                batch = _Batch(
                    {call.ctx.chargebox_id for call in calls},
                    {c.ctx.chargebox_id for c in calls if c.method in _READ_KEY_TABLE},
                )
                self._local.batch = batch
                try:
                    results = [self._dispatch(call) for call in calls]
                    db.session.commit()
                except Exception as exc:
                    db.session.rollback()
                    for chargebox_id in batch.chargebox_ids:
                        self._seen.pop(chargebox_id, None)
                    if _database_unavailable(exc):  # one by one would wait N times
                        log.warning(
                            "database unavailable: %d messages refused", len(calls)
                        )
                        return [(None, _unavailable(exc)) for _ in calls]
                    log.info("a batch of %d failed; one by one now", len(calls))
                else:
                    self._remember(batch.seen)
                    return [(result, None) for result in results]
                finally:
                    self._local.batch = None
        return [_attempt(self._dispatch, call) for call in calls]

    def _dispatch(self, call: StationCall) -> Any:
        return getattr(self, call.method)(call.ctx, call.payload)

    def _remember(self, seen: dict[str, datetime | None]) -> None:
        for chargebox_id, at in seen.items():
            if at is None:
                self._seen.pop(chargebox_id, None)
            else:
                self._seen[chargebox_id] = at

    @contextmanager
    def _unit_of_work(self, chargebox_id: str) -> Iterator[Station]:
        batch: _Batch | None = getattr(self._local, "batch", None)
        if batch is not None:  # in a batch: run_batch commits, or rolls back
            station = batch.station(chargebox_id)
            if station is None:
                raise SecurityError(description="Unknown station")
            yield station
            batch.seen[chargebox_id] = station.last_seen_at if station.online else None
            return
        with self._app.app_context():
            try:
                station = stations.find_station(chargebox_id)
                if station is None:  # removed while connected
                    raise SecurityError(description="Unknown station")
                yield station
                seen = station.last_seen_at if station.online else None
                db.session.commit()
                if seen is not None:
                    self._seen[chargebox_id] = seen
                else:
                    self._seen.pop(chargebox_id, None)
            except Exception as exc:
                db.session.rollback()
                self._seen.pop(chargebox_id, None)
                if isinstance(exc, SecurityError):
                    raise
                if _database_unavailable(exc):  # not the message's fault: no trace
                    log.warning("%s: database unavailable: %s", chargebox_id, exc)
                else:
                    log.exception(
                        "%s: message failed, station will retry", chargebox_id
                    )
                raise InternalError(
                    description="The central system could not store this"
                ) from exc

    def _run(self, ctx: CallContext, work: Callable[[Station], T]) -> T:
        with self._unit_of_work(ctx.chargebox_id) as station:
            return work(station)

    def boot_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.BootNotification:
        info = stations.BootInfo(
            vendor=payload["charge_point_vendor"],
            model=payload["charge_point_model"],
            serial_number=payload.get("charge_point_serial_number")
            or payload.get("charge_box_serial_number")
            or "",
            firmware_version=payload.get("firmware_version") or "",
        )
        result = self._run(ctx, lambda station: stations.record_boot(station, info))
        return call_result.BootNotification(
            current_time=translate.format_time(result.now),
            interval=result.heartbeat_interval,
            status=translate.BOOT[result.status],
        )

    def heartbeat(self, ctx: CallContext, payload: Payload) -> call_result.Heartbeat:
        if stations.seen_recently(self._seen.get(ctx.chargebox_id)):
            now = utcnow()  # coalesced: last seen was written moments ago
        else:
            now = self._run(ctx, stations.record_heartbeat)
        return call_result.Heartbeat(current_time=translate.format_time(now))

    def status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StatusNotification:
        outlet_status, fault = translate.status(payload)
        self._run(
            ctx,
            lambda station: stations.record_status(
                station,
                payload["connector_id"],
                outlet_status,
                fault=fault,
                error_code=""
                if payload["error_code"] == "NoError"
                else payload["error_code"],
                info=" ".join(
                    filter(
                        None, [payload.get("info"), payload.get("vendor_error_code")]
                    )
                ),
                timestamp=translate.parse_time(payload.get("timestamp")),
            ),
        )
        return call_result.StatusNotification()

    def authorize(self, ctx: CallContext, payload: Payload) -> call_result.Authorize:
        result = self._run(
            ctx, lambda station: charging.authorize(station, payload["id_tag"])
        )
        return call_result.Authorize(id_tag_info=translate.id_tag_info(result))

    def start_transaction(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StartTransaction:
        started_at = translate.parse_time(payload["timestamp"]) or utcnow()

        def start(station: Station) -> tuple[int, charging.Authorization]:
            result = charging.start_session(
                station,
                payload["connector_id"],
                payload["id_tag"],
                payload["meter_start"],
                started_at,
                reservation_id=payload.get("reservation_id"),
            )
            return (
                result.session.id,
                result.authorization,
            )  # plain values outlive the commit

        session_id, authorization = self._run(ctx, start)
        return call_result.StartTransaction(
            transaction_id=session_id, id_tag_info=translate.id_tag_info(authorization)
        )

    def meter_values(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.MeterValues:
        samples = translate.samples(payload.get("meter_value", []))
        self._run(
            ctx,
            lambda station: charging.record_meter_values(
                station, payload["connector_id"], samples, payload.get("transaction_id")
            ),
        )
        return call_result.MeterValues()

    def stop_transaction(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.StopTransaction:
        ended_at = translate.parse_time(payload["timestamp"]) or utcnow()
        tag = payload.get("id_tag")

        def stop(station: Station) -> charging.Authorization | None:
            return charging.stop_session(
                station,
                payload["transaction_id"],
                payload["meter_stop"],
                ended_at,
                reason=payload.get("reason") or "Local",
                tag_text=tag,
                samples=translate.samples(payload.get("transaction_data") or []),
            ).authorization

        authorization = self._run(ctx, stop)
        if authorization is None:
            return call_result.StopTransaction()
        return call_result.StopTransaction(
            id_tag_info=translate.id_tag_info(authorization)
        )

    def data_transfer(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.DataTransfer:
        status = self._run(
            ctx,
            lambda station: stations.record_data_transfer(
                station,
                payload["vendor_id"],
                payload.get("message_id"),
                payload.get("data"),
            ),
        )
        return call_result.DataTransfer(status=translate.DATA_TRANSFER[status])

    def diagnostics_status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.DiagnosticsStatusNotification:
        self._run(
            ctx,
            lambda station: stations.record_diagnostics_status(
                station, payload["status"]
            ),
        )
        return call_result.DiagnosticsStatusNotification()

    def firmware_status_notification(
        self, ctx: CallContext, payload: Payload
    ) -> call_result.FirmwareStatusNotification:
        self._run(
            ctx,
            lambda station: stations.record_firmware_status(station, payload["status"]),
        )
        return call_result.FirmwareStatusNotification()

    # Lifecycle (the endpoint logs a failure, never raises it into the transport)

    def station_connected(self, ctx: CallContext, payload: Payload) -> None:
        """The station's connection opened: it is online. The endpoint hands this
        in like a station message, so a storm of connects is batched too."""
        self._seen.pop(ctx.chargebox_id, None)
        self._run(ctx, stations.mark_connected)

    def station_disconnected(self, ctx: CallContext, payload: Payload) -> None:
        """The connection closed; a replaced one speaks for the station no more."""
        if payload.get("replaced"):
            return  # the newer connection speaks for the station now
        self._seen.pop(ctx.chargebox_id, None)
        self._run(ctx, stations.mark_disconnected)

    def configuration_received(self, ctx: CallContext, payload: Payload) -> None:
        """Store the key table the station sent on first contact
        (``payload["outcome"]``), batched with the station messages: a storm's
        first contacts share their units of work."""
        result = translate.to_result(payload["outcome"])
        if not result.ok:
            log.warning(
                "%s: configuration not fetched: %s", ctx.chargebox_id, result.status
            )
            return
        keys = [
            stations.ConfigKey(k["key"], k["value"], bool(k["readonly"]))
            for k in result.data["keys"]
        ]
        self._run(
            ctx,
            lambda station: stations.store_configuration(
                station, keys, result.data["unknown_keys"]
            ),
        )


#: the calls that read the station's key table (a boot: is it the first contact?)
_READ_KEY_TABLE = frozenset({"boot_notification", "configuration_received"})


@dataclass
class _Batch:
    """What a handler thread holds while it runs a batch."""

    chargebox_ids: set[str]
    #: the stations whose key table a call of the batch reads (_READ_KEY_TABLE)
    reading_key_table: set[str] = field(default_factory=set)
    # chargebox id -> last seen to remember once committed (None: forget)
    seen: dict[str, datetime | None] = field(default_factory=dict)
    _stations: dict[str, Station] | None = None
    _sessions: list[ChargingSession] = field(default_factory=list)

    def station(self, chargebox_id: str) -> Station | None:
        """The station, its outlets and running sessions loaded with those of the
        whole batch on first need (a batch of coalesced heartbeats needs none)."""
        if self._stations is None:
            self._stations = stations.find_stations(
                self.chargebox_ids, with_configuration=self.reading_key_table
            )
            # held here: the session's identity map keeps them only weakly
            self._sessions = charging.running_sessions(
                [station.id for station in self._stations.values()]
            )
        return self._stations.get(chargebox_id)


def _database_unavailable(exc: BaseException | None) -> bool:
    """The database itself failed (down, locked past its timeout), not the message."""
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def _unavailable(exc: Exception) -> InternalError:
    error = InternalError(description="The central system could not store this")
    error.__cause__ = exc
    return error


def _attempt(fn: Callable[[StationCall], Any], call: StationCall) -> Outcome:
    try:
        return fn(call), None
    except Exception as exc:
        return None, exc
