"""Commands across workers: Redis tells which worker holds a station's WebSocket.

A station's OCPP-J connection lives in one worker process (ocpp_server/websocket). With
``REDIS_URL`` set, every worker

* writes ``<prefix>station:<chargebox id>`` = its worker id when a station connects
  (with an expiry of ``OCPP_ROUTING_TTL`` seconds, refreshed every third of it) and
  deletes it when the station leaves - only if it still names this worker, so a
  station that already reconnected elsewhere keeps its new entry;
* subscribes to its own channel ``<prefix>worker:<worker id>``, on which other
  workers publish the commands for its stations; it sends each one over the local
  connection and pushes the result onto the list named in the request, where the
  caller waits for it (BLPOP) up to the command timeout.

:class:`RoutingGateway` wraps the in-process gateway, so app/services/commands.py
keeps its interface. OCPP 1.5 (SOAP) commands go straight out from any worker: the
portal is the HTTP client there. Without ``REDIS_URL`` none of this is used.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime
from typing import Any

import redis

from app.models import Protocol
from app.services import commands
from app.services.commands import Command, CommandResult, CommandStatus, StationAddress
from ocpp_server.gateway import ProtocolGateway
from ocpp_server.websocket.connection import StationConnection
from ocpp_server.websocket.registry import ConnectionRegistry

log = logging.getLogger(__name__)

#: extra seconds a caller waits past the command timeout for the owner's answer
REPLY_GRACE = 3.0
#: how long an unread reply stays in Redis
REPLY_TTL = 60

# SET the key to this worker unless another worker holds it; refresh the expiry.
_CLAIM_IF_FREE = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""
# DEL the key only if it still names this worker.
_RELEASE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# ---------------------------------------------------------------- wire format

_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in vars(commands).values()
    if isinstance(cls, type)
    and dataclasses.is_dataclass(cls)
    and cls.__module__ == commands.__name__
    and cls not in (CommandResult, StationAddress)
}


def encode(value: Any) -> Any:
    """Commands (frozen dataclasses, datetimes, tuples) as JSON-able values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
        return {"__type__": type(value).__name__, "fields": fields}
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`; only the command classes are rebuilt."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    if "__tuple__" in value:
        return tuple(decode(item) for item in value["__tuple__"])
    if "__type__" in value:
        cls = _TYPES[value["__type__"]]  # KeyError: not a command class
        return cls(**{key: decode(item) for key, item in value["fields"].items()})
    return {key: decode(item) for key, item in value.items()}


def _result_to_json(result: CommandResult) -> str:
    return json.dumps(
        {
            "status": result.status.value,
            "detail": result.detail,
            "data": encode(result.data),
        }
    )


def _result_from_json(raw: bytes | str) -> CommandResult:
    body = json.loads(raw)
    return CommandResult(
        CommandStatus(body["status"]), body["detail"], decode(body["data"])
    )


# ----------------------------------------------------------------- the router


class Router:
    """This worker's side of the routing: its stations in Redis, its channel."""

    def __init__(
        self,
        client: redis.Redis,
        registry: ConnectionRegistry,
        local: ProtocolGateway,
        *,
        prefix: str = "charge-portal:",
        ttl: float = 60.0,
        executor_workers: int = 16,
    ) -> None:
        self.redis = client
        self.registry = registry
        self.local = local
        self.prefix = prefix
        self.ttl = max(3, round(ttl))
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._executor_workers = executor_workers
        self._claim = client.register_script(_CLAIM_IF_FREE)
        self._release = client.register_script(_RELEASE_IF_MINE)
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._subscribed = threading.Event()
        registry.listeners.append(self._on_registry_change)

    # --------------------------------------------------------------- names

    def station_key(self, chargebox_id: str) -> str:
        return f"{self.prefix}station:{chargebox_id}"

    def channel(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}"

    def owner(self, chargebox_id: str) -> str | None:
        """The worker id Redis names for the station, or None."""
        raw = self.redis.get(self.station_key(chargebox_id))
        return raw.decode() if isinstance(raw, bytes) else raw

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the listener and the refresher (once per process; after a fork too)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            if self._pid is not None:  # forked: the parent's threads are not here
                self.worker_id = (
                    f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
                )
            self._pid = os.getpid()
            self._stop.clear()
            self._subscribed.clear()
            self._executor = concurrent.futures.ThreadPoolExecutor(
                self._executor_workers, thread_name_prefix="ocpp-routed"
            )
            self._threads = [
                threading.Thread(
                    target=self._listen, name="ocpp-route-listen", daemon=True
                ),
                threading.Thread(
                    target=self._refresh, name="ocpp-route-refresh", daemon=True
                ),
            ]
            for thread in self._threads:
                thread.start()
        self._subscribed.wait(5)

    def stop(self, wait: float = 10.0) -> None:
        """Leave: no more routed commands, finish those running, drop our entries."""
        with self._lock:
            if self._pid != os.getpid():
                return
            self._pid = None
            self._stop.set()
            threads, executor = self._threads, self._executor
        for thread in threads:
            thread.join(wait)
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=False)
        try:
            for chargebox_id in self.registry.chargebox_ids():
                self._release(
                    keys=[self.station_key(chargebox_id)], args=[self.worker_id]
                )
        except redis.RedisError as exc:
            log.warning("routing: could not deregister from Redis: %s", exc)

    # ---------------------------------------------------- registry listener

    def _on_registry_change(
        self, chargebox_id: str, connection: StationConnection, registered: bool
    ) -> None:
        try:
            if registered:
                self.start()
                previous = self.redis.set(
                    self.station_key(chargebox_id),
                    self.worker_id,
                    ex=self.ttl,
                    get=True,
                )
                previous_id = previous.decode() if isinstance(previous, bytes) else None
                if previous_id and previous_id != self.worker_id:
                    # The station left that worker without it noticing: let it go.
                    self._publish(
                        previous_id, {"kind": "drop", "station": chargebox_id}
                    )
            else:
                self._release(
                    keys=[self.station_key(chargebox_id)], args=[self.worker_id]
                )
        except redis.RedisError as exc:
            log.warning("routing: Redis unavailable for %s: %s", chargebox_id, exc)

    # ------------------------------------------------------------- sending

    def _publish(self, worker_id: str, message: dict[str, Any]) -> int:
        return int(self.redis.publish(self.channel(worker_id), json.dumps(message)))

    def forward(
        self, owner: str, station: StationAddress, command: Command, timeout: float
    ) -> CommandResult:
        """Have the owning worker send the command; wait for its result."""
        reply = f"{self.prefix}reply:{uuid.uuid4().hex}"
        request = {
            "kind": "command",
            "reply": reply,
            "station": dataclasses.asdict(station),
            "command": encode(command),
            "timeout": timeout,
        }
        if self._publish(owner, request) == 0:  # nobody listens: that worker is gone
            self._release(keys=[self.station_key(station.chargebox_id)], args=[owner])
            return CommandResult(CommandStatus.OFFLINE, "its worker is gone")
        answer = self.redis.blpop([reply], timeout=timeout + REPLY_GRACE)
        if answer is None:
            return CommandResult(CommandStatus.TIMED_OUT, "no answer from its worker")
        return _result_from_json(answer[1])

    # ----------------------------------------------------------- receiving

    def _listen(self) -> None:
        channel = self.channel(self.worker_id)
        while not self._stop.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(channel)
                self._subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message["type"] == "message":
                        self._dispatch(message["data"])
            except redis.RedisError as exc:
                log.warning("routing: listener lost Redis (%s), again in 1 s", exc)
                self._stop.wait(1.0)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()

    def _dispatch(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            if message.get("kind") == "drop":
                self._drop(message["station"])
                return
            station = StationAddress(**message["station"])
            command = decode(message["command"])
            timeout = float(message["timeout"])
            reply = str(message["reply"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("routing: ignoring a malformed request: %s", exc)
            return
        assert self._executor is not None
        self._executor.submit(self._answer, station, command, timeout, reply)

    def _answer(
        self, station: StationAddress, command: Command, timeout: float, reply: str
    ) -> None:
        result = self.local.send(station, command, timeout)
        try:
            pipe = self.redis.pipeline()
            pipe.rpush(reply, _result_to_json(result))
            pipe.expire(reply, REPLY_TTL)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("routing: could not return a result: %s", exc)

    def _drop(self, chargebox_id: str) -> None:
        connection = self.registry.get(chargebox_id)
        if connection is not None and self.owner(chargebox_id) != self.worker_id:
            connection.replaced = True
            connection.close_soon(reason="Connected to another worker")

    def _refresh(self) -> None:
        interval = self.ttl / 3
        while not self._stop.wait(interval):
            try:
                ids = self.registry.chargebox_ids()
                pipe = self.redis.pipeline(transaction=False)
                for chargebox_id in ids:
                    self._claim(
                        keys=[self.station_key(chargebox_id)],
                        args=[self.worker_id, self.ttl],
                        client=pipe,
                    )
                for chargebox_id, claimed in zip(ids, pipe.execute(), strict=True):
                    if not claimed:
                        self._drop(chargebox_id)
            except redis.RedisError as exc:
                log.warning("routing: could not refresh the station entries: %s", exc)


class RoutingGateway:
    """The StationGateway with routing: local if held here, else via the owner."""

    def __init__(self, local: ProtocolGateway, router: Router) -> None:
        self.local = local
        self.router = router

    def send(
        self, station: StationAddress, command: Command, timeout: float
    ) -> CommandResult:
        if not Protocol(station.protocol).websocket:
            return self.local.send(station, command, timeout)
        if station.chargebox_id in self.router.registry:
            return self.local.send(station, command, timeout)
        try:
            owner = self.router.owner(station.chargebox_id)
            if owner is None or owner == self.router.worker_id:
                return self.local.send(station, command, timeout)
            started = time.monotonic()
            result = self.router.forward(owner, station, command, timeout)
            log.debug(
                "%s: %s via %s in %.1f ms",
                station.chargebox_id,
                type(command).__name__,
                owner,
                (time.monotonic() - started) * 1000,
            )
            return result
        except redis.RedisError as exc:
            log.warning("routing: Redis unavailable: %s", exc)
            return CommandResult(CommandStatus.ERROR, "routing unavailable (Redis)")
