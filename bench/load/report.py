"""What a run measured, and how it is printed: the table, the ratio, the py-spy hot spots."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.load.settings import ROOT


@dataclass
class Row:
    server: str
    kind: str
    stations: int
    booted: int = 0
    held: int = 0
    ramp_s: float = 0.0
    #: seconds from the first connect until the last BootNotification was answered
    boot_s: float = 0.0
    #: seconds after the ramp until the first contact's configuration was stored
    settle_s: float | None = 0.0
    msgs_per_s: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    errors: Counter[str] = field(default_factory=Counter)
    rss_mb: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0
    log_tracebacks: int = 0
    #: server CPU seconds from before the first connect until settled (storm)
    storm_cpu_s: float = 0.0
    commands: str = ""  #: the command round trip across workers, if measured

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def cpu_us_per_msg(self) -> float:
        """The server's CPU (its cores over the window) per message answered."""
        if not self.msgs_per_s:
            return math.nan
        return self.server_cpu / self.msgs_per_s * 1e6


def percentile(ordered: list[int], fraction: float) -> float:
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


PACKAGES = {
    "sqlalchemy (ORM + Core)": ("sqlalchemy/",),
    "  of which pool checkout / connect / ping": ("sqlalchemy/pool/",),
    "app.services": ("app/services/",),
    "ocpp_server": ("ocpp_server/",),
    "  of which message log (frames.py + log_frames)": ("frames.py", "log_frames"),
    "ocpp library (routing, validation)": ("ocpp/",),
    "jsonschema": ("jsonschema/",),
    "simple_websocket + wsproto": ("simple_websocket/", "wsproto/"),
    "asyncio": ("asyncio/",),
    "flask / werkzeug / flask_sqlalchemy": ("flask/", "werkzeug/", "flask_sqlalchemy/"),
    "flask_babel / babel (lazy strings)": ("flask_babel/", "babel/"),
    "gunicorn": ("gunicorn/",),
}
PROJECT = ("app/", "ocpp_server/", "admin_views/")
#: leaf frames that hold no GIL: blocked in a lock, a queue, a selector or a socket
WAITS = re.compile(
    r"^(Condition\.wait|Event\.wait|_wait_for_tstate_lock|wait \(|"
    r"\w*Selector\.select|select \(|SimpleQueue\.get|Queue\.get|get \(queue|"
    r"_worker \(concurrent/futures/thread\.py\))"
)


def print_profile(path: Path, top: int = 15) -> None:
    """Hot spots from py-spy's collapsed stacks: package, self and project shares."""
    if not path.exists():
        print("py-spy wrote no profile")
        return
    own: Counter[str] = Counter()
    waits: Counter[str] = Counter()
    project: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        frames = [
            f.replace(str(ROOT) + "/", "").split("site-packages/")[-1] for f in frames
        ]
        total += count
        if WAITS.match(frames[-1]):
            waits[frames[-1]] += count
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            if any(f"({p}" in frame for p in PROJECT):
                project[frame] += count
        for name, needles in PACKAGES.items():
            if any(needle in frame for frame in frames for needle in needles):
                packages[name] += count
    if not total:
        print("py-spy recorded no samples")
        return
    idle = sum(waits.values())
    print(f"\nPortal worker profile (py-spy --gil, {total} samples):")
    print(
        f"  {100 * idle / total:5.1f} % no Python running (last GIL holder blocked in):"
    )
    for frame, count in waits.most_common(4):
        print(f"    {100 * count / total:5.1f} %  {frame}")
    print("  running, by package (inclusive):")
    for name in PACKAGES:
        print(f"    {100 * packages[name] / total:5.1f} %  {name}")
    print(f"  running, top {top} functions (self):")
    for frame, count in own.most_common(top):
        print(f"    {100 * count / total:5.1f} %  {frame}")
    print(f"  running, top {top} project functions (inclusive):")
    for frame, count in project.most_common(top):
        print(f"    {100 * count / total:5.1f} %  {frame}")


def ratio(portal: float, baseline: float) -> str:
    if not baseline or math.isnan(portal) or math.isnan(baseline):
        return "-"
    return f"{portal / baseline:.2f}x"


def print_table(rows: list[Row]) -> None:
    header = (
        f"| {'server':<9} | {'worker':<11} | {'stations':>8} | {'held':>6} | {'ramp s':>6} "
        f"| {'msg/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} | {'errors':>6} "
        f"| {'peak RSS MB':>11} | {'srv CPU':>7} | {'µs/msg':>7} | {'gen CPU':>7} "
        f"| {'other':>5} |"
    )
    print(header)
    print("|" + "|".join("-" * len(part) for part in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r.server:<9} | {r.kind:<11} | {r.stations:>8} | {r.held:>6} | {r.ramp_s:>6.1f} "
            f"| {r.msgs_per_s:>7.0f} | {r.p50_ms:>7.1f} | {r.p99_ms:>7.1f} | {r.max_ms:>7.0f} "
            f"| {r.error_count:>6} | {r.rss_mb:>11.0f} | {r.server_cpu:>7.2f} "
            f"| {r.cpu_us_per_msg:>7.0f} | {r.client_cpu:>7.2f} | {r.other_cpu:>5.2f} |"
        )
    portal = next((r for r in rows if r.server == "portal"), None)
    base = next((r for r in rows if r.server == "baseline"), None)
    if portal and base:
        print(
            f"| {'ratio':<9} | {'p/b':<11} | {'':>8} | {ratio(portal.held, base.held):>6} "
            f"| {ratio(portal.ramp_s, base.ramp_s):>6} "
            f"| {ratio(portal.msgs_per_s, base.msgs_per_s):>7} "
            f"| {ratio(portal.p50_ms, base.p50_ms):>7} | {ratio(portal.p99_ms, base.p99_ms):>7} "
            f"| {ratio(portal.max_ms, base.max_ms):>7} | {'':>6} "
            f"| {ratio(portal.rss_mb, base.rss_mb):>11} "
            f"| {ratio(portal.server_cpu, base.server_cpu):>7} "
            f"| {ratio(portal.cpu_us_per_msg, base.cpu_us_per_msg):>7} | {'':>7} "
            f"| {'':>5} |"
        )
    for r in rows:
        if r.commands:
            print(f"{r.server} commands across workers: {r.commands}")
    for r in rows:
        errors = {k: v for k, v in r.errors.items() if v}
        if errors or r.log_tracebacks:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items()))
            print(f"{r.server} errors: {detail or 'none'}; tracebacks in server log: "
                  f"{r.log_tracebacks}")  # fmt: skip


def print_storm(r: Row, concurrency: int) -> None:
    """The boot storm's figures (``--storm``)."""
    stored = (
        "not all within the wait"
        if r.settle_s is None
        else f"{r.ramp_s + r.settle_s:.1f} s"
    )
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items()) if v)
    print(
        f"Boot storm, {r.stations} stations ({r.kind}, up to {concurrency} "
        "connecting at a time per load generator): "
        f"{r.booted} Accepted, the last {r.boot_s:.1f} s after the first connect "
        f"(every connector status answered {r.ramp_s:.1f} s); "
        f"every first-contact configuration stored after {stored}; "
        f"errors {r.error_count}{f' ({errors})' if errors else ''}; "
        f"tracebacks in the server log {r.log_tracebacks}; peak RSS {r.rss_mb:.0f} MB; "
        f"server CPU {r.storm_cpu_s:.1f} s "
        f"({r.storm_cpu_s / max(1, r.stations) * 1000:.1f} ms per station)"
    )
