"""The schedule (spec §6b): charging windows and power caps per node, resolved per outlet.

Rules hang on a site, floor, station or outlet and are read in the schedule's
time zone (SCHEDULE_TIMEZONE). An outlet follows the nearest node above it that
has rules: for windows the nearest node with any window rule decides entirely;
for caps, at each moment the nearest node with a cap in force at that moment.
Every answer says which rule decided ("why"). Caps become OCPP 1.6-shaped charging
profiles here (the command carries them as a dict; the adapter only renames keys).

The parts: `rules` (where rules hang, the chain above a node, a rule in words),
`editing` (who may change what; add, delete, capacity, priority), `windows` (open
or closed now, a refused start), `caps` (the cap now, an outlet's effective limit),
`week` (the rules over days, the week screen), `profiles` (caps as OCPP profiles).
Callers use this package's names: `schedule.start_refusal(...)`.
"""

from app.services.schedule.caps import (
    OutletLimit,
    allocations,
    limits_now,
    outlet_cap_now,
    outlet_limit_now,
)
from app.services.schedule.editing import (
    MAX_CURRENT_A,
    MAX_PRIORITY,
    MIN_CURRENT_A,
    RuleInput,
    add_rule,
    capacity_of,
    delete_rule,
    may_edit,
    outlet_settings,
    priority_of,
    rules_changed,
    set_capacity,
    set_priority,
)
from app.services.schedule.profiles import (
    ALLOCATION_PROFILE_ID,
    OUTLET_DEFAULT_PROFILE_ID,
    STACK_LEVEL,
    STATION_MAX_PROFILE_ID,
    PlannedProfile,
    allocation_profile,
    cap_profiles,
    round_limit,
)
from app.services.schedule.rules import (
    DAY_NAMES,
    describe,
    has_rules,
    node_rules,
    stations_with_rules,
    zone,
)
from app.services.schedule.week import DayPlan, Segment, week_view
from app.services.schedule.windows import StartRefusal, closed_outlets, start_refusal

__all__ = [
    "ALLOCATION_PROFILE_ID",
    "DAY_NAMES",
    "MAX_CURRENT_A",
    "MAX_PRIORITY",
    "MIN_CURRENT_A",
    "OUTLET_DEFAULT_PROFILE_ID",
    "STACK_LEVEL",
    "STATION_MAX_PROFILE_ID",
    "DayPlan",
    "OutletLimit",
    "PlannedProfile",
    "RuleInput",
    "Segment",
    "StartRefusal",
    "add_rule",
    "allocation_profile",
    "allocations",
    "cap_profiles",
    "capacity_of",
    "closed_outlets",
    "delete_rule",
    "describe",
    "has_rules",
    "limits_now",
    "may_edit",
    "node_rules",
    "outlet_cap_now",
    "outlet_limit_now",
    "outlet_settings",
    "priority_of",
    "round_limit",
    "rules_changed",
    "set_capacity",
    "set_priority",
    "start_refusal",
    "stations_with_rules",
    "week_view",
    "zone",
]
