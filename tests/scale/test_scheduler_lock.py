"""The scheduler runs in one process across workers and machines (issue 9)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from tests.scale.conftest import eventually


def _runs(probe: Path) -> list[tuple[int, float]]:
    if not probe.exists():
        return []
    rows = [line.split() for line in probe.read_text().splitlines() if line.strip()]
    return [(int(pid), float(at)) for pid, at in rows]


@pytest.fixture
def two_schedulers(start_portals, tmp_path):
    probe = tmp_path / "probe-runs.txt"
    portals = start_portals(
        "A", "B", FLASK_SCHEDULER_ENABLED="true", SCALE_PROBE_FILE=str(probe)
    )
    return portals, probe


def test_the_scheduler_job_runs_once_not_twice_with_two_workers(two_schedulers):
    (a, b), probe = two_schedulers
    eventually(lambda: len(_runs(probe)) >= 1)
    time.sleep(4)

    runs = _runs(probe)
    assert {pid for pid, _ in runs} in ({a.worker_pid()}, {b.worker_pid()})
    times = sorted(at for _, at in runs)
    assert all(later - earlier > 0.5 for earlier, later in itertools.pairwise(times))


def test_the_other_worker_runs_the_scheduler_once_its_holder_dies(two_schedulers):
    (a, b), probe = two_schedulers
    holder_pid = eventually(lambda: _runs(probe) and _runs(probe)[0][0])
    holder, other = (a, b) if holder_pid == a.worker_pid() else (b, a)
    other_pid = other.worker_pid()

    holder.kill()

    eventually(lambda: any(pid == other_pid for pid, _ in _runs(probe)), timeout=10)
    assert {pid for pid, _ in _runs(probe)} == {holder_pid, other_pid}
