"""Statistics: charging sessions, alarms and events under a node, and chart data.

Every query here goes through access.scope() and the navigator's node (spec §3,
§5, §6, §7); aggregation happens in SQL. The parts: `periods` (a period in a zone,
and the per-dialect SQL for local days, hours and durations), `conditions` (what
lies under the navigator's node), `sessions` (detail and export rows),
`diagrams` (the predefined charts), `my_charging` (the EV user's own page).
Callers use this package's names: `stats.chart_data(...)`.
"""

from app.services.stats.conditions import (
    active_alarm_condition,
    alarm_history_condition,
    node_condition,
    node_label,
    site_choices,
    under_node,
)
from app.services.stats.diagrams import (
    CHART_TITLES,
    Chart,
    ChartData,
    Series,
    chart_data,
)
from app.services.stats.my_charging import MonthTotal, energy_per_month, own_tags
from app.services.stats.periods import Period
from app.services.stats.sessions import (
    SESSION_DURATION,
    SessionDetail,
    meter_values_of,
    session_detail,
    session_rows,
    with_related,
)

__all__ = [
    "CHART_TITLES",
    "SESSION_DURATION",
    "Chart",
    "ChartData",
    "MonthTotal",
    "Period",
    "Series",
    "SessionDetail",
    "active_alarm_condition",
    "alarm_history_condition",
    "chart_data",
    "energy_per_month",
    "meter_values_of",
    "node_condition",
    "node_label",
    "own_tags",
    "session_detail",
    "session_rows",
    "site_choices",
    "under_node",
    "with_related",
]
