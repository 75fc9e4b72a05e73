"""Configuration of the node selected in the navigator (spec §8), tab by tab.

One module per navigator level (system, site, floor, station, outlet), each a
``ConfigScreen`` subclass with its page and its routes; ``screen`` holds the
page dispatch and the form handling once, ``forms`` the forms,
``station_commands`` the Control tab's command table. (``screen.Tab`` and
``screen.visible`` are there for declaring each level's tabs; the levels do not
use them yet.)

Presentation only: each form or JSON request is unpacked here and handed to one
service call (app.services.*), which checks the role; the result or the domain
error goes back as a flash or as JSON.
"""

from __future__ import annotations

from admin_views.configuration.floor import FloorTabs
from admin_views.configuration.outlet import OutletTabs
from admin_views.configuration.site import SiteTabs
from admin_views.configuration.station import StationTabs
from admin_views.configuration.system import SystemTabs

__all__ = ["ConfigurationView"]


class ConfigurationView(SystemTabs, SiteTabs, FloorTabs, StationTabs, OutletTabs):
    """Configuration: the tabs of the node selected in the navigator."""
