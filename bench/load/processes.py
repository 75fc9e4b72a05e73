"""Processes of the benchmark: open-file limits, CPU and memory from /proc, spawning."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import resource
import select
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.load.settings import HOST, ROOT


def nofile_target(stations: int) -> int:
    """An open-file limit well above what N connections need on either side."""
    return max(8192, 4 * stations + 4096)


def raise_nofile(target: int) -> int:
    """Raise RLIMIT_NOFILE to ``target`` (the hard limit too, when allowed)."""
    with contextlib.suppress(OSError, ValueError):
        target = min(target, int(Path("/proc/sys/fs/nr_open").read_text()))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
        except (OSError, ValueError):
            target = hard  # not privileged: the hard limit is the ceiling
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (all their threads)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all CPUs, /proc/stat)."""
    fields = [
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        match = re.search(
            rf"^{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M
        )
        if match:
            return int(match.group(1))
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class LineReader:
    """Reads JSON lines from a child's stdout with a deadline (no threads)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.process = process
        self.fd = process.stdout.fileno()
        self.buffer = b""

    def read(self, deadline: float) -> dict[str, Any] | None:
        """The next JSON object the child printed; None on timeout or exit."""
        while True:
            if b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                if line.strip().startswith(b"{"):
                    result: dict[str, Any] = json.loads(line)
                    return result
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    return None
                self.buffer += chunk


def spawn(
    command: list[str], *, env: dict[str, str], nofile: int, **kwargs: Any
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        preexec_fn=functools.partial(raise_nofile, nofile),  # noqa: PLW1509 (no threads here)
        start_new_session=True,  # its own process group: stopped as a whole
        **kwargs,
    )
