"""OCPP adapters: translate station messages to service calls and back.

v16/ is OCPP 1.6 JSON over WebSocket (flask-sock + the `ocpp` library), v15/ is
OCPP 1.5 over SOAP (spyne server, zeep client). gateway.py carries the portal's
commands to a station over whichever of the two it speaks.
"""

from __future__ import annotations

from flask import Flask

from app.models import Protocol
from ocpp_server import v15, v16
from ocpp_server.gateway import ProtocolGateway, Sender


def init_app(app: Flask) -> None:
    """Register the OCPP endpoints and the station gateway on the app."""
    senders: dict[Protocol, Sender] = {}
    senders[Protocol.OCPP15_SOAP] = v15.init_app(app)
    senders[Protocol.OCPP16_JSON] = v16.init_app(app)
    app.extensions["station_gateway"] = ProtocolGateway(senders)
