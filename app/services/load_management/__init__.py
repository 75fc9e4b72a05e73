"""Site load management (spec §6b): share a site's capacity between its charging
outlets, and bring the schedule to the stations (profiles, availability, re-sends).

Sharing: every running session gets at least 6 A or waits at 0 A (queued, in order
of priority then arrival); what is left over is shared in proportion to priority
(equal when priorities are equal), never above an outlet's cap, within the site's
and each floor's capacity. It is recomputed on every start, stop and status change,
on rule changes and by the schedule job, and pushed to OCPP 1.6 stations as a
TxProfile of the running transaction. A station that went offline keeps its last
allocation counted until the offline threshold passes (it may still be charging).

The parts: `sharing` (the arithmetic), `sites` (a site's sessions, allocations and
pushes), `stations` (the schedule brought to a station; the schedule job),
`receivers` (the domain signals handed to `background.submit`, so a station's
message never waits for another station's command).
"""

from app.services.load_management.receivers import init_app
from app.services.load_management.sharing import Demand, Share, share_capacity
from app.services.load_management.sites import (
    MANAGED_SITES_TTL,
    Push,
    apply_site,
    rebalance_site,
)
from app.services.load_management.stations import (
    apply_rule_change,
    apply_schedule,
    apply_windows,
    resend_station,
    resend_stations,
    send_cap_profiles,
    verify_profiles,
)
from app.services.schedule import allocations

__all__ = [
    "MANAGED_SITES_TTL",
    "Demand",
    "Push",
    "Share",
    "allocations",
    "apply_rule_change",
    "apply_schedule",
    "apply_site",
    "apply_windows",
    "init_app",
    "rebalance_site",
    "resend_station",
    "resend_stations",
    "send_cap_profiles",
    "share_capacity",
    "verify_profiles",
]
