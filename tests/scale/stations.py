"""Simulated OCPP 1.6 stations that behave like real ones across a server restart:
they reconnect (trying each URL in turn, with a short random back-off), keep their
messages queued while disconnected and send each one until it is answered."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.exceptions import ConnectionClosed, InvalidHandshake


class _Station(ChargePoint):
    def __init__(self, owner: ReconnectingStation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner

    @on(Action.reset)
    def on_reset(self, **payload: Any) -> call_result.Reset:
        self.owner.resets += 1
        return call_result.Reset(status="Accepted")

    @on(Action.get_configuration)
    def on_get_configuration(self, **payload: Any) -> call_result.GetConfiguration:
        return call_result.GetConfiguration(configuration_key=[])


class ReconnectingStation:
    """One station; `send()` queues a message and returns its answer when it comes."""

    def __init__(self, chargebox_id: str, urls: list[str]) -> None:
        self.chargebox_id = chargebox_id
        self.urls = urls
        self.connected_to: str | None = None
        self.connections = 0
        self.close_codes: list[int | None] = []
        self.resets = 0
        self.connected = asyncio.Event()
        self._queue: deque[tuple[Any, asyncio.Future[Any]]] = deque()
        self._wakeup = asyncio.Event()
        self._stopped = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopped = True
        self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def send(self, payload: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((payload, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        attempt = 0
        while not self._stopped:
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                ws = await websockets.connect(
                    f"{url}/Ocpp/websocket/{self.chargebox_id}",
                    subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                    open_timeout=5,
                    close_timeout=2,
                )
            except (OSError, TimeoutError, InvalidHandshake):
                await asyncio.sleep(random.uniform(0.1, 0.4))
                continue
            self.connected_to = url
            self.connections += 1
            await self._serve(ws)
            self.connected.clear()
            self.connected_to = None
            self.close_codes.append(ws.close_code)
            await asyncio.sleep(random.uniform(0.05, 0.3))

    async def _serve(self, ws: Any) -> None:
        cp = _Station(self, self.chargebox_id, ws, response_timeout=10)
        reader = asyncio.create_task(cp.start())
        try:
            if not await self._call(cp, reader, _boot()):
                return
            self.connected.set()
            while not reader.done():
                if not self._queue:
                    self._wakeup.clear()
                    waiter = asyncio.create_task(self._wakeup.wait())
                    await asyncio.wait({waiter, reader}, return_when="FIRST_COMPLETED")
                    waiter.cancel()
                    continue
                payload, future = self._queue[0]
                if future.cancelled():
                    self._queue.popleft()
                    continue
                answered = await self._call(cp, reader, payload)
                if answered is None:
                    return  # connection gone: the message stays queued
                self._queue.popleft()
                future.set_result(answered)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await ws.close()

    async def _call(
        self, cp: _Station, reader: asyncio.Task[None], payload: Any
    ) -> Any:
        """Send one message; its answer, or None if the connection went first."""
        request = asyncio.create_task(cp.call(payload, suppress=False))
        await asyncio.wait({request, reader}, return_when="FIRST_COMPLETED")
        if not request.done():
            request.cancel()
            await asyncio.gather(request, return_exceptions=True)
            return None
        try:
            return request.result()
        except (ConnectionClosed, TimeoutError):
            return None


def _boot() -> call.BootNotification:
    return call.BootNotification(charge_point_vendor="Scale", charge_point_model="Sim")
