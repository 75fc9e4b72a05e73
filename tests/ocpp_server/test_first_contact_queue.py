"""The first-contact queue: bounded, and one job at a time while stations boot."""

from __future__ import annotations

import asyncio

from ocpp_server.websocket.first_contact import FirstContactQueue


async def _fill(queue: FirstContactQueue, jobs: int, gate: asyncio.Event) -> None:
    async def work() -> bool:
        await gate.wait()
        return True

    for n in range(jobs):
        queue.submit(f"CP-{n}", work)
        await asyncio.sleep(0.01)


def test_while_stations_keep_booting_one_first_contact_runs_at_a_time():
    async def scenario() -> tuple[int, int, int]:
        queue = FirstContactQueue(concurrency=4, quiet=0.3)
        gate = asyncio.Event()
        await _fill(queue, 10, gate)
        during = queue.running
        await asyncio.sleep(0.5)  # quiet: no station booted for longer than 0.3 s
        after = queue.running
        gate.set()
        while queue.finished < 10:
            await asyncio.sleep(0.01)
        return during, after, queue.peak

    during, after, peak = asyncio.run(scenario())
    assert during == 1
    assert after == 4
    assert peak == 4
