"""Geographic maps drawn with folium, using the Leaflet copy the portal serves itself.

folium pulls Leaflet, jQuery and Bootstrap from CDNs by default; here a map loads
only app/static/vendor/leaflet (design.md: no CDN). Only the map tiles come from
outside (PORTAL_MAP_TILES; empty draws no tiles, as in the tests).
Each map is a small page shown in an iframe; it tells the page around it what was
picked with window.postMessage.
"""

from __future__ import annotations

import json
from typing import Any

import folium
from branca.element import Element, MacroElement
from flask import current_app, url_for
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

DEFAULT_CENTRE = (59.3293, 18.0686)  # Stockholm, when nothing has a position yet


class _PickPosition(MacroElement):  # type: ignore[misc]
    """Click to set a position; the marker shows it and the parent page hears it."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          var marker = {{ 'L.marker(' ~ this.start ~ ').addTo(map)' if this.start else 'null' }};
          map.on("click", function (e) {
            if (marker) { marker.setLatLng(e.latlng); }
            else { marker = L.marker(e.latlng).addTo(map); }
            window.parent.postMessage(
              {type: "portal-position", lat: e.latlng.lat, lng: e.latlng.lng},
              window.location.origin
            );
          });
          window.addEventListener("message", function (event) {
            if (event.origin !== window.location.origin) return;
            var d = event.data || {};
            if (d.type !== "portal-move-marker") return;
            var at = L.latLng(d.lat, d.lng);
            if (marker) { marker.setLatLng(at); } else { marker = L.marker(at).addTo(map); }
            map.panTo(at);
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, start: tuple[float, float] | None) -> None:
        super().__init__()
        self._name = "PickPosition"
        self.start = json.dumps(list(start)) if start else ""


class _PlaceStations(MacroElement):  # type: ignore[misc]
    """Draggable station dots; dropping one tells the parent page where it went."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
          var map = {{ this._parent.get_name() }};
          {{ this.stations }}.forEach(function (s) {
            var icon = L.divIcon({
              className: "",
              html: '<span class="station-dot status-' + s.status + '" title="' +
                    s.label.replace(/"/g, "&quot;") + '"></span>',
              iconSize: [18, 18], iconAnchor: [9, 9]
            });
            var marker = L.marker([s.lat, s.lng], {draggable: true, icon: icon, title: s.label});
            marker.addTo(map).bindTooltip(s.label);
            marker.on("dragend", function () {
              var at = marker.getLatLng();
              window.parent.postMessage(
                {type: "portal-place", station: s.id, lat: at.lat, lng: at.lng},
                window.location.origin
              );
            });
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, stations: list[dict[str, Any]]) -> None:
        super().__init__()
        self._name = "PlaceStations"
        # A station name must stay data: "<" escaped, it cannot end the <script>.
        self.stations = str(htmlsafe_json_dumps(stations))


_DOT_CSS = """
<style>
.station-dot { display:block; width:18px; height:18px; border-radius:50%;
  border:2px solid #fff; box-shadow:0 0 3px rgba(0,0,0,.6); cursor:move; }
.station-dot.status-online { background:#198754; }
.station-dot.status-charging { background:#0d6efd; }
.station-dot.status-fault { background:#dc3545; }
.station-dot.status-offline { background:#adb5bd; }
</style>
"""


def _base_map(centre: tuple[float, float] | None, zoom: int) -> folium.Map:
    tiles = current_app.config.get("PORTAL_MAP_TILES", "OpenStreetMap") or None
    fmap = folium.Map(
        location=list(centre or DEFAULT_CENTRE),
        zoom_start=zoom if centre else 10,
        tiles=tiles,
    )
    # Served by the portal (spec: no CDN except map tiles).
    fmap.default_js = [
        ("leaflet", url_for("static", filename="vendor/leaflet/leaflet.js"))
    ]
    fmap.default_css = [
        ("leaflet_css", url_for("static", filename="vendor/leaflet/leaflet.css"))
    ]
    return fmap


def pick_position_page(
    position: tuple[float, float] | None, centre: tuple[float, float] | None = None
) -> str:
    """Return a map page on which a click picks a position (site or station address).

    Without a position yet, the map opens at `centre` (a station's site).
    """
    fmap = _base_map(position or centre, 16)
    fmap.add_child(_PickPosition(position))
    return str(fmap.get_root().render())


def place_stations_page(
    centre: tuple[float, float] | None, stations: list[dict[str, Any]]
) -> str:
    """Return a map page with draggable station dots (a floor without a floor map)."""
    fmap = _base_map(centre, 18)
    fmap.get_root().header.add_child(Element(_DOT_CSS))
    fmap.add_child(_PlaceStations(stations))
    return str(fmap.get_root().render())
