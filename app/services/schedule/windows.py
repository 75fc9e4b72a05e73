"""Charging windows over a node chain at a moment: open or closed and by which rule,
why a start is refused now, and which outlets the schedule makes Unavailable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from app.models import Protocol, RuleKind, ScheduleRule, Station, WindowAction
from app.services.nodes import NodeRef
from app.services.schedule.rules import (
    applies,
    chain,
    describe,
    local_now,
    node_label,
    rules_on,
)


@dataclass(frozen=True)
class WindowState:
    """Whether charging is allowed at a moment, and which node/rule said so."""

    open: bool
    action: WindowAction | None = None
    node: NodeRef | None = None
    rule: ScheduleRule | None = None


def window_state(
    refs: Sequence[NodeRef],
    rules: dict[NodeRef, list[ScheduleRule]],
    local: datetime,
) -> WindowState:
    """Resolve the windows of a node chain at a local moment (nearest node decides).

    At a node: a closing date exception in its hours closes; opening date
    exceptions of the day replace the weekly windows; a node with neither in force
    on the day says nothing and the node above it decides.
    """
    for ref in refs:
        windows = [r for r in rules.get(ref, []) if r.kind is RuleKind.WINDOW]
        if not windows:
            continue
        action = (
            WindowAction.UNAVAILABLE
            if any(r.action is WindowAction.UNAVAILABLE for r in windows)
            else WindowAction.REFUSE
        )
        today = [r for r in windows if r.on_date == local.date()]
        closing = next((r for r in today if not r.allowed and applies(r, local)), None)
        if closing is not None:
            return WindowState(False, action, ref, closing)
        candidates = [r for r in today if r.allowed] or [
            r for r in windows if r.on_date is None
        ]
        if not candidates:
            continue
        for rule in candidates:
            if applies(rule, local):
                return WindowState(True, None, ref, rule)
        return WindowState(False, action, ref, candidates[0])
    return WindowState(True)


@dataclass(frozen=True)
class StartRefusal:
    """Why a start is refused now; str() is the message for a person."""

    node: NodeRef
    rule: ScheduleRule
    action: WindowAction
    label: str

    def __str__(self) -> str:
        return str(
            _l(
                "Charging is not allowed here now: outside the charging window of"
                " %(node)s (%(rule)s).",
                node=self.label,
                rule=describe(self.rule),
            )
        )


def start_refusal(
    station: Station, outlet_number: int | None, now: datetime | None = None
) -> StartRefusal | None:
    """Say why a start on this outlet (None: any outlet) is refused now, if it is.

    Without an outlet (OCPP Authorize names none) the station refuses only when
    every outlet is outside its window.
    """
    outlets = [
        o for o in station.outlets if outlet_number is None or o.number == outlet_number
    ]
    nodes: list[Any] = outlets or [station]
    refs_per_node = [chain(node) for node in nodes]
    rules = rules_on(sorted({r for refs in refs_per_node for r in refs}, key=str))
    if not any(rules.values()):
        return None
    local = local_now(now)
    refusal: StartRefusal | None = None
    for refs in refs_per_node:
        state = window_state(refs, rules, local)
        if state.open:
            return None
        assert state.node is not None and state.rule is not None
        refusal = refusal or StartRefusal(
            state.node, state.rule, state.action or WindowAction.REFUSE, ""
        )
    if refusal is None:
        return None
    return StartRefusal(
        refusal.node, refusal.rule, refusal.action, node_label(refusal.node)
    )


def closed_outlets(station: Station, now: datetime | None = None) -> dict[int, bool]:
    """Return, per outlet number, whether the schedule wants it Unavailable now.

    OCPP 1.6 outlets: windows whose action is Unavailable. OCPP 1.5 outlets (no
    smart charging): every closed window, since availability is all they offer.
    """
    result: dict[int, bool] = {}
    refs = {r for outlet in station.outlets for r in chain(outlet)}
    rules = rules_on(sorted(refs, key=str))
    local = local_now(now)
    for outlet in station.outlets:
        state = window_state(chain(outlet), rules, local)
        result[outlet.number] = not state.open and (
            state.action is WindowAction.UNAVAILABLE
            or station.protocol is Protocol.OCPP15_SOAP
        )
    return result
