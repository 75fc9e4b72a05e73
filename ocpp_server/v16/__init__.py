"""OCPP 1.6 JSON over WebSocket at /Ocpp/websocket/<chargebox id> (spec §9).

The WebSocket machinery is shared with any other OCPP-J version
(ocpp_server/websocket/: event loop, connections, registry, batching, endpoint;
design.md "OCPP 1.6 over flask-sock"). What is 1.6's own: central_system.py (the
charge point: 1.6 schemas and error spellings, the action -> handler table, the
configuration fetched on boot), handler.py (each message as a service call),
translate.py (the words); this module plugs them into the endpoint and returns
the command sender.
"""

from __future__ import annotations

from flask import Flask

from app.models import Protocol
from ocpp_server.gateway import Sender
from ocpp_server.websocket import admitter
from ocpp_server.websocket.connection import StationConnection
from ocpp_server.websocket.endpoint import StationVersion
from ocpp_server.websocket.registry import command_sender
from ocpp_server.websocket.routes import WebSocketState

from . import translate
from .central_system import SUBPROTOCOL, CentralSystem
from .handler import PortalStationHandler
from .handlers import StationHandler

EXTENSION_KEY = "ocpp16"


def init_app(app: Flask, endpoint: WebSocketState) -> Sender:
    """Serve 1.6 at the endpoint; return the sender that carries commands to it."""
    fetch_on_boot = bool(app.config["OCPP_FETCH_CONFIG_ON_BOOT"])
    configuration_timeout = float(app.config["OCPP_COMMAND_TIMEOUT"])

    def charge_point(
        chargebox_id: str, connection: StationConnection, handler: StationHandler
    ) -> CentralSystem:
        return CentralSystem(
            chargebox_id,
            connection,
            handler,
            fetch_configuration_on_boot=fetch_on_boot,
            configuration_timeout=configuration_timeout,
        )

    version = endpoint.add_version(
        StationVersion(
            subprotocol=SUBPROTOCOL,
            handler=PortalStationHandler(app),
            charge_point=charge_point,
            admit=admitter(Protocol.OCPP16_JSON),
        )
    )
    app.extensions[EXTENSION_KEY] = version
    return command_sender(
        endpoint.registry, translate.to_call, translate.to_result, "OCPP 1.6"
    )
