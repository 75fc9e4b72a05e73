"""OCPP 2.0.1 JSON over WebSocket at /Ocpp/websocket/<chargebox id>, beside 1.6.

The same endpoint and machinery as 1.6 (ocpp_server/websocket/: event loop,
connections, registry, batching, sub-protocol negotiation); a station offering
``ocpp2.0.1`` is served here. What is 2.0.1's own: central_system.py (the charge
point: 2.0.1 schemas, the action -> handler table, the full report asked for on
boot), handler.py (each message as a service call), translate.py (station →
portal words), calls.py (the portal's commands as 2.0.1 calls). This module plugs
them into the endpoint and returns the command sender.
"""

from __future__ import annotations

from flask import Flask

from app.models import Protocol
from ocpp_server.gateway import Sender
from ocpp_server.websocket import serve_version
from ocpp_server.websocket.routes import WebSocketState

from . import calls
from .central_system import SUBPROTOCOL, CentralSystem201
from .handler import PortalStationHandler201

__all__ = ["SUBPROTOCOL", "init_app"]

EXTENSION_KEY = "ocpp201"


def init_app(app: Flask, endpoint: WebSocketState) -> Sender:
    """Serve 2.0.1 at the endpoint; return the sender that carries commands to it."""
    version, sender = serve_version(
        app,
        endpoint,
        subprotocol=SUBPROTOCOL,
        charge_point=CentralSystem201,
        handler=PortalStationHandler201(app),
        protocol=Protocol.OCPP201_JSON,
        to_call=calls.to_call,
        to_result=calls.to_result,
        name="OCPP 2.0.1",
    )
    app.extensions[EXTENSION_KEY] = version
    return sender
