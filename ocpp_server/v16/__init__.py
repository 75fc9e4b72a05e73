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
from ocpp_server.websocket import serve_version
from ocpp_server.websocket.routes import WebSocketState

from . import translate
from .central_system import SUBPROTOCOL, CentralSystem
from .handler import PortalStationHandler

EXTENSION_KEY = "ocpp16"


def init_app(app: Flask, endpoint: WebSocketState) -> Sender:
    """Serve 1.6 at the endpoint; return the sender that carries commands to it."""
    version, sender = serve_version(
        app,
        endpoint,
        subprotocol=SUBPROTOCOL,
        charge_point=CentralSystem,
        handler=PortalStationHandler(app),
        protocol=Protocol.OCPP16_JSON,
        to_call=translate.to_call,
        to_result=translate.to_result,
        name="OCPP 1.6",
    )
    app.extensions[EXTENSION_KEY] = version
    return sender
