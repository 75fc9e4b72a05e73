"""The admin panel: Flask-Admin views over app.services; presentation only."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin_views.access_policies import AccessPoliciesView, UserGroupView
from admin_views.account import SettingsView
from admin_views.alarms import ActiveAlarmView, AlarmHistoryView, EventLogView
from admin_views.charging import MyChargingView
from admin_views.configuration import ConfigurationView
from admin_views.dashboard import DashboardView
from admin_views.diagrams import DiagramsView
from admin_views.downloads import firmware
from admin_views.files import FtpFilesView
from admin_views.firmware_library import FirmwareLibraryView
from admin_views.integrations import ApiTokenView, ServiceView, WebhookEventView
from admin_views.navigator import NavigatorView
from admin_views.navigator import init_app as init_navigator
from admin_views.news import NewsView
from admin_views.schedule import ScheduleView
from admin_views.statistics import StatisticsView
from admin_views.tags import TagRegisterView
from admin_views.topology import FloorView, OutletView, SiteView, StationView
from admin_views.users import AuditLogView, UserView
from app.extensions import db
from app.models import (
    Alarm,
    AuditEntry,
    ChargingSession,
    EventLogEntry,
    ExternalService,
    Floor,
    NewsItem,
    Outlet,
    RfidTag,
    Site,
    Station,
    User,
    UserGroup,
    WebhookEvent,
)


def init_app(app: Flask) -> None:
    """Build the admin with the menu of the spec; an entry appears once its page works."""
    app.register_blueprint(
        Blueprint("portal_admin", __name__, template_folder="templates")
    )
    admin = Admin(
        app,
        name=str(_l("Charge Portal")),
        theme=Bootstrap4Theme(base_template="portal_base.html", fluid=True),
        index_view=DashboardView(name=_l("Dashboard"), url="/admin"),
    )
    provisioning, configuration = _l("Provisioning"), _l("Configuration")
    app.register_blueprint(firmware)
    init_navigator(app)
    admin.add_view(NavigatorView(name=_l("Navigator"), endpoint="navigator"))
    admin.add_view(
        UserView(User, db, name=_l("Users"), category=provisioning, endpoint="users")
    )
    admin.add_view(
        TagRegisterView(
            RfidTag, db, name=_l("RFID tags"), category=provisioning, endpoint="tags"
        )
    )
    admin.add_view(
        AuditLogView(
            AuditEntry,
            db,
            name=_l("Audit log"),
            category=provisioning,
            endpoint="audit",
        )
    )
    admin.add_view(
        SiteView(Site, db, name=_l("Sites"), category=configuration, endpoint="sites")
    )
    admin.add_view(
        FloorView(
            Floor, db, name=_l("Floors"), category=configuration, endpoint="floors"
        )
    )
    admin.add_view(
        StationView(
            Station,
            db,
            name=_l("Stations"),
            category=configuration,
            endpoint="stations",
        )
    )
    admin.add_view(
        OutletView(
            Outlet, db, name=_l("Outlets"), category=configuration, endpoint="outlets"
        )
    )
    admin.add_view(
        ConfigurationView(
            name=_l("Selected node"), category=configuration, endpoint="config"
        )
    )
    admin.add_view(
        ServiceView(
            ExternalService,
            db,
            name=_l("Services"),
            category=configuration,
            endpoint="services",
        )
    )
    admin.add_view(
        WebhookEventView(
            WebhookEvent,
            db,
            name=_l("Webhook deliveries"),
            category=configuration,
            endpoint="webhooks",
        )
    )
    admin.add_view(
        ApiTokenView(
            name=_l("API tokens"), category=configuration, endpoint="api_tokens"
        )
    )
    admin.add_view(
        NewsView(NewsItem, db, name=_l("News"), category=configuration, endpoint="news")
    )
    admin.add_view(
        ScheduleView(name=_l("Schedule"), category=configuration, endpoint="schedule")
    )
    admin.add_view(
        AccessPoliciesView(
            name=_l("Access policies"), category=configuration, endpoint="access"
        )
    )
    admin.add_view(
        UserGroupView(
            UserGroup,
            db,
            name=_l("User groups"),
            category=configuration,
            endpoint="user_groups",
        )
    )
    admin.add_view(
        FtpFilesView(name=_l("FTP server"), category=configuration, endpoint="ftp")
    )
    admin.add_view(
        FirmwareLibraryView(
            name=_l("Firmware library"),
            category=configuration,
            endpoint="firmware_library",
            url="firmware",
        )
    )
    admin.add_view(DiagramsView(name=_l("Diagrams"), endpoint="diagrams"))
    admin.add_view(
        StatisticsView(
            ChargingSession, db, name=_l("Statistics"), endpoint="statistics"
        )
    )
    alarms = _l("Alarms")
    admin.add_view(
        ActiveAlarmView(
            Alarm, db, name=_l("Active alarms"), category=alarms, endpoint="alarms"
        )
    )
    admin.add_view(
        AlarmHistoryView(
            Alarm,
            db,
            name=_l("Alarm history"),
            category=alarms,
            endpoint="alarm_history",
        )
    )
    admin.add_view(
        EventLogView(
            EventLogEntry, db, name=_l("Event log"), category=alarms, endpoint="events"
        )
    )
    admin.add_view(
        MyChargingView(
            ChargingSession, db, name=_l("My charging"), endpoint="my_charging"
        )
    )
    admin.add_view(
        SettingsView(
            name=_l("User settings"), endpoint="settings", menu_class_name="d-none"
        )
    )
