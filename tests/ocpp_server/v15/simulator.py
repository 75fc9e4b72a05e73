# ruff: noqa: N805 - spyne methods take (ctx, req), no self
"""A simulated OCPP 1.5 charge point: the ChargePointService contract over SOAP 1.2.

It answers all 15 operations with canned (overridable) answers and records what
it received (operation, chargeBoxIdentity, WS-Addressing data, payload). Served
from a thread on an ephemeral port::

    with SimulatorServer(ChargePointSimulator("CB-1")) as server:
        station.endpoint_address = server.url
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from spyne import MethodContext, ServiceBase, rpc
from spyne.server.wsgi import WsgiApplication
from werkzeug.serving import BaseWSGIServer, make_server

from ocpp_server.v15.dispatch import OcppApplication, bare_style, dispatch
from ocpp_server.v15.faults import FaultSubcode, OcppFaultError
from ocpp_server.v15.headers import CallContext
from ocpp_server.v15.wsdl import CP_NS
from tests.ocpp_server.v15 import charge_point_messages as m

Payload = dict[str, Any]

DEFAULT_RESPONSES: dict[str, Payload] = {
    "CancelReservation": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Accepted"},
    "ChangeConfiguration": {"status": "Accepted"},
    "ClearCache": {"status": "Accepted"},
    "DataTransfer": {"status": "Accepted", "data": "pong"},
    "GetDiagnostics": {"fileName": "diagnostics.zip"},
    "RemoteStartTransaction": {"status": "Accepted"},
    "RemoteStopTransaction": {"status": "Accepted"},
    "ReserveNow": {"status": "Accepted"},
    "Reset": {"status": "Accepted"},
    "SendLocalList": {"status": "Accepted"},
    "UnlockConnector": {"status": "Accepted"},
    "UpdateFirmware": {},
}


@dataclass(frozen=True)
class ReceivedCall:
    operation: str
    ctx: CallContext
    payload: Payload


@dataclass
class ChargePointSimulator:
    """Handler for the simulated ChargePointService (see ``DEFAULT_RESPONSES``).

    ``responses`` overrides the answer per operation; ``GetConfiguration``
    and ``GetLocalListVersion`` are answered from ``configuration`` and the
    version stored by the last ``SendLocalList``.  A wrong chargeBoxIdentity
    is answered with a ``Sender``/``IdentityMismatch`` fault.
    """

    identity: str
    responses: dict[str, Payload] = field(default_factory=dict)
    configuration: dict[str, tuple[str, bool]] = field(
        default_factory=lambda: {
            "HeartbeatInterval": ("300", False),
            "ChargePointId": ("CB", True),
        }
    )
    local_list_version: int = 0
    delay: float = 0.0
    calls: list[ReceivedCall] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def last(self, operation: str) -> ReceivedCall:
        return next(c for c in reversed(self.calls) if c.operation == operation)

    def _answer(self, operation: str, ctx: CallContext, req: Payload) -> Payload:
        with self._lock:
            self.calls.append(ReceivedCall(operation, ctx, dict(req)))
        if self.delay:
            time.sleep(self.delay)
        if ctx.charge_box_identity != self.identity:
            raise OcppFaultError(
                f"This is charge point {self.identity!r}, not {ctx.charge_box_identity!r}",
                subcode=FaultSubcode.IDENTITY_MISMATCH,
            )
        if operation in self.responses:
            return copy.deepcopy(self.responses[operation])
        if operation == "GetConfiguration":
            wanted = req["key"] or list(self.configuration)
            known = [k for k in wanted if k in self.configuration]
            return {
                "configurationKey": [
                    {
                        "key": k,
                        "value": self.configuration[k][0],
                        "readonly": self.configuration[k][1],
                    }
                    for k in known
                ],
                "unknownKey": [k for k in wanted if k not in self.configuration],
            }
        if operation == "GetLocalListVersion":
            return {"listVersion": self.local_list_version}
        if operation == "SendLocalList":
            self.local_list_version = req["listVersion"]
        return copy.deepcopy(DEFAULT_RESPONSES[operation])

    def cancel_reservation(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("CancelReservation", ctx, req)

    def change_availability(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("ChangeAvailability", ctx, req)

    def change_configuration(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("ChangeConfiguration", ctx, req)

    def clear_cache(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("ClearCache", ctx, req)

    def data_transfer(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("DataTransfer", ctx, req)

    def get_configuration(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("GetConfiguration", ctx, req)

    def get_diagnostics(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("GetDiagnostics", ctx, req)

    def get_local_list_version(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("GetLocalListVersion", ctx, req)

    def remote_start_transaction(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("RemoteStartTransaction", ctx, req)

    def remote_stop_transaction(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("RemoteStopTransaction", ctx, req)

    def reserve_now(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("ReserveNow", ctx, req)

    def reset(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("Reset", ctx, req)

    def send_local_list(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("SendLocalList", ctx, req)

    def unlock_connector(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("UnlockConnector", ctx, req)

    def update_firmware(self, ctx: CallContext, req: Payload) -> Payload:
        return self._answer("UpdateFirmware", ctx, req)


def _bare(operation: str) -> dict[str, Any]:
    return bare_style(CP_NS, operation)


class ChargePointService(ServiceBase):  # type: ignore[misc]
    """Method names are the WSDL operation names (spyne's operation_name)."""

    @rpc(
        m.CancelReservationRequest,
        _returns=m.CancelReservationResponse,
        **_bare("CancelReservation"),
    )
    def CancelReservation(
        ctx: MethodContext, req: m.CancelReservationRequest
    ) -> m.CancelReservationResponse:
        return dispatch(
            ctx,
            "CancelReservation",
            m.CancelReservationRequest,
            req,
            m.CancelReservationResponse,
        )

    @rpc(
        m.ChangeAvailabilityRequest,
        _returns=m.ChangeAvailabilityResponse,
        **_bare("ChangeAvailability"),
    )
    def ChangeAvailability(
        ctx: MethodContext, req: m.ChangeAvailabilityRequest
    ) -> m.ChangeAvailabilityResponse:
        return dispatch(
            ctx,
            "ChangeAvailability",
            m.ChangeAvailabilityRequest,
            req,
            m.ChangeAvailabilityResponse,
        )

    @rpc(
        m.ChangeConfigurationRequest,
        _returns=m.ChangeConfigurationResponse,
        **_bare("ChangeConfiguration"),
    )
    def ChangeConfiguration(
        ctx: MethodContext, req: m.ChangeConfigurationRequest
    ) -> m.ChangeConfigurationResponse:
        return dispatch(
            ctx,
            "ChangeConfiguration",
            m.ChangeConfigurationRequest,
            req,
            m.ChangeConfigurationResponse,
        )

    @rpc(_returns=m.ClearCacheResponse, **_bare("ClearCache"))
    def ClearCache(ctx: MethodContext) -> m.ClearCacheResponse:
        return dispatch(ctx, "ClearCache", None, None, m.ClearCacheResponse)

    @rpc(
        m.DataTransferRequest, _returns=m.DataTransferResponse, **_bare("DataTransfer")
    )
    def DataTransfer(
        ctx: MethodContext, req: m.DataTransferRequest
    ) -> m.DataTransferResponse:
        return dispatch(
            ctx, "DataTransfer", m.DataTransferRequest, req, m.DataTransferResponse
        )

    @rpc(
        m.GetConfigurationRequest,
        _returns=m.GetConfigurationResponse,
        **_bare("GetConfiguration"),
    )
    def GetConfiguration(
        ctx: MethodContext, req: m.GetConfigurationRequest
    ) -> m.GetConfigurationResponse:
        return dispatch(
            ctx,
            "GetConfiguration",
            m.GetConfigurationRequest,
            req,
            m.GetConfigurationResponse,
        )

    @rpc(
        m.GetDiagnosticsRequest,
        _returns=m.GetDiagnosticsResponse,
        **_bare("GetDiagnostics"),
    )
    def GetDiagnostics(
        ctx: MethodContext, req: m.GetDiagnosticsRequest
    ) -> m.GetDiagnosticsResponse:
        return dispatch(
            ctx,
            "GetDiagnostics",
            m.GetDiagnosticsRequest,
            req,
            m.GetDiagnosticsResponse,
        )

    @rpc(_returns=m.GetLocalListVersionResponse, **_bare("GetLocalListVersion"))
    def GetLocalListVersion(ctx: MethodContext) -> m.GetLocalListVersionResponse:
        return dispatch(
            ctx, "GetLocalListVersion", None, None, m.GetLocalListVersionResponse
        )

    @rpc(
        m.RemoteStartTransactionRequest,
        _returns=m.RemoteStartTransactionResponse,
        **_bare("RemoteStartTransaction"),
    )
    def RemoteStartTransaction(
        ctx: MethodContext, req: m.RemoteStartTransactionRequest
    ) -> m.RemoteStartTransactionResponse:
        return dispatch(
            ctx,
            "RemoteStartTransaction",
            m.RemoteStartTransactionRequest,
            req,
            m.RemoteStartTransactionResponse,
        )

    @rpc(
        m.RemoteStopTransactionRequest,
        _returns=m.RemoteStopTransactionResponse,
        **_bare("RemoteStopTransaction"),
    )
    def RemoteStopTransaction(
        ctx: MethodContext, req: m.RemoteStopTransactionRequest
    ) -> m.RemoteStopTransactionResponse:
        return dispatch(
            ctx,
            "RemoteStopTransaction",
            m.RemoteStopTransactionRequest,
            req,
            m.RemoteStopTransactionResponse,
        )

    @rpc(m.ReserveNowRequest, _returns=m.ReserveNowResponse, **_bare("ReserveNow"))
    def ReserveNow(
        ctx: MethodContext, req: m.ReserveNowRequest
    ) -> m.ReserveNowResponse:
        return dispatch(
            ctx, "ReserveNow", m.ReserveNowRequest, req, m.ReserveNowResponse
        )

    @rpc(m.ResetRequest, _returns=m.ResetResponse, **_bare("Reset"))
    def Reset(ctx: MethodContext, req: m.ResetRequest) -> m.ResetResponse:
        return dispatch(ctx, "Reset", m.ResetRequest, req, m.ResetResponse)

    @rpc(
        m.SendLocalListRequest,
        _returns=m.SendLocalListResponse,
        **_bare("SendLocalList"),
    )
    def SendLocalList(
        ctx: MethodContext, req: m.SendLocalListRequest
    ) -> m.SendLocalListResponse:
        return dispatch(
            ctx, "SendLocalList", m.SendLocalListRequest, req, m.SendLocalListResponse
        )

    @rpc(
        m.UnlockConnectorRequest,
        _returns=m.UnlockConnectorResponse,
        **_bare("UnlockConnector"),
    )
    def UnlockConnector(
        ctx: MethodContext, req: m.UnlockConnectorRequest
    ) -> m.UnlockConnectorResponse:
        return dispatch(
            ctx,
            "UnlockConnector",
            m.UnlockConnectorRequest,
            req,
            m.UnlockConnectorResponse,
        )

    @rpc(
        m.UpdateFirmwareRequest,
        _returns=m.UpdateFirmwareResponse,
        **_bare("UpdateFirmware"),
    )
    def UpdateFirmware(
        ctx: MethodContext, req: m.UpdateFirmwareRequest
    ) -> m.UpdateFirmwareResponse:
        return dispatch(
            ctx,
            "UpdateFirmware",
            m.UpdateFirmwareRequest,
            req,
            m.UpdateFirmwareResponse,
        )


def create_application(simulator: ChargePointSimulator) -> OcppApplication:
    return OcppApplication(
        [ChargePointService], tns=CP_NS, name="ChargePointService", handler=simulator
    )


class SimulatorServer:
    """Serve a :class:`ChargePointSimulator` from a daemon thread (werkzeug)."""

    path = "/Ocpp/ChargePointService/"

    def __init__(
        self, simulator: ChargePointSimulator, host: str = "127.0.0.1", port: int = 0
    ):
        self.simulator = simulator
        self._server: BaseWSGIServer = make_server(
            host, port, WsgiApplication(create_application(simulator)), threaded=True
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="cp-simulator",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.server_port}{self.path}"

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
