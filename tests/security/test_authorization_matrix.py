"""The authorization matrix (issue #11): endpoints by roles by sites.

The test walks ``app.url_map``: an endpoint without a row in TABLE fails
``test_every_endpoint_has_a_row`` (so a new view without an access rule fails the
suite), and every row is requested by each role, with the ids of site A's and of
site B's objects, and the outcome compared with the row.

Adding a row is one line::

    Row("api.stations", "GET /api/v1/stations/{station}", "401 403 200 200/404 200"),

* endpoint - the Flask endpoint name, as in ``app.url_map`` (several rows may
  share one, e.g. its GET and its POST);
* request - ``"METHOD /path?query [form body]"``; ``{name}`` is replaced by an id
  of the world in tests/security/matrix.py: per site ``{site} {floor} {station}
  {outlet} {session} {alarm} {old_alarm} {event}`` (a row using one runs twice,
  with site A's and site B's object); shared ``{user} {service} {news} {audit}
  {fw} {fw_token} {fw_name}``. Add an object to ``build_world`` when a new endpoint
  needs one;
* expect - one outcome per role, in the order anonymous, EV user, support, site
  administrator (of site A), administrator. An outcome is ``login`` (redirect to
  the login page) or the HTTP status (``200``, ``302`` = sent back to another page,
  ``400``, ``403``, ``404``, ...); ``a/b`` gives the outcome with site A's and with
  site B's ids where they differ (``200/404``: the site administrator of A gets
  404 for B's object, never a hint that it exists). A leading ``+`` marks a POST
  that may write; every other request must commit nothing (checked).

Besides the outcome, every response is checked for the world's secrets (station
password, service secret, SMTP password: never rendered back), and the EV user's
and the site administrator's responses for site B's names. Writes are undone
after each request (the world's SQLite file is restored), so rows are independent.
Runs on its own SQLite file whatever DATABASE_URL says: access rules do not
depend on the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import User
from tests.security.matrix import (
    ROLES,
    SECRETS,
    Row,
    Snapshot,
    World,
    build_app,
    build_world,
    clients,
    outcome,
    requests_of,
    send,
)

# One row per line: keep it greppable and a one-line diff per endpoint.
# fmt: off
TABLE = [
    Row("admin.index", "GET /admin/", "login 302 200 200 200"),
    Row("access.index", "GET /admin/access/?node=system", "login 403 200 200 200"),
    Row("access.index", "GET /admin/access/?node=outlet:{outlet}", "login 403 200 200 200"),
    Row("access.index", "POST /admin/access/?node=station:{station} rule=OPEN", "login 403 200 +302/200 +302"),
    Row("access.index", "POST /admin/access/?node=site:{site} rule=GROUPS&groups={system_group}", "login 403 200 +302/200 +302"),
    Row("user_groups.action_view", "POST /admin/user_groups/action/ action=delete&rowid={group}", "login 403 302 +302 +302"),
    Row("user_groups.ajax_lookup", "GET /admin/user_groups/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("user_groups.ajax_update", "POST /admin/user_groups/ajax/update/ list_form_pk={group}&name=x", "login 403 404 404 404"),
    Row("user_groups.create_view", "GET /admin/user_groups/new/", "login 403 302 200 200"),
    Row("user_groups.create_view", "POST /admin/user_groups/new/ name=New&site={site}", "login 403 302 +302/200 +302"),
    Row("user_groups.create_view", "POST /admin/user_groups/new/ name=New&site=__None", "login 403 302 200 +302"),
    Row("user_groups.delete_view", "POST /admin/user_groups/delete/ id={group}", "login 403 302 +302/404 +302"),
    Row("user_groups.delete_view", "POST /admin/user_groups/delete/ id={system_group}", "login 403 302 302 +302"),
    Row("user_groups.details_view", "GET /admin/user_groups/details/?id={group}", "login 403 200 200/404 200"),
    Row("user_groups.edit_view", "GET /admin/user_groups/edit/?id={group}", "login 403 302 200/404 200"),
    Row("user_groups.edit_view", "POST /admin/user_groups/edit/?id={group} name=Renamed&site={site}", "login 403 302 +302/404 +302"),
    Row("user_groups.edit_view", "POST /admin/user_groups/edit/?id={system_group} name=Renamed&site=__None", "login 403 302 200 +302"),
    Row("user_groups.export", "GET /admin/user_groups/export/csv/", "login 403 404 404 404"),
    Row("user_groups.index_view", "GET /admin/user_groups/", "login 403 200 200 200"),
    Row("admin.static", "GET /admin/static/admin/js/helpers.js", "200 200 200 200 200"),
    Row("alarm_history.action_view", "POST /admin/alarm_history/action/ action=delete&rowid={old_alarm}", "login 403 302 302 302"),
    Row("alarm_history.ajax_lookup", "GET /admin/alarm_history/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("alarm_history.ajax_update", "POST /admin/alarm_history/ajax/update/ list_form_pk={old_alarm}&name=x", "login 403 404 404 404"),
    Row("alarm_history.create_view", "GET /admin/alarm_history/new/", "login 403 302 302 302"),
    Row("alarm_history.create_view", "POST /admin/alarm_history/new/", "login 403 302 302 302"),
    Row("alarm_history.delete_view", "POST /admin/alarm_history/delete/ id={old_alarm}", "login 403 302 302 302"),
    Row("alarm_history.details_view", "GET /admin/alarm_history/details/?id={old_alarm}", "login 403 302 302 302"),
    Row("alarm_history.edit_view", "GET /admin/alarm_history/edit/?id={old_alarm}", "login 403 302 302 302"),
    Row("alarm_history.edit_view", "POST /admin/alarm_history/edit/?id={old_alarm}", "login 403 302 302 302"),
    Row("alarm_history.export", "GET /admin/alarm_history/export/csv/", "login 403 200 200 200"),
    Row("alarm_history.index_view", "GET /admin/alarm_history/", "login 403 200 200 200"),
    Row("alarms.action_view", "POST /admin/alarms/action/ action=delete&rowid={alarm}", "login 403 302 302 302"),
    Row("alarms.ajax_lookup", "GET /admin/alarms/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("alarms.ajax_update", "POST /admin/alarms/ajax/update/ list_form_pk={alarm}&name=x", "login 403 404 404 404"),
    Row("alarms.clear", "POST /admin/alarms/clear/ id={alarm}", "login 403 +302 +302/404 +302"),
    Row("alarms.create_view", "GET /admin/alarms/new/", "login 403 302 302 302"),
    Row("alarms.create_view", "POST /admin/alarms/new/", "login 403 302 302 302"),
    Row("alarms.delete_view", "POST /admin/alarms/delete/ id={alarm}", "login 403 302 302 302"),
    Row("alarms.details_view", "GET /admin/alarms/details/?id={alarm}", "login 403 302 302 302"),
    Row("alarms.edit_view", "GET /admin/alarms/edit/?id={alarm}", "login 403 302 302 302"),
    Row("alarms.edit_view", "POST /admin/alarms/edit/?id={alarm}", "login 403 302 302 302"),
    Row("alarms.export", "GET /admin/alarms/export/csv/", "login 403 200 200 200"),
    Row("alarms.index_view", "GET /admin/alarms/", "login 403 200 200 200"),
    Row("api-docs.openapi_json", "GET /api/v1/openapi.json", "200 200 200 200 200"),
    Row("api.command", "GET /api/v1/commands/1", "401 401 401 401 401"),
    Row("api.outlet", "GET /api/v1/outlets/00000000-0000-0000-0000-000000000000", "401 401 401 401 401"),
    Row("api.outlet_by_service_id", "GET /api/v1/outlets/by-service-id/A1", "401 401 401 401 401"),
    Row("api.outlets", "GET /api/v1/outlets", "401 401 401 401 401"),
    Row("api.session", "GET /api/v1/sessions/{session}", "401 401 401 401 401"),
    Row("api.start", "POST /api/v1/outlets/00000000-0000-0000-0000-000000000000/start", "401 401 401 401 401"),
    Row("api.start_by_service_id", "POST /api/v1/outlets/by-service-id/A1/start", "401 401 401 401 401"),
    Row("api.station", "GET /api/v1/stations/00000000-0000-0000-0000-000000000000", "401 401 401 401 401"),
    Row("api.stop", "POST /api/v1/sessions/{session}/stop", "401 401 401 401 401"),
    Row("api_pages.docs", "GET /api/v1/docs", "200 200 200 200 200"),
    Row("api_pages.static", "GET /api/v1/static/docs.js", "200 200 200 200 200"),
    Row("api_tokens.index", "GET /admin/api_tokens/", "login 403 403 403 200"),
    Row("api_tokens.index", "POST /admin/api_tokens/ name=Matrix", "login 403 403 403 +200"),
    Row("api_tokens.revoke", "POST /admin/api_tokens/revoke/999999", "login 403 403 403 302"),
    Row("audit.action_view", "POST /admin/audit/action/ action=delete&rowid={audit}", "login 403 403 403 302"),
    Row("audit.ajax_lookup", "GET /admin/audit/ajax/lookup/?name=site&query=S", "login 403 403 403 404"),
    Row("audit.ajax_update", "POST /admin/audit/ajax/update/ list_form_pk={audit}&name=x", "login 403 403 403 404"),
    Row("audit.create_view", "GET /admin/audit/new/", "login 403 403 403 302"),
    Row("audit.create_view", "POST /admin/audit/new/", "login 403 403 403 302"),
    Row("audit.delete_view", "POST /admin/audit/delete/ id={audit}", "login 403 403 403 302"),
    Row("audit.details_view", "GET /admin/audit/details/?id={audit}", "login 403 403 403 200"),
    Row("audit.edit_view", "GET /admin/audit/edit/?id={audit}", "login 403 403 403 302"),
    Row("audit.edit_view", "POST /admin/audit/edit/?id={audit}", "login 403 403 403 302"),
    Row("audit.export", "GET /admin/audit/export/csv/", "login 403 403 403 200"),
    Row("audit.index_view", "GET /admin/audit/", "login 403 403 403 200"),
    Row("auth.login", "GET /login", "200 302 302 302 302"),
    Row("auth.logout", "POST /logout", "login +login +login +login +login"),
    Row("config.floor_general", "POST /admin/config/floor/{floor}/general", "login 403 302 302/404 302"),
    Row("config.floor_map_image", "GET /admin/config/floor/{floor}/map.jpg", "login 403 404 404 404"),
    Row("config.floor_map_upload", "POST /admin/config/floor/{floor}/map", "login 403 302 302/404 302"),
    Row("config.floor_position", "POST /admin/config/floor/{floor}/position", "login 403 400 400/404 400"),
    Row("config.floor_site_map", "GET /admin/config/floor/{floor}/site-map", "login 403 200 200/404 200"),
    Row("config.index", "GET /admin/config/?node=station:{station}", "login 403 200 200 200"),
    Row("config.map_page", "GET /admin/config/map/station/{station}", "login 403 200 200/404 200"),
    Row("config.outlet_general", "POST /admin/config/outlet/{outlet}/general", "login 403 302 302/404 302"),
    Row("config.outlet_services", "POST /admin/config/outlet/{outlet}/services", "login 403 302 302/404 302"),
    Row("config.site_address", "POST /admin/config/site/{site}/address", "login 403 302 302/404 302"),
    Row("config.site_general", "POST /admin/config/site/{site}/general", "login 403 302 302/404 302"),
    Row("config.station_address", "POST /admin/config/station/{station}/address", "login 403 302 302/404 302"),
    Row("config.station_command", "POST /admin/config/station/{station}/command/reset", "login 403 +200 +200/404 +200"),
    Row("config.station_general", "POST /admin/config/station/{station}/general", "login 403 302 302/404 302"),
    Row("config.station_password", "POST /admin/config/station/{station}/password", "login 403 302 302/404 302"),
    Row("config.system_general", "POST /admin/config/system/general", "login 403 302 302 302"),
    Row("config.system_policies", "POST /admin/config/system/policies", "login 403 302 302 302"),
    Row("config.topology_create", "POST /admin/config/topology/create/floor site={site}&name=New", "login 403 302 302 302"),
    Row("config.topology_delete", "POST /admin/config/topology/delete/station/{station}", "login 403 302 302/404 302"),
    Row("config.topology_move", "POST /admin/config/topology/move station={station}&floor={floor}", "login 403 302 302 302"),
    Row("diagrams.data", "GET /admin/diagrams/data?node=station:{station}", "login 403 200 200 200"),
    Row("diagrams.index", "GET /admin/diagrams/", "login 403 200 200 200"),
    Row("events.action_view", "POST /admin/events/action/ action=delete&rowid={event}", "login 403 302 302 302"),
    Row("events.ajax_lookup", "GET /admin/events/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("events.ajax_update", "POST /admin/events/ajax/update/ list_form_pk={event}&name=x", "login 403 404 404 404"),
    Row("events.create_view", "GET /admin/events/new/", "login 403 302 302 302"),
    Row("events.create_view", "POST /admin/events/new/", "login 403 302 302 302"),
    Row("events.delete_view", "POST /admin/events/delete/ id={event}", "login 403 302 302 302"),
    Row("events.details_view", "GET /admin/events/details/?id={event}", "login 403 302 302 302"),
    Row("events.edit_view", "GET /admin/events/edit/?id={event}", "login 403 302 302 302"),
    Row("events.edit_view", "POST /admin/events/edit/?id={event}", "login 403 302 302 302"),
    Row("events.export", "GET /admin/events/export/csv/", "login 403 200 200 200"),
    Row("events.index_view", "GET /admin/events/", "login 403 200 200 200"),
    Row("firmware.download", "GET /firmware/{fw_token}/{fw_name}", "200 200 200 200 200"),
    Row("firmware_library.delete", "POST /admin/firmware/999999/delete", "login 403 302 302 404"),
    Row("firmware_library.download", "GET /admin/firmware/{fw}", "login 403 200 200 200"),
    Row("firmware_library.index", "GET /admin/firmware/", "login 403 200 200 200"),
    Row("firmware_library.upload", "POST /admin/firmware/", "login 403 302 302 302"),
    Row("floors.action_view", "POST /admin/floors/action/ action=delete&rowid={floor}", "login 403 302 302 302"),
    Row("floors.ajax_lookup", "GET /admin/floors/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("floors.ajax_update", "POST /admin/floors/ajax/update/ list_form_pk={floor}&name=x", "login 403 404 404 404"),
    Row("floors.create_view", "GET /admin/floors/new/", "login 403 302 302 302"),
    Row("floors.create_view", "POST /admin/floors/new/", "login 403 302 302 302"),
    Row("floors.delete_view", "POST /admin/floors/delete/ id={floor}", "login 403 302 302 302"),
    Row("floors.details_view", "GET /admin/floors/details/?id={floor}", "login 403 200 200/404 200"),
    Row("floors.edit_view", "GET /admin/floors/edit/?id={floor}", "login 403 302 302 302"),
    Row("floors.edit_view", "POST /admin/floors/edit/?id={floor}", "login 403 302 302 302"),
    Row("floors.export", "GET /admin/floors/export/csv/", "login 403 200 200 200"),
    Row("floors.index_view", "GET /admin/floors/", "login 403 200 200 200"),
    Row("ftp.diagnostics_download", "GET /admin/ftp/diagnostics/{station}/diag.txt", "login 403 200 200/404 200"),
    Row("ftp.index", "GET /admin/ftp/", "login 403 200 200 200"),
    Row("index", "GET /", "login 302 302 302 302"),
    Row("my_charging.action_view", "POST /admin/my_charging/action/ action=delete&rowid={session}", "login 302 403 403 403"),
    Row("my_charging.ajax_lookup", "GET /admin/my_charging/ajax/lookup/?name=site&query=S", "login 404 403 403 403"),
    Row("my_charging.ajax_update", "POST /admin/my_charging/ajax/update/ list_form_pk={session}&name=x", "login 404 403 403 403"),
    Row("my_charging.create_view", "GET /admin/my_charging/new/", "login 302 403 403 403"),
    Row("my_charging.create_view", "POST /admin/my_charging/new/", "login 302 403 403 403"),
    Row("my_charging.delete_view", "POST /admin/my_charging/delete/ id={session}", "login 302 403 403 403"),
    Row("my_charging.details_view", "GET /admin/my_charging/details/?id={session}", "login 302 403 403 403"),
    Row("my_charging.edit_view", "GET /admin/my_charging/edit/?id={session}", "login 302 403 403 403"),
    Row("my_charging.edit_view", "POST /admin/my_charging/edit/?id={session}", "login 302 403 403 403"),
    Row("my_charging.export", "GET /admin/my_charging/export/csv/", "login 200 403 403 403"),
    Row("my_charging.index_view", "GET /admin/my_charging/", "login 200 403 403 403"),
    Row("navigator.index", "GET /admin/navigator/", "login 403 200 200 200"),
    Row("news.action_view", "POST /admin/news/action/ action=delete&rowid={news}", "login 403 403 403 +302"),
    Row("news.ajax_lookup", "GET /admin/news/ajax/lookup/?name=site&query=S", "login 403 403 403 404"),
    Row("news.ajax_update", "POST /admin/news/ajax/update/ list_form_pk={news}&name=x", "login 403 403 403 404"),
    Row("news.create_view", "GET /admin/news/new/", "login 403 403 403 200"),
    Row("news.create_view", "POST /admin/news/new/", "login 403 403 403 200"),
    Row("news.delete_view", "POST /admin/news/delete/ id={news}", "login 403 403 403 +302"),
    Row("news.details_view", "GET /admin/news/details/?id={news}", "login 403 403 403 200"),
    Row("news.edit_view", "GET /admin/news/edit/?id={news}", "login 403 403 403 200"),
    Row("news.edit_view", "POST /admin/news/edit/?id={news}", "login 403 403 403 302"),
    Row("news.export", "GET /admin/news/export/csv/", "login 403 403 403 200"),
    Row("news.index_view", "GET /admin/news/", "login 403 403 403 200"),
    Row("ocpp15.central_system_service", "GET /Ocpp/CentralSystemService15?wsdl", "200 200 200 200 200"),
    Row("ocpp_websocket.station", "GET /Ocpp/websocket/CB-A", "400 400 400 400 400"),
    Row("ocpp_websocket.station_slash", "GET /Ocpp/websocket/CB-A/", "400 400 400 400 400"),
    Row("outlets.action_view", "POST /admin/outlets/action/ action=delete&rowid={outlet}", "login 403 302 302 302"),
    Row("outlets.ajax_lookup", "GET /admin/outlets/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("outlets.ajax_update", "POST /admin/outlets/ajax/update/ list_form_pk={outlet}&name=x", "login 403 404 404 404"),
    Row("outlets.create_view", "GET /admin/outlets/new/", "login 403 302 302 302"),
    Row("outlets.create_view", "POST /admin/outlets/new/", "login 403 302 302 302"),
    Row("outlets.delete_view", "POST /admin/outlets/delete/ id={outlet}", "login 403 302 302 302"),
    Row("outlets.details_view", "GET /admin/outlets/details/?id={outlet}", "login 403 200 200/404 200"),
    Row("outlets.edit_view", "GET /admin/outlets/edit/?id={outlet}", "login 403 302 302 302"),
    Row("outlets.edit_view", "POST /admin/outlets/edit/?id={outlet}", "login 403 302 302 302"),
    Row("outlets.export", "GET /admin/outlets/export/csv/", "login 403 200 200 200"),
    Row("outlets.index_view", "GET /admin/outlets/", "login 403 200 200 200"),
    Row("schedule.index", "GET /admin/schedule/?node=station:{station}", "login 403 200 200 200"),
    Row("services.action_view", "POST /admin/services/action/ action=delete&rowid={service}", "login 403 403 403 +302"),
    Row("services.ajax_lookup", "GET /admin/services/ajax/lookup/?name=site&query=S", "login 403 403 403 404"),
    Row("services.ajax_update", "POST /admin/services/ajax/update/ list_form_pk={service}&name=x", "login 403 403 403 404"),
    Row("services.create_view", "GET /admin/services/new/", "login 403 403 403 200"),
    Row("services.create_view", "POST /admin/services/new/", "login 403 403 403 200"),
    Row("services.delete_view", "POST /admin/services/delete/ id={service}", "login 403 403 403 +302"),
    Row("services.details_view", "GET /admin/services/details/?id={service}", "login 403 403 403 200"),
    Row("services.edit_view", "GET /admin/services/edit/?id={service}", "login 403 403 403 200"),
    Row("services.edit_view", "POST /admin/services/edit/?id={service}", "login 403 403 403 302"),
    Row("services.export", "GET /admin/services/export/csv/", "login 403 403 403 200"),
    Row("services.index_view", "GET /admin/services/", "login 403 403 403 200"),
    Row("services.rotate", "POST /admin/services/rotate/{service}", "login 403 403 403 +200"),
    Row("settings.index", "GET /admin/settings/", "login 200 200 200 200"),
    Row("sites.action_view", "POST /admin/sites/action/ action=delete&rowid={site}", "login 403 302 302 302"),
    Row("sites.ajax_lookup", "GET /admin/sites/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("sites.ajax_update", "POST /admin/sites/ajax/update/ list_form_pk={site}&name=x", "login 403 404 404 404"),
    Row("sites.create_view", "GET /admin/sites/new/", "login 403 302 302 302"),
    Row("sites.create_view", "POST /admin/sites/new/", "login 403 302 302 302"),
    Row("sites.delete_view", "POST /admin/sites/delete/ id={site}", "login 403 302 302 302"),
    Row("sites.details_view", "GET /admin/sites/details/?id={site}", "login 403 200 200/404 200"),
    Row("sites.edit_view", "GET /admin/sites/edit/?id={site}", "login 403 302 302 302"),
    Row("sites.edit_view", "POST /admin/sites/edit/?id={site}", "login 403 302 302 302"),
    Row("sites.export", "GET /admin/sites/export/csv/", "login 403 200 200 200"),
    Row("sites.index_view", "GET /admin/sites/", "login 403 200 200 200"),
    Row("static", "GET /static/portal.css", "200 200 200 200 200"),
    Row("stations.action_view", "POST /admin/stations/action/ action=delete&rowid={station}", "login 403 302 302 302"),
    Row("stations.ajax_lookup", "GET /admin/stations/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("stations.ajax_update", "POST /admin/stations/ajax/update/ list_form_pk={station}&name=x", "login 403 404 404 404"),
    Row("stations.create_view", "GET /admin/stations/new/", "login 403 302 302 302"),
    Row("stations.create_view", "POST /admin/stations/new/", "login 403 302 302 302"),
    Row("stations.delete_view", "POST /admin/stations/delete/ id={station}", "login 403 302 302 302"),
    Row("stations.details_view", "GET /admin/stations/details/?id={station}", "login 403 200 200/404 200"),
    Row("stations.edit_view", "GET /admin/stations/edit/?id={station}", "login 403 302 302 302"),
    Row("stations.edit_view", "POST /admin/stations/edit/?id={station}", "login 403 302 302 302"),
    Row("stations.export", "GET /admin/stations/export/csv/", "login 403 200 200 200"),
    Row("stations.index_view", "GET /admin/stations/", "login 403 200 200 200"),
    Row("statistics.action_view", "POST /admin/statistics/action/ action=delete&rowid={session}", "login 403 302 302 302"),
    Row("statistics.ajax_lookup", "GET /admin/statistics/ajax/lookup/?name=site&query=S", "login 403 404 404 404"),
    Row("statistics.ajax_update", "POST /admin/statistics/ajax/update/ list_form_pk={session}&name=x", "login 403 404 404 404"),
    Row("statistics.create_view", "GET /admin/statistics/new/", "login 403 302 302 302"),
    Row("statistics.create_view", "POST /admin/statistics/new/", "login 403 302 302 302"),
    Row("statistics.delete_view", "POST /admin/statistics/delete/ id={session}", "login 403 302 302 302"),
    Row("statistics.details_view", "GET /admin/statistics/details/?id={session}", "login 403 200 200/404 200"),
    Row("statistics.edit_view", "GET /admin/statistics/edit/?id={session}", "login 403 302 302 302"),
    Row("statistics.edit_view", "POST /admin/statistics/edit/?id={session}", "login 403 302 302 302"),
    Row("statistics.export", "GET /admin/statistics/export/csv/", "login 403 200 200 200"),
    Row("statistics.index_view", "GET /admin/statistics/", "login 403 200 200 200"),
    Row("tags.action_view", "POST /admin/tags/action/ action=delete&rowid={tag}", "login 403 302 302 302"),
    Row("tags.ajax_lookup", "GET /admin/tags/ajax/lookup/?name=user&query=e", "login 403 404 404 404"),
    Row("tags.ajax_update", "POST /admin/tags/ajax/update/ list_form_pk={tag}&name=x", "login 403 404 404 404"),
    Row("tags.create_view", "GET /admin/tags/new/", "login 403 302 302 302"),
    Row("tags.create_view", "POST /admin/tags/new/", "login 403 302 302 302"),
    Row("tags.delete_view", "POST /admin/tags/delete/ id={tag}", "login 403 302 302 302"),
    Row("tags.details_view", "GET /admin/tags/details/?id={tag}", "login 403 200 200 200"),
    Row("tags.details_view", "GET /admin/tags/details/?id={loose_tag}", "login 403 200 404 200"),
    Row("tags.edit_view", "GET /admin/tags/edit/?id={tag}", "login 403 302 302 302"),
    Row("tags.edit_view", "POST /admin/tags/edit/?id={tag}", "login 403 302 302 302"),
    Row("tags.export", "GET /admin/tags/export/csv/", "login 403 200 200 200"),
    Row("tags.import_confirm", "POST /admin/tags/import/confirm token=AAAAAAAAAAAAAAAAAAAAAAAA", "login 403 403 403 404"),
    Row("tags.import_view", "GET /admin/tags/import/", "login 403 403 403 200"),
    Row("tags.import_view", "POST /admin/tags/import/", "login 403 403 403 400"),
    Row("tags.index_view", "GET /admin/tags/", "login 403 200 200 200"),
    Row("users.action_view", "POST /admin/users/action/ action=delete&rowid={user}", "login 403 403 403 +302"),
    Row("users.ajax_lookup", "GET /admin/users/ajax/lookup/?name=site&query=S", "login 403 403 403 404"),
    Row("users.ajax_update", "POST /admin/users/ajax/update/ list_form_pk={user}&name=x", "login 403 403 403 404"),
    Row("users.create_view", "GET /admin/users/new/", "login 403 403 403 200"),
    Row("users.create_view", "POST /admin/users/new/", "login 403 403 403 200"),
    Row("users.delete_view", "POST /admin/users/delete/ id={user}", "login 403 403 403 +302"),
    Row("users.details_view", "GET /admin/users/details/?id={user}", "login 403 403 403 200"),
    Row("users.edit_view", "GET /admin/users/edit/?id={user}", "login 403 403 403 200"),
    Row("users.edit_view", "POST /admin/users/edit/?id={user}", "login 403 403 403 302"),
    Row("users.export", "GET /admin/users/export/csv/", "login 403 403 403 200"),
    Row("users.index_view", "GET /admin/users/", "login 403 403 403 200"),
    Row("webhooks.action_view", "POST /admin/webhooks/action/ action=delete&rowid=1", "login 403 403 403 302"),
    Row("webhooks.ajax_lookup", "GET /admin/webhooks/ajax/lookup/?name=service&query=C", "login 403 403 403 404"),
    Row("webhooks.ajax_update", "POST /admin/webhooks/ajax/update/ list_form_pk=1&name=x", "login 403 403 403 404"),
    Row("webhooks.create_view", "GET /admin/webhooks/new/", "login 403 403 403 302"),
    Row("webhooks.create_view", "POST /admin/webhooks/new/", "login 403 403 403 302"),
    Row("webhooks.delete_view", "POST /admin/webhooks/delete/ id=1", "login 403 403 403 302"),
    Row("webhooks.details_view", "GET /admin/webhooks/details/?id=999999", "login 403 403 403 404"),
    Row("webhooks.edit_view", "GET /admin/webhooks/edit/?id=1", "login 403 403 403 302"),
    Row("webhooks.edit_view", "POST /admin/webhooks/edit/?id=1", "login 403 403 403 302"),
    Row("webhooks.export", "GET /admin/webhooks/export/csv/", "login 403 403 403 200"),
    Row("webhooks.index_view", "GET /admin/webhooks/", "login 403 403 403 200"),
    Row("webhooks.redeliver", "POST /admin/webhooks/redeliver/999999", "login 403 403 403 404"),
]
# fmt: on

# Names of site B's objects: the EV user (whose sessions are at site A) and the
# site administrator of site A never see them.
SITE_B_NAMES = ("Kista", "CB-B", "Plan B")
CONFINED_ROLES = ("ev_user", "site_admin")
# Endpoints whose request ends the login: run with a fresh login of the role.
ENDS_LOGIN = frozenset({"auth.logout"})


@dataclass
class Matrix:
    app: Flask
    world: World
    users: dict[str, User]
    clients: dict[str, FlaskClient]
    snapshot: Snapshot
    database: Path
    watcher: sqlite3.Connection

    def data_version(self) -> int:
        """A number that changes whenever another connection commits."""
        return int(self.watcher.execute("PRAGMA data_version").fetchone()[0])


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("matrix")
    database = folder / "portal.db"
    app = build_app(database, folder / "instance")
    world, users = build_world(app)
    logged_in = clients(app, users)
    snapshot = Snapshot(app, database)
    watcher = sqlite3.connect(database)
    yield Matrix(app, world, users, logged_in, snapshot, database, watcher)
    watcher.close()


def test_every_endpoint_has_a_row(matrix: Matrix) -> None:
    endpoints = {rule.endpoint for rule in matrix.app.url_map.iter_rules()}
    covered = {row.endpoint for row in TABLE}
    missing, stale = sorted(endpoints - covered), sorted(covered - endpoints)
    assert not missing, f"endpoints without a row in TABLE: {missing}"
    assert not stale, f"rows for endpoints that do not exist: {stale}"
    assert len(covered) == len(endpoints) >= 150


@pytest.mark.parametrize(
    "row", TABLE, ids=lambda row: f"{row.endpoint}-{row.request.split()[0]}"
)
def test_each_role_gets_what_the_table_says(matrix: Matrix, row: Row) -> None:
    expected, observed = {}, {}
    for role in ROLES:
        for index, (site, request) in enumerate(requests_of(row, matrix.world)):
            want = row.outcomes()[role][index]
            got = _request(matrix, row, role, request, may_write=want.startswith("+"))
            expected[role, site], observed[role, site] = want.lstrip("+"), got
    assert observed == expected


def _request(
    matrix: Matrix, row: Row, role: str, request: str, *, may_write: bool
) -> str:
    client = matrix.clients[role]
    if row.endpoint in ENDS_LOGIN and role != "anonymous":
        client = clients(matrix.app, {role: matrix.users[role]})[role]
    before = matrix.data_version()
    response = send(client, request)
    body = response.get_data(as_text=True)
    response.close()  # a streamed file (static, send_file) closes its handle
    wrote = matrix.data_version() != before
    for secret in SECRETS:
        assert secret not in body, f"{role} {request}: a secret is rendered"
    if role in CONFINED_ROLES:
        for name in SITE_B_NAMES:
            assert name not in body, f"{role} {request}: shows site B's {name}"
    if wrote or row.endpoint in ENDS_LOGIN:
        matrix.snapshot.restore()
        matrix.data_version()
    assert may_write or not wrote, f"{role} {request}: refused, yet it wrote"
    return outcome(response)
