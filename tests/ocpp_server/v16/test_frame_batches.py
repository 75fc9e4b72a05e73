"""The message log's dispatcher gathers frames into batches (one write per batch)."""

from __future__ import annotations

import time

from ocpp_server.websocket.frames import Frame, FrameDispatcher


def test_frames_emitted_together_reach_the_hook_in_one_batch():
    batches: list[list[Frame]] = []
    dispatcher = FrameDispatcher(batches.append)
    dispatcher.emit("CB-1", "in", '[2,"1","Heartbeat",{}]')
    dispatcher.emit("CB-1", "out", '[3,"1",{"currentTime":"2026-01-01T00:00:00Z"}]')
    dispatcher.emit("CB-2", "in", '[2,"7","Heartbeat",{}]')
    assert dispatcher.flush()
    assert [len(batch) for batch in batches] == [3]
    assert [f.action for f in batches[0]] == ["Heartbeat"] * 3


def test_a_flush_does_not_wait_for_the_batch_to_fill():
    dispatcher = FrameDispatcher(lambda _batch: None)
    dispatcher.emit("CB-1", "in", '[2,"1","Heartbeat",{}]')
    started = time.monotonic()
    assert dispatcher.flush()
    assert time.monotonic() - started < FrameDispatcher.LINGER + 0.5
