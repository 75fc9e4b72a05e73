"""OCPP 1.5 over SOAP: the CentralSystemService (spyne) and the ChargePointService
client (zeep), both bound to the official WSDLs in wsdl/.

routes.py serves stations, central_system.py declares the operations (one table,
the spyne methods made from it), operations.py turns their calls into service
calls, client.py carries the portal's commands to them, translate.py maps the
words. The SOAP machinery: soap.py (the protocol), dispatch.py, headers.py,
faults.py, models.py, wsdl.py.
"""

from __future__ import annotations

from flask import Flask

import ocpp_server.v15.spyne_on_py311  # noqa: F401 - first: before spyne loads
from app.extensions import csrf
from app.services.commands import Command, CommandResult, StationAddress
from ocpp_server.gateway import Sender
from ocpp_server.v15 import client, routes


def init_app(app: Flask) -> Sender:
    """Register the SOAP endpoint on the app; return the sender of 1.5 commands."""
    app.config.setdefault("OCPP_FETCH_CONFIG_ON_BOOT", True)
    app.register_blueprint(routes.bp)
    csrf.exempt(routes.bp)  # stations send no CSRF token
    routes.soap_application()  # build the schema now, not on a station's first call
    messages = client.message_log(app)

    def send(
        station: StationAddress, command: Command, timeout: float
    ) -> CommandResult:
        return client.send(station, command, timeout, messages=messages)

    return send
