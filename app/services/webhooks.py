"""Webhooks: tell each service with a URL what happened on its outlets (spec §8).

Domain signals (session started / stopped, meter values, outlet status) become rows
of a persistent outbox, one per interested service: an active service with a URL
and an id for the outlet. Each service's events are POSTed in order (by id), one
deliverer per service at a time (a lease row, so several worker processes never
deliver the same service at once), signed with the service's signing secret:

    X-ChargePortal-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

A failed attempt is retried with exponential backoff (API_WEBHOOK_RETRY_BASE
doubling up to API_WEBHOOK_RETRY_MAX); after API_WEBHOOK_MAX_ATTEMPTS the event is
marked failed and the next one goes. Every attempt is logged (WebhookDelivery).
Delivery starts at once after an event is stored; retries are timers in this
process, and the "webhook-delivery" job picks up whatever is due (after a
restart, or events of another process).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    ApiCommand,
    ChargingSession,
    CommandKind,
    DeliveryState,
    ExternalService,
    Outlet,
    OutletServiceId,
    OutletStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookLease,
    utcnow,
)
from app.services import api_access, background, remote_charging, signals

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ChargePortal-Signature"
SESSION_STARTED = "session.started"
SESSION_STOPPED = "session.stopped"
METER_UPDATE = "session.meter_update"
OUTLET_STATUS = "outlet.status_changed"
EVENT_KINDS = (SESSION_STARTED, SESSION_STOPPED, METER_UPDATE, OUTLET_STATUS)
_LEASE_SECONDS = 120
# How long the in-process list of subscribed outlets is trusted (changes made in
# this process clear it at once; another process's changes show within this).
_SUBSCRIBERS_TTL = 10.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """Check a signature header (what a receiver does; used by the tests and docs)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


# ---------------------------------------------------------------------------
# Per-app state of this process: the FIFO of announced events, who is delivering


@dataclass
class _State:
    app: Flask
    announced: deque[tuple[str, dict[str, Any]]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    draining: bool = False
    delivering: set[int] = field(default_factory=set)
    again: set[int] = field(default_factory=set)
    timers: dict[int, threading.Timer] = field(default_factory=dict)
    subscribers: dict[int, tuple[int, ...]] | None = None
    subscribers_at: float = 0.0
    closed: bool = False


def _state(app: Flask) -> _State:
    state: _State | None = app.extensions.get("webhooks")
    if state is None:
        state = app.extensions.setdefault("webhooks", _State(app))
    return state


def subscribers_changed() -> None:
    """Forget the cached subscriptions (a service, its URL or an outlet id changed)."""
    _state(current_app._get_current_object()).subscribers = None  # type: ignore[attr-defined]


def _subscribers(state: _State) -> dict[int, tuple[int, ...]]:
    """Return {outlet id: ids of the services that want its events}."""
    fresh = time.monotonic() - state.subscribers_at < _SUBSCRIBERS_TTL
    if state.subscribers is not None and fresh:
        return state.subscribers
    rows = db.session.execute(
        select(OutletServiceId.outlet_id, OutletServiceId.service_id)
        .join(ExternalService, ExternalService.id == OutletServiceId.service_id)
        .where(ExternalService.active.is_(True), ExternalService.url != "")
    )
    found: dict[int, list[int]] = {}
    for outlet_id, service_id in rows:
        found.setdefault(outlet_id, []).append(service_id)
    state.subscribers = {k: tuple(sorted(v)) for k, v in found.items()}
    state.subscribers_at = time.monotonic()
    return state.subscribers


# ---------------------------------------------------------------------------
# Receivers: announced events go, in order, into the outbox


def _receiver(kind: str) -> Any:
    def receive(sender: Flask | None, **data: Any) -> None:
        if sender is None:
            return
        state = _state(sender)
        known = state.subscribers
        fresh = time.monotonic() - state.subscribers_at < _SUBSCRIBERS_TTL
        if known is not None and fresh and data.get("outlet_id") not in known:
            return  # nobody listens to this outlet: no work at all
        if kind == METER_UPDATE and data.get("session_id") is None:
            return  # a reading outside any session is nobody's business
        with state.lock:
            state.announced.append((kind, data))
            if state.draining:
                return
            state.draining = True
        background.submit(sender, _drain, sender)

    receive.__name__ = f"webhook_{kind.replace('.', '_')}"
    return receive


_RECEIVERS = {
    signals.session_started: _receiver(SESSION_STARTED),
    signals.session_stopped: _receiver(SESSION_STOPPED),
    signals.meter_values_recorded: _receiver(METER_UPDATE),
    signals.outlet_status_changed: _receiver(OUTLET_STATUS),
}


def init_app(app: Flask) -> None:
    """Connect the receivers (once per process) and make this app's state."""
    for signal, receiver in _RECEIVERS.items():
        signal.connect(receiver)
    _state(app)


def _drain(app: Flask) -> None:
    """Store every announced event in announcement order, then start deliveries."""
    state = _state(app)
    services: set[int] = set()
    while True:
        with state.lock:
            if not state.announced:
                state.draining = False
                break
            kind, data = state.announced.popleft()
        try:
            services.update(enqueue(kind, data))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("webhook event %s could not be stored", kind)
    for service_id in services:
        kick(app, service_id)


def enqueue(kind: str, data: dict[str, Any]) -> list[int]:
    """Add one outbox row per interested service; return their ids."""
    outlet_id = data.get("outlet_id")
    if outlet_id is None:
        return []
    service_ids = _subscribers(_state(current_app._get_current_object())).get(  # type: ignore[attr-defined]
        outlet_id, ()
    )
    if not service_ids:
        return []
    outlet = db.session.get(Outlet, outlet_id)
    if outlet is None:
        return []
    if kind == SESSION_STARTED:
        remote_charging.advance_outlet(outlet_id)  # so started_by_you is known
    body = _event_data(kind, outlet, data)
    ids = api_access.external_ids_by_service(outlet.id, service_ids)
    stored = []
    for service_id in service_ids:
        if service_id not in ids:
            continue
        event = WebhookEvent(service_id=service_id, kind=kind, payload="")
        db.session.add(event)
        db.session.flush()
        event_data: dict[str, Any] = {
            **body,
            "outlet": {**body["outlet"], "id": ids[service_id]},
        }
        if kind != OUTLET_STATUS:
            event_data["started_by_you"] = _started_by(
                data.get("session_id"), service_id
            )
        payload = {
            "id": event.uuid,
            "type": kind,
            "sequence": event.id,
            "created_at": _iso(event.created_at or utcnow()),
            "data": event_data,
        }
        event.payload = json.dumps(payload, separators=(",", ":"))
        stored.append(service_id)
    db.session.flush()
    return stored


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _started_by(session_id: int | None, service_id: int) -> bool:
    if session_id is None:
        return False
    return (
        db.session.scalar(
            select(ApiCommand.id).where(
                ApiCommand.kind == CommandKind.START,
                ApiCommand.session_id == session_id,
                ApiCommand.service_id == service_id,
            )
        )
        is not None
    )


def _event_data(kind: str, outlet: Outlet, data: dict[str, Any]) -> dict[str, Any]:
    station = outlet.station
    body: dict[str, Any] = {
        "outlet": {"uuid": outlet.uuid, "number": outlet.number},
        "station": {"uuid": station.uuid, "name": station.name},
    }
    if kind == OUTLET_STATUS:
        # The status announced, not the outlet's by now (events keep their order).
        status = str(data.get("status") or outlet.status.value)
        body["status"] = status
        body["available"] = station.online and status == OutletStatus.AVAILABLE.value
        return body
    session = db.session.get(ChargingSession, data["session_id"])
    if session is not None:
        body["session"] = {
            "id": session.id,
            "started_at": _iso(session.started_at),
            "ended_at": _iso(session.ended_at),
            "meter_start_kwh": session.meter_start_kwh,
            "meter_kwh": session.meter_kwh,
            "energy_kwh": session.energy_kwh,
            "stop_reason": session.stop_reason or None,
        }
    return body


# ---------------------------------------------------------------------------
# Delivery


def kick(app: Flask, service_id: int) -> None:
    """Deliver a service's due events on the background pool (one deliverer at a time)."""
    state = _state(app)
    with state.lock:
        if state.closed:
            return
        if service_id in state.delivering:
            state.again.add(service_id)
            return
        state.delivering.add(service_id)
        timer = state.timers.pop(service_id, None)
    if timer is not None:
        timer.cancel()
    background.submit(app, _deliver_loop, app, service_id)


def _deliver_loop(app: Flask, service_id: int) -> None:
    state = _state(app)
    next_due: datetime | None = None
    try:
        while True:
            next_due = deliver_service(service_id)
            with state.lock:
                if service_id in state.again:
                    state.again.discard(service_id)
                    continue
                state.delivering.discard(service_id)
                break
    except Exception:
        with state.lock:
            state.delivering.discard(service_id)
        raise
    if next_due is not None:
        _retry_at(app, service_id, next_due)


def _retry_at(app: Flask, service_id: int, due: datetime) -> None:
    state = _state(app)
    delay = max(0.0, (due - utcnow()).total_seconds())
    timer = threading.Timer(delay, kick, args=(app, service_id))
    timer.daemon = True
    with state.lock:
        if state.closed:
            return
        old = state.timers.pop(service_id, None)
        state.timers[service_id] = timer
    if old is not None:
        old.cancel()
    timer.start()


def shutdown(app: Flask) -> None:
    """Cancel this process's pending retries for an app (tests, shutdown)."""
    state = _state(app)
    with state.lock:
        state.closed = True
        timers = list(state.timers.values())
        state.timers.clear()
    for timer in timers:
        timer.cancel()


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:80]


def _take_lease(service_id: int, owner: str) -> bool:
    now = utcnow()
    if db.session.get(WebhookLease, service_id) is None:
        db.session.add(WebhookLease(service_id=service_id, owner="", until=None))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
    taken = db.session.execute(
        update(WebhookLease)
        .where(
            WebhookLease.service_id == service_id,
            (WebhookLease.until.is_(None))
            | (WebhookLease.until < now)
            | (WebhookLease.owner == owner),
        )
        .values(owner=owner, until=now + timedelta(seconds=_LEASE_SECONDS))
    )
    db.session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def _release_lease(service_id: int, owner: str) -> None:
    db.session.execute(
        update(WebhookLease)
        .where(WebhookLease.service_id == service_id, WebhookLease.owner == owner)
        .values(until=None)
    )
    db.session.commit()


def deliver_service(service_id: int) -> datetime | None:
    """POST the service's pending events in order; return when to try again, if due.

    Commits after each attempt (what left the process is recorded at once).
    """
    owner = _owner()
    if not _take_lease(service_id, owner):
        return utcnow() + timedelta(seconds=_LEASE_SECONDS)
    try:
        while True:
            service = db.session.get(ExternalService, service_id)
            if service is None or not service.active or not service.url:
                return None
            event = db.session.scalars(
                select(WebhookEvent)
                .where(
                    WebhookEvent.service_id == service_id,
                    WebhookEvent.state == DeliveryState.PENDING,
                )
                .order_by(WebhookEvent.id)
                .limit(1)
            ).first()
            if event is None:
                return None
            if event.next_attempt_at > utcnow():
                return event.next_attempt_at
            _attempt(service, event)
            db.session.commit()
            _take_lease(service_id, owner)  # renew
    finally:
        db.session.rollback()
        _release_lease(service_id, owner)


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    base = float(config["API_WEBHOOK_RETRY_BASE"])
    ceiling = float(config["API_WEBHOOK_RETRY_MAX"])
    return timedelta(seconds=min(ceiling, base * 2 ** max(0, attempts - 1)))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not a new address to post to


_opener = urllib.request.build_opener(_NoRedirect)


def _attempt(service: ExternalService, event: WebhookEvent) -> None:
    body = event.payload.encode()
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 (http(s) only: checked on save)
        service.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "ChargePortal-Webhooks/1",
            "X-ChargePortal-Event": event.kind,
            "X-ChargePortal-Delivery": event.uuid,
            SIGNATURE_HEADER: sign(api_access.signing_secret(service), timestamp, body),
        },
    )
    status: int | None = None
    error = ""
    started = time.monotonic()
    try:
        with _opener.open(
            request, timeout=float(current_app.config["API_WEBHOOK_TIMEOUT"])
        ) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        error = f"{type(exc).__name__}: {reason}"
    duration = int((time.monotonic() - started) * 1000)
    event.attempts += 1
    now = utcnow()
    db.session.add(
        WebhookDelivery(
            event_id=event.id,
            service_id=service.id,
            attempted_at=now,
            attempt=event.attempts,
            status_code=status,
            error=error[:300],
            duration_ms=duration,
        )
    )
    event.last_status_code = status
    event.last_error = error[:300]
    if status is not None and 200 <= status < 300:
        event.state = DeliveryState.DELIVERED
        event.delivered_at = now
        return
    log.info(
        "webhook %s to service %s failed (attempt %s): %s",
        event.kind,
        service.id,
        event.attempts,
        error or status,
    )
    if event.attempts >= int(current_app.config["API_WEBHOOK_MAX_ATTEMPTS"]):
        event.state = DeliveryState.FAILED
    else:
        event.next_attempt_at = now + _backoff(event.attempts)


def deliver_due() -> int:
    """Deliver every service's due events now (the job); return how many went out."""
    before = _delivered_count()
    for service_id in _services_with_due_events():
        deliver_service(service_id)
    purge_old_events()
    db.session.commit()
    return _delivered_count() - before


def _services_with_due_events() -> Iterable[int]:
    return list(
        db.session.scalars(
            select(WebhookEvent.service_id)
            .where(
                WebhookEvent.state == DeliveryState.PENDING,
                WebhookEvent.next_attempt_at <= utcnow(),
            )
            .distinct()
        )
    )


def _delivered_count() -> int:
    return (
        db.session.scalar(
            select(func.count(WebhookEvent.id)).where(
                WebhookEvent.state == DeliveryState.DELIVERED
            )
        )
        or 0
    )


def purge_old_events() -> int:
    """Delete finished events (and their delivery log) older than API_WEBHOOK_LOG_DAYS."""
    cutoff = utcnow() - timedelta(days=int(current_app.config["API_WEBHOOK_LOG_DAYS"]))
    old = select(WebhookEvent.id).where(
        WebhookEvent.created_at < cutoff,
        WebhookEvent.state != DeliveryState.PENDING,
    )
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(old)))
    result = db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def redeliver(event: WebhookEvent) -> None:
    """Put a failed event back in its service's queue (an administrator's retry)."""
    if event.state is DeliveryState.FAILED:
        event.state = DeliveryState.PENDING
        event.attempts = 0
        event.next_attempt_at = utcnow()
        db.session.flush()
