"""OCPP adapters: translate station messages to service calls and back.

v16/ and v201/ are OCPP 1.6 and 2.0.1 JSON over WebSocket (flask-sock + the `ocpp`
library) on the machinery in websocket/ that both share (event loop, connections,
registry, batching, the endpoint), v15/ is OCPP 1.5 over SOAP (spyne server, zeep
client). gateway.py carries the portal's
commands to a station over whichever of the three it speaks; with REDIS_URL set,
routing.py sends a command for a station held by another worker to that worker.
shutdown.py lets a worker's stations go gracefully on SIGTERM.
"""

from __future__ import annotations

from flask import Flask

from app.models import Protocol
from ocpp_server import shutdown, v15, v16, v201, websocket
from ocpp_server.gateway import ProtocolGateway, Sender


def init_app(app: Flask) -> None:
    """Register the OCPP endpoints and the station gateway on the app."""
    endpoint = websocket.init_app(app)
    senders: dict[Protocol, Sender] = {}
    senders[Protocol.OCPP15_SOAP] = v15.init_app(app)
    senders[Protocol.OCPP16_JSON] = v16.init_app(app, endpoint)
    served = app.config["SOCK_SERVER_OPTIONS"].get("subprotocols", [])
    if v201.SUBPROTOCOL in served:  # an older instance config may list 1.6 alone
        senders[Protocol.OCPP201_JSON] = v201.init_app(app, endpoint)
    gateway = ProtocolGateway(senders)
    app.extensions["station_gateway"] = gateway
    if app.config.get("REDIS_URL"):
        import redis

        from ocpp_server.routing import Router, RoutingGateway

        router = Router(
            redis.Redis.from_url(app.config["REDIS_URL"]),
            endpoint.registry,
            gateway,
            prefix=app.config["REDIS_KEY_PREFIX"],
            ttl=float(app.config["OCPP_ROUTING_TTL"]),
        )
        app.extensions["station_router"] = router
        app.extensions["station_gateway"] = RoutingGateway(gateway, router)
    shutdown.register(app)
